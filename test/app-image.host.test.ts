/**
 * The realistic fixture app (nginx + php-fpm, test/support/app-image.ts) and the wrk load
 * (test/support/wrk.ts) that tests and benchmarks build on: the app serves through refit's
 * HAProxy and nginx under keep-alive load over HTTP and HTTPS with every request accounted
 * for, with Compose v1 and v2; the customer's configs are really in effect, also after refit
 * merged them; refit's health check passes; its stock configs extract; the bad releases behave
 * as advertised; and `docker stop` ends it gracefully.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassReport } from '../src/maintenance/report.js';
import { connectEngine } from '../src/docker/engine.js';
import { extractImageConfig } from '../src/merge/extract.js';
import { listing } from './fixtures/merge/dirs.js';
import { APP_MERGE_SUMMARY, APP_STOCK_V1, APP_STOCK_V2 } from './support/app-image.js';
import { FLAVORS, suiteLabels } from './support/compose-project.js';
import { startHarness, type Harness, type ProxyType, type TestSite } from './support/host-harness.js';
import { refitAsync } from './support/refit-cli.js';
import { expectWhole, requestThroughProxy } from './support/site-checks.js';
import { suiteName } from './support/suite.js';
import { runWrk, startWrk, type WrkResult } from './support/wrk.js';

const PROXIES: ProxyType[] = ['haproxy', 'nginx'];
const harnesses = new Map<ProxyType, Harness>();
const engine = connectEngine('/var/run/docker.sock');
/** Over either stock upload limit (256k, 512k), under the customer's (768k) and the proxies' own. */
const UPLOAD = Buffer.alloc(640 << 10, 'x');

beforeAll(async () => {
  for (const proxy of PROXIES) harnesses.set(proxy, await startHarness(suiteName(`app-${proxy}`), { app: 'php', proxy, tls: true }));
});
afterAll(async () => {
  for (const h of harnesses.values()) await h.stop();
});

/** Every request the load sent got a 2xx; `lines`: the first body lines seen, in any number. */
function expectAllServed(r: WrkResult, lines: string[]): void {
  const account = JSON.stringify(r);
  expect(r.failed, account).toBe(0);
  expect(r.drained, account).toBe(true);
  expect(r.errors, account).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
  expect(r.byStatus, account).toEqual({});
  expect(r.ok, account).toBe(r.sent);
  expect(r.ok, account).toBeGreaterThan(0);
  expect(Object.keys(r.firstLines).sort(), account).toEqual([...lines].sort());
}

const bodyLines = (body: string) => Object.fromEntries(body.split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));

