/**
 * What every end-to-end test asks of a site after a maintenance, whatever happened to it: it
 * serves through the proxy, runs the old or the new version as a whole (image, config tree,
 * compose file), and nothing of the maintenance is left (shadow, its networks, scratch,
 * staging trees, unfinished journal entries).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
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

/** `scratch`: entries a test itself put in the scratch dir and expects to stay. */
export async function expectWhole(h: Harness, site: TestSite, as: 'old' | 'new', o: { scratch?: string[] } = {}): Promise<void> {
  const version = as === 'old' ? '1.0.0' : '1.1.0';
  const { status, body } = await getThroughProxy(h, site);
  expect([status, body.split('\n')[0]]).toEqual([200, `fixture version=${version}`]);
  expect(tree(site.confDir)).toEqual(as === 'old' ? OLD_TREE : NEW_TREE);
  expect(readFileSync(join(site.dir, 'docker-compose.yml'), 'utf8')).toBe(as === 'old' ? site.composeText : site.composeText.replace(h.ref('web', '1.0.0'), h.ref('web', '1.1.0')));
  expect(execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', site.container]).toString().trim()).toBe(h.ref('web', version));
  expect(h.shadows()).toEqual([]);
  const shadowNets = execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${site.project}${SHADOW_SUFFIX}`]).toString().trim();
  expect(shadowNets).toBe('');
  expect(h.scratchLeft()).toEqual(o.scratch ?? []);
  // Staging, previous and discarded config trees live beside the config dir as .conf.refit-*.
  expect(readdirSync(site.dir).filter((n) => n.includes('refit'))).toEqual([]);
  const again = await refitAsync(['recover'], h.env);
  expect(again.stdout).toMatch(/nothing to recover/);
}
