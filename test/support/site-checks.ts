/**
 * What every end-to-end test asks of a site after a maintenance, whatever happened to it: it
 * serves through the proxy, runs the old or the new version as a whole (image, config tree,
 * compose file), and nothing of the maintenance is left (shadow, its networks, scratch,
 * staging trees, unfinished journal entries).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { SHADOW_SUFFIX } from '../../src/compose/override.js';
import { NEW_TREE, OLD_TREE, tree, type Harness, type TestSite } from './host-harness.js';
import { refitAsync } from './refit-cli.js';

/** One request through the proxy, by Host (global fetch cannot set Host), on a fresh connection. */
export function getThroughProxy(h: Harness, site: TestSite, path = '/', timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: h.httpPort, path, headers: { host: site.vhost }, agent: false, timeout: timeoutMs }, (r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString()));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      r.on('error', () => resolve({ status: r.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.end();
  });
}

/**
 * What keeps the site from being whole as `as`: serving that version through the proxy, its
 * config dir, compose file and container all old or all new, and nothing of a maintenance left
 * (shadow, its networks, scratch, staging trees). [] when whole. `scratch`: entries a test
 * itself put in the scratch dir and expects to stay.
 */
export async function notWhole(h: Harness, site: TestSite, as: 'old' | 'new', o: { scratch?: string[] } = {}): Promise<string[]> {
  const problems: string[] = [];
  const want = (what: string, actual: unknown, expected: unknown) => {
    if (!isDeepStrictEqual(actual, expected)) problems.push(`${what} is ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`);
  };
  const version = as === 'old' ? '1.0.0' : '1.1.0';
  const { status, body } = await getThroughProxy(h, site);
  want('the answer through the proxy', [status, body.split('\n')[0]], [200, `fixture version=${version}`]);
  want('the config dir', treeOrNull(site.confDir), as === 'old' ? OLD_TREE : NEW_TREE);
  want('the compose file', readFileSync(join(site.dir, 'docker-compose.yml'), 'utf8'), as === 'old' ? site.composeText : site.composeText.replace(h.ref('web', '1.0.0'), h.ref('web', '1.1.0')));
  want('the container\'s image', execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', site.container]).toString().trim(), h.ref('web', version));
  want('the shadows', h.shadows(), []);
  want('the shadow networks', execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${site.project}${SHADOW_SUFFIX}`]).toString().trim(), '');
  want('the scratch dir', h.scratchLeft(), o.scratch ?? []);
  // Staging, previous and discarded config trees live beside the config dir as .conf.refit-*.
  want('the swap siblings', readdirSync(site.dir).filter((n) => n.includes('refit')), []);
  return problems;
}

/** The site is whole as `as` (see notWhole), and `refit recover` finds nothing to do. */
export async function expectWhole(h: Harness, site: TestSite, as: 'old' | 'new', o: { scratch?: string[] } = {}): Promise<void> {
  expect(await notWhole(h, site, as, o)).toEqual([]);
  const again = await refitAsync(['recover'], h.env);
  expect(again.stdout).toMatch(/nothing to recover/);
}

/** A config dir's files, or null while it is absent (between the two renames of a swap). */
export function treeOrNull(dir: string): Record<string, string> | null {
  return existsSync(dir) ? tree(dir) : null;
}