async function syncProxy(h: Harness): Promise<void> {
  const r = await refitAsync(['proxy', 'sync'], h.env);
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

describe.each(PROXIES)("through refit's %s", (proxy) => {
  describe.each(FLAVORS)('with Compose %s', (flavor) => {
    it('serves under wrk keep-alive load over HTTP (GET and POST) and HTTPS, every request answered; the customer configs are in effect; refit health passes', async () => {
      const h = harnesses.get(proxy)!;
      const site = await h.site(flavor);
      try {
        await syncProxy(h);
        const [http, https] = await Promise.all([
          runWrk({ url: `http://127.0.0.1:${h.httpPort}`, host: site.vhost, threads: 2, connections: 8, durationMs: 3000, post: { every: 4, bytes: 2048 } }),
          runWrk({ url: `https://127.0.0.1:${h.httpsPort}`, host: site.vhost, connections: 4, durationMs: 3000 }),
        ]);
        expectAllServed(http, ['app version=1.0.0', 'received bytes=2048']);
        expectAllServed(https, ['app version=1.0.0']);

        // The customer's edits at work: their greeting, their header, their upload limit (768k; stock: 256k).
        const page = await requestThroughProxy(h, site, { tls: true });
        expect([page.status, bodyLines(page.body)]).toMatchObject([200, { 'app version': '1.0.0', greeting: 'hello from the customer', features: 'reviews' }]);
        expect(page.headers['x-shop']).toBe('customer');
        const upload = await requestThroughProxy(h, site, { method: 'POST', path: '/echo.php', body: UPLOAD });
        expect([upload.status, upload.body]).toEqual([200, `received bytes=${UPLOAD.length}\n`]);

        const health = await refitAsync(['health', '--json', site.container], h.env);
        expect(health.code, health.stdout + health.stderr).toBe(0);
        expect(health.json<{ healthy: boolean; attempts: { decidedBy: string; status: number }[] }>()).toMatchObject({ healthy: true, attempts: [{ decidedBy: 'custom', status: 200 }] });
      } finally {
        await site.down();
      }
    });
  });
});

describe.each(FLAVORS)("refit run on an app site through refit's haproxy, Compose %s", (flavor) => {
  it('updates it under wrk keep-alive load: every request answered, both versions served, the merged configs in effect', async () => {
    const h = harnesses.get('haproxy')!;
    const site = await h.site(flavor);
    try {
      await syncProxy(h);
      const load = startWrk({ url: `http://127.0.0.1:${h.httpPort}`, host: site.vhost, connections: 4, durationMs: 300_000 });
      await load.started;
      const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
      const served = await load.stop();
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const report = r.json<PassReport>().containers[0]!;
      expect(report.result).toBe('updated');
      expect(report.merge?.summary).toMatchObject(APP_MERGE_SUMMARY);
      expectAllServed(served, ['app version=1.0.0', 'app version=1.1.0']);
      await expectWhole(h, site, 'new');

      // app.ini merged (the customer's greeting, 1.1's wishlist); the customer's upload limit won
      // the conflict (1.1's stock is 512k); 1.1's new gzip file is used.
      const page = await requestThroughProxy(h, site);
      expect(bodyLines(page.body)).toMatchObject({ 'app version': '1.1.0', greeting: 'hello from the customer', features: 'reviews,wishlist' });
      const upload = await requestThroughProxy(h, site, { method: 'POST', path: '/echo.php', body: UPLOAD });
      expect([upload.status, upload.body]).toEqual([200, `received bytes=${UPLOAD.length}\n`]);
      const asset = await requestThroughProxy(h, site, { path: '/assets/app-1.1.0.css', headers: { 'accept-encoding': 'gzip' } });
      expect([asset.status, asset.headers['content-encoding']]).toEqual([200, 'gzip']);
    } finally {
      await site.down();
    }
  });
});

describe('the app image', () => {
  const labelArgs = (suite: string) => Object.entries(suiteLabels(suite)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
  const ipOf = (container: string) => docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container);

  it('ships its stock configs at /etc/site, and refit extracts them without running it', async () => {
    const h = harnesses.get('haproxy')!;
    const dir = mkdtempSync(join(tmpdir(), 'refit-app-extract-'));
    try {
      docker('pull', '-q', h.ref('web', '1.1.0'));
      for (const [version, stock] of [['1.0.0', APP_STOCK_V1], ['1.1.0', APP_STOCK_V2]] as const) {
        const dest = join(dir, version);
        const { tree } = await extractImageConfig(engine, h.ref('web', version), '/etc/site', dest, { labels: suiteLabels('app-haproxy') });
        expect(tree.refused).toEqual([]);
        expect(listing(dest)).toEqual(Object.fromEntries(Object.entries(stock).map(([name, content]) => [name, `file 644 0:0 ${Buffer.from(content).toString('base64')}`])));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('broken 1.1.0 passes refit health but answers 500 on /checkout.php; 1.0.0 checks out', async () => {
    const h = harnesses.get('haproxy')!;
    const suite = suiteName('app-haproxy');
    const run = (image: string) => docker('run', '-d', ...labelArgs(suite), image);
    const good = run(h.ref('broken', '1.0.0'));
    const bad = run(h.ref('broken', '1.1.0'));
    try {
      for (const [id, version, checkout] of [
        [good, '1.0.0', 200],
        [bad, '1.1.0', 500],
      ] as const) {
        const health = await refitAsync(['health', '--url', `http://${ipOf(id)}`, '--host', 'shop.example', '--attempts', '40', '--interval-ms', '250'], h.env);
        expect(health.code, health.stdout + health.stderr).toBe(0);
        expect((await get(ipOf(id), '/')).body.split('\n')[0]).toBe(`app version=${version}`);
        expect((await get(ipOf(id), '/checkout.php')).status).toBe(checkout);
      }
      // Under load every checkout of the bad release is a 500, and counted as one.
      const load = await runWrk({ url: `http://${ipOf(bad)}`, host: 'shop.example', path: '/checkout.php', connections: 2, durationMs: 1000 });
      expect(load).toMatchObject({ ok: 0, unanswered: 0, drained: true, byStatus: { '500': load.sent }, failed: load.sent, firstLines: {} });
      expect(load.sent).toBeGreaterThan(0);
    } finally {
      docker('rm', '-f', good, bad);
    }
  });

  it('counts the requests wrk sent and never got an answer to (still in flight when the load stopped)', async () => {
    const h = harnesses.get('haproxy')!;
    const app = docker('run', '-d', ...labelArgs(suiteName('app-haproxy')), h.ref('web', '1.0.0'));
    try {
      const health = await refitAsync(['health', '--url', `http://${ipOf(app)}`, '--host', 'shop.example', '--attempts', '40', '--interval-ms', '250'], h.env);
      expect(health.code, health.stdout + health.stderr).toBe(0);
      // Each connection sends one request that takes a minute; the stop waits 1 s for them.
      const load = startWrk({ url: `http://${ipOf(app)}`, host: 'shop.example', path: '/slow.php?ms=60000', connections: 3, durationMs: 60_000, timeoutMs: 1000 });
      await load.started;
      expect(await load.stop()).toMatchObject({ sent: 3, responses: 0, unanswered: 3, failed: 3, drained: false });
    } finally {
      docker('rm', '-f', app);
    }
  });

  it('ends gracefully on docker stop: the request in flight completes, exit code 0', async () => {
    const h = harnesses.get('haproxy')!;
    const site: TestSite = await h.site('v2');
    try {
      const health = await refitAsync(['health', site.container, '--attempts', '40', '--interval-ms', '250'], h.env);
      expect(health.code, health.stdout + health.stderr).toBe(0);
      const reply = startSlow(ipOf(site.container), 3000);
      await reply.started;
      docker('stop', '-t', '30', site.container);
      expect(await reply.body).toMatch(/^slow ms=3000 started by \S+\nslow done\n$/);
      expect(docker('inspect', '-f', '{{.State.ExitCode}} {{.State.OOMKilled}}', site.container)).toBe('0 false');
      expect(docker('logs', site.container)).not.toMatch(/app-start:/);
    } finally {
      await site.down();
    }
  });
});

function get(ip: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port: 80, path, headers: { host: 'shop.example' }, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** GET /slow.php?ms=N: `started` once its first line arrived (the request is in the app), `body` in full. */
function startSlow(ip: string, ms: number): { started: Promise<void>; body: Promise<string> } {
  let started: () => void = () => {};
  const first = new Promise<void>((resolve) => (started = resolve));
  const body = new Promise<string>((resolve, reject) => {
    request({ host: ip, port: 80, path: `/slow.php?ms=${ms}`, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) started();
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
  body.catch(() => started());
  return { started: first, body };
}
