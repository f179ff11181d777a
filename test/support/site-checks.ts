/**
 * What every end-to-end test asks of a site after a maintenance, whatever happened to it: it
 * serves through the proxy, runs the old or the new version as a whole (image, config tree,
 * compose file), and nothing of the maintenance is left (shadow, its networks, scratch,
 * staging trees, unfinished journal entries).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
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

/** `scratch`: entries a test itself put in the scratch dir and expects to stay. */
export async function expectWhole(h: Harness, site: TestSite, as: 'old' | 'new', o: { scratch?: string[] } = {}): Promise<void> {
  const version = as === 'old' ? '1.0.0' : '1.1.0';
  const { status, body } = await getThroughProxy(h, site);
  expect([status, body.split('\n')[0]]).toEqual([200, h.servesLine(version)]);
  expect(tree(site.confDir)).toEqual(as === 'old' ? h.oldTree : h.newTree);
  expect(readFileSync(join(site.dir, 'docker-compose.yml'), 'utf8')).toBe(as === 'old' ? site.composeText : site.composeText.replace(h.ref(site.repo, '1.0.0'), h.ref(site.repo, '1.1.0')));
  expect(execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', site.container]).toString().trim()).toBe(h.ref(site.repo, version));
  expect(h.shadows()).toEqual([]);
  const shadowNets = execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${site.project}${SHADOW_SUFFIX}`]).toString().trim();
  expect(shadowNets).toBe('');
  expect(h.scratchLeft()).toEqual(o.scratch ?? []);
  // Staging, previous and discarded config trees live beside the config dir as .conf.refit-*.
  expect(readdirSync(site.dir).filter((n) => n.includes('refit'))).toEqual([]);
  const again = await refitAsync(['recover'], h.env);
  expect(again.stdout).toMatch(/nothing to recover/);
}
