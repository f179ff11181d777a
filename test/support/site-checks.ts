/**
 * What every end-to-end test asks of a site after a maintenance, whatever happened to it: it
 * serves through the proxy, runs the old or the new version as a whole (image, config tree,
 * compose file), and nothing of the maintenance is left (shadow, its networks, scratch,
 * staging trees, unfinished journal entries).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { SHADOW_SUFFIX } from '../../src/compose/override.js';
import { tree, type Harness, type TestSite } from './host-harness.js';
import { refitAsync } from './refit-cli.js';

export interface ProxyReply {
  /** 0: no answer (body holds the error). */
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request through the proxy's HTTP listener, or its HTTPS one with `tls` (SNI the site's
 * vhost, certificate not verified), by Host (global fetch cannot set Host), on a fresh connection.
 */
export function requestThroughProxy(
  h: Harness,
  site: TestSite,
  o: { path?: string; method?: string; body?: string | Buffer; headers?: Record<string, string>; tls?: boolean; timeoutMs?: number } = {},
): Promise<ProxyReply> {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', path: o.path ?? '/', method: o.method ?? 'GET', headers: { host: site.vhost, ...o.headers }, agent: false as const, timeout: o.timeoutMs ?? 10_000 };
    const req = o.tls ? httpsRequest({ ...options, port: h.httpsPort, servername: site.vhost, rejectUnauthorized: false }) : httpRequest({ ...options, port: h.httpPort });
    req.on('response', (r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString()));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }));
      r.on('error', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: e.message }));
    req.end(o.body);
  });
}

/** GET through the proxy's HTTP listener (requestThroughProxy). */
export async function getThroughProxy(h: Harness, site: TestSite, path = '/', timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const { status, body } = await requestThroughProxy(h, site, { path, timeoutMs });
  return { status, body };
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
  want('the answer through the proxy', [status, body.split('\n')[0]], [200, h.servesLine(version)]);
  want('the config dir', treeOrNull(site.confDir), as === 'old' ? h.oldTree : h.newTree);
  want('the compose file', readFileSync(join(site.dir, 'docker-compose.yml'), 'utf8'), as === 'old' ? site.composeText : site.composeText.replace(h.ref(site.repo, '1.0.0'), h.ref(site.repo, '1.1.0')));
  want("the container's image", execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', site.container]).toString().trim(), h.ref(site.repo, version));
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
