/**
 * The refit-run proxies (HAProxy, nginx) on loopback high ports from temp dirs: the shared
 * adapter contract (contract.case.ts), and what only a proxy refit runs itself does: routing by
 * vhost, TLS from certDir, forwarded headers.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxySchema } from '../config/schema.js';
import { freePort } from '../registry/testing/local-registry.js';
import { suiteName } from '../../test/support/suite.js';
import { createProxy, type ProxyAdapter } from './adapter.js';
import { get, proxyContract, servedBy, site, useContractWorld } from './contract.case.js';

const SUITE = suiteName('proxy');
const world = useContractWorld(SUITE);

let work: string;
let certPem: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'refit-proxy-'));
  // nginx workers (an unprivileged user) reach the router socket inside the run dir.
  chmodSync(work, 0o755);
  // A certificate for a.example made now: the TLS test checks it is the one served.
  const certDir = join(work, 'certs');
  mkdirSync(certDir);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=a.example', '-addext', 'subjectAltName=DNS:a.example,DNS:www.a.example', '-keyout', join(work, 'a.key'), '-out', join(work, 'a.crt')], { stdio: 'ignore' });
  certPem = readFileSync(join(work, 'a.crt'), 'utf8');
  execFileSync('sh', ['-c', `cat "${work}/a.crt" "${work}/a.key" > "${certDir}/a.example.pem"`]);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

for (const kind of ['haproxy', 'nginx'] as const) {
  const ports = { http: 0, https: 0 };
  let proxy: ProxyAdapter;
  const refitRun = async () => {
    ports.http = await freePort();
    ports.https = await freePort();
    proxy = createProxy(proxySchema.parse({ type: kind, [kind]: { runDir: join(work, kind), bind: '127.0.0.1', httpPort: ports.http, httpsPort: ports.https, certDir: join(work, 'certs') } }));
    return proxy;
  };

  proxyContract(
    `refit-run ${kind}`,
    world,
    { keepAliveSafe: true, operatorReloads: false, watches: true },
    async () => ({ proxy: await refitRun(), httpPort: ports.http, restart: () => proxy.stop() }),
    () => proxy?.stop(),
  );

  describe(`refit-run ${kind}: what only a proxy refit runs does`, () => {
    const w = (i: number) => world.web[i - 1]!;
    beforeAll(async () => {
      await (await refitRun()).apply([site('a', [w(1)]), site('b', [w(2)])]);
    });
    afterAll(() => proxy?.stop());

    it('routes by vhost, ignoring case and port, and answers 503 for an unknown host', async () => {
      expect(servedBy(await get(ports.http, 'a.example'))).toBe(w(1).name);
      expect(servedBy(await get(ports.http, 'WWW.A.Example:8080'))).toBe(w(1).name);
      expect(servedBy(await get(ports.http, 'b.example'))).toBe(w(2).name);
      const unknown = await get(ports.http, 'nobody.example');
      expect(unknown.status).toBe(503);
      expect(unknown.body).toMatch(/no site is configured for this host/);
    });

    it('terminates TLS with the certificate from certDir and tells the app through forwarded headers', async () => {
      const r = await get(ports.https, 'a.example', '/cgi-bin/echo', { ca: certPem });
      expect(r.status).toBe(200);
      expect(r.body).toContain(`container=${w(1).name}`);
      expect(r.body).toContain('host=a.example');
      expect(r.body).toContain('x-forwarded-proto=https\n');
      expect(r.body).toContain('x-forwarded-ssl=on\n');
      expect(r.body).toMatch(/x-forwarded-for=127\.0\.0\.1/);
    });

    it('over plain HTTP says http and drops a client-sent X-Forwarded-SSL', async () => {
      const r = await get(ports.http, 'b.example', '/cgi-bin/echo', { headers: { 'X-Forwarded-SSL': 'on' } });
      expect(r.body).toContain(`container=${w(2).name}`);
      expect(r.body).toContain('x-forwarded-proto=http\n');
      expect(r.body).toContain('x-forwarded-ssl=\n');
    });
  });
}
