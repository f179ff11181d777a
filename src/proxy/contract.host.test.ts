/**
 * The proxy contract, run against real haproxy and nginx processes on loopback high ports
 * from temp dirs, routing to real fixture containers on a Docker network this suite creates.
 * Each test uses its own site (unique id and vhost), so tests do not depend on each other.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from './process.js';
import { proxySchema } from '../config/schema.js';
import { createProxy, type ProxyAdapter, type ProxySite, type Upstream } from './adapter.js';
import { suiteLabels, sweepLeftovers, uniqueName } from '../../test/support/compose-project.js';
import { startLoad } from '../../test/support/load.js';
import { buildWebImage } from '../../test/support/web-image.js';
import { fixtureImage, suiteName } from '../../test/support/suite.js';

const SUITE = suiteName('proxy');
const IMAGE = fixtureImage(SUITE, 'web', '1.0.0');
const labelArgs = Object.entries(suiteLabels(SUITE)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

let work: string;
let network: string;
let certPem: string;
const web: Upstream[] = [];

beforeAll(() => {
  sweepLeftovers(SUITE);
  buildWebImage({ tag: IMAGE, version: '1.0.0' });
  work = mkdtempSync(join(tmpdir(), 'refit-proxy-'));
  // nginx workers (an unprivileged user) reach the router socket inside the run dir.
  chmodSync(work, 0o755);
  network = uniqueName('proxynet');
  docker('network', 'create', ...labelArgs, network);
  for (const n of [1, 2, 3]) {
    const name = `${network}-web${n}`;
    docker('run', '-d', '--name', name, '--hostname', name, '--network', network, ...labelArgs, IMAGE);
    const ip = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name);
    web.push({ name, ip, port: 80 });
  }
  // A certificate for a.example made now: the TLS test checks it is the one served.
  const certDir = join(work, 'certs');
  mkdirSync(certDir);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=a.example', '-addext', 'subjectAltName=DNS:a.example,DNS:www.a.example', '-keyout', join(work, 'a.key'), '-out', join(work, 'a.crt')], { stdio: 'ignore' });
  certPem = readFileSync(join(work, 'a.crt'), 'utf8');
  execFileSync('sh', ['-c', `cat "${work}/a.crt" "${work}/a.key" > "${certDir}/a.example.pem"`]);
}, 300_000);

afterAll(() => {
  const ids = docker('ps', '-aq', '--filter', `label=refit.test.suite=${SUITE}`).split('\n').filter(Boolean);
  if (ids.length) docker('rm', '-f', ...ids);
  if (network) execFileSync('docker', ['network', 'rm', network], { stdio: 'ignore' });
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: string;
}

function get(port: number, host: string, path = '/', o: { tls?: boolean; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, path, agent: false as const, headers: { host, ...o.headers }, timeout: 30_000 };
    const req = o.tls ? httpsRequest({ ...opts, servername: host.split(':')[0], ca: certPem }) : httpRequest(opts);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

const servedBy = (r: Reply) => /container=(\S+)/.exec(r.body)?.[1] ?? /done by (\S+)/.exec(r.body)?.[1] ?? `status ${r.status}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Resolves once the container is running the slow CGI, so the request is surely in flight there. */
async function slowRunningIn(container: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (/sleep 4/.test(docker('exec', container, 'ps'))) return;
    await sleep(100);
  }
  throw new Error(`the slow request never reached ${container}`);
}

const site = (id: string, vhosts: string[], servers: Upstream[]): ProxySite => ({ id, vhosts, servers });

describe.each(['haproxy', 'nginx'] as const)('%s adapter', (kind) => {
  let proxy: ProxyAdapter;
  let httpPort: number;
  let httpsPort: number;
  const w = (i: number) => web[i - 1]!;
  const base = () => [site('a.web', ['a.example', 'www.a.example'], [w(1)]), site('b.web', ['b.example'], [w(2)])];

  beforeAll(async () => {
    httpPort = await freePort();
    httpsPort = await freePort();
    const runDir = join(work, kind);
    proxy = createProxy(proxySchema.parse({ type: kind, [kind]: { runDir, bind: '127.0.0.1', httpPort, httpsPort, certDir: join(work, 'certs') } }));
    expect(proxy.kind).toBe(kind);
    expect(proxy.zeroDowntime).toBe(true);
    await proxy.apply(base());
  });
  afterAll(async () => proxy?.stop());

  it('routes by vhost, ignoring case and port, and answers 503 for an unknown host', async () => {
    expect(servedBy(await get(httpPort, 'a.example'))).toBe(w(1).name);
    expect(servedBy(await get(httpPort, 'WWW.A.Example:8080'))).toBe(w(1).name);
    expect(servedBy(await get(httpPort, 'b.example'))).toBe(w(2).name);
    const unknown = await get(httpPort, 'nobody.example');
    expect(unknown.status).toBe(503);
    expect(unknown.body).toMatch(/no site is configured for this host/);
  });

  it('terminates TLS with the certificate from certDir and tells the app through forwarded headers', async () => {
    const r = await get(httpsPort, 'a.example', '/cgi-bin/echo', { tls: true });
    expect(r.status).toBe(200);
    expect(r.body).toContain(`container=${w(1).name}`);
    expect(r.body).toContain('host=a.example');
    expect(r.body).toContain('x-forwarded-proto=https\n');
    expect(r.body).toContain('x-forwarded-ssl=on\n');
    expect(r.body).toMatch(/x-forwarded-for=127\.0\.0\.1/);
  });

  it('over plain HTTP says http and drops a client-sent X-Forwarded-SSL', async () => {
    const r = await get(httpPort, 'b.example', '/cgi-bin/echo', { headers: { 'X-Forwarded-SSL': 'on' } });
    expect(r.body).toContain(`container=${w(2).name}`);
    expect(r.body).toContain('x-forwarded-proto=http\n');
    expect(r.body).toContain('x-forwarded-ssl=\n');
  });

  it('balances round-robin across two servers of one site', async () => {
    await proxy.apply([...base(), site('rr.web', ['rr.example'], [w(1), w(3)])]);
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) seen.push(servedBy(await get(httpPort, 'rr.example')));
    const count = (n: string) => seen.filter((s) => s === n).length;
    expect(count(w(1).name) + count(w(3).name)).toBe(20);
    expect(count(w(1).name)).toBeGreaterThanOrEqual(5);
    expect(count(w(3).name)).toBeGreaterThanOrEqual(5);
    expect((await proxy.list('rr.web')).map((s) => [s.name, s.state]).sort()).toEqual([[w(1).name, 'ready'], [w(3).name, 'ready']].sort());
  });

  it('drain lets a slow in-flight request finish with 200, sends nothing new there, and returns only after it', async () => {
    await proxy.apply([...base(), site('drain.web', ['drain.example'], [w(1)])]);
    const slow = get(httpPort, 'drain.example', '/cgi-bin/slow?4');
    await slowRunningIn(w(1).name);
    await proxy.add('drain.web', w(3));
    let stopped!: () => void;
    const stoppedNew = new Promise<void>((resolve) => (stopped = resolve));
    // When drain returns, the slow request must be over where it ran: no `sleep 4` left in the container.
    const draining = proxy.drain('drain.web', w(1), { timeoutMs: 30_000, onStopped: stopped }).then((r) => ({ ...r, slowStillRunning: /sleep 4/.test(docker('exec', w(1).name, 'ps')) }));
    let finished = false;
    void draining.then(() => (finished = true));
    await stoppedNew;
    const during: string[] = [];
    while (!finished) {
      during.push(servedBy(await get(httpPort, 'drain.example')));
      await sleep(100);
    }
    const [slowReply, result] = await Promise.all([slow, draining]);
    const story = JSON.stringify({ result, during });
    expect(slowReply.status, story).toBe(200);
    expect(servedBy(slowReply), story).toBe(w(1).name);
    expect(result, story).toMatchObject({ drained: true, remainingSessions: 0, slowStillRunning: false });
    expect(during.length, story).toBeGreaterThan(3);
    expect(new Set(during), story).toEqual(new Set([w(3).name]));
    const listed = await proxy.list('drain.web');
    expect(listed.find((s) => s.name === w(1).name)).toMatchObject({ state: 'drain', sessions: 0 });
    expect(listed.find((s) => s.name === w(3).name)).toMatchObject({ state: 'ready' });
  });

  it('drain reports when its timeout is hit, and still does not cut the request', async () => {
    await proxy.apply([...base(), site('late.web', ['late.example'], [w(1), w(3)])]);
    await proxy.drain('late.web', w(3), { timeoutMs: 5_000 });
    const slow = get(httpPort, 'late.example', '/cgi-bin/slow?4');
    await slowRunningIn(w(1).name);
    const result = await proxy.drain('late.web', w(1), { timeoutMs: 500 });
    expect(result.drained).toBe(false);
    expect(result.remainingSessions).toBeGreaterThanOrEqual(1);
    expect(result.waitedMs).toBeGreaterThanOrEqual(500);
    const r = await slow;
    expect(r.status).toBe(200);
    expect(servedBy(r)).toBe(w(1).name);
  });

  it('removes a server whose requests outlived the drain bound (they are cut: its container is about to stop)', async () => {
    await proxy.apply([...base(), site('cut.web', ['cut.example'], [w(1), w(3)])]);
    await proxy.drain('cut.web', w(3), { timeoutMs: 5_000 });
    const slow = get(httpPort, 'cut.example', '/cgi-bin/slow?4').catch((err: Error) => ({ status: 0, body: err.message }));
    await slowRunningIn(w(1).name);
    expect((await proxy.drain('cut.web', w(1), { timeoutMs: 300 })).drained).toBe(false);
    await proxy.remove('cut.web', w(1));
    expect((await proxy.list('cut.web')).map((s) => s.name)).not.toContain(w(1).name);
    await slow;
  });

  it('an apply leaves the servers of a site a maintenance owns as they are, and sets every other site to exactly its servers', async () => {
    await proxy.apply([...base(), site('keep.web', ['keep.example'], [w(1)])]);
    await proxy.add('keep.web', w(3));
    await proxy.drain('keep.web', w(1), { timeoutMs: 5_000 });
    await proxy.apply([...base(), site('keep.web', ['keep.example'], [w(1)])], { owned: () => new Set(['keep.web']) });
    expect((await proxy.list('keep.web')).map((s) => [s.name, s.state]).sort()).toEqual([[w(1).name, 'drain'], [w(3).name, 'ready']].sort());
    for (let i = 0; i < 4; i++) expect(servedBy(await get(httpPort, 'keep.example'))).toBe(w(3).name);
    await proxy.apply([...base(), site('keep.web', ['keep.example'], [w(1)])]);
    expect((await proxy.list('keep.web')).map((s) => [s.name, s.state])).toEqual([[w(1).name, 'ready']]);
    for (let i = 0; i < 4; i++) expect(servedBy(await get(httpPort, 'keep.example'))).toBe(w(1).name);
    await proxy.apply([...base(), site('keep.web', ['keep.example'], [])]);
    expect((await get(httpPort, 'keep.example')).status).toBe(503);
  });

  it('adds, drains, removes servers and re-syncs under keep-alive load (reloads included) without losing a request', async () => {
    await proxy.apply([...base(), site('load.web', ['load.example'], [w(1)])]);
    // Keep-alive clients, as browsers and wrk are: a reload must not drop a request on a kept-alive connection.
    const load = startLoad({ port: httpPort, host: 'load.example', concurrency: 8, maxMs: 120_000, maxRequests: 200_000 });
    const pause = () => sleep(200);
    await pause();
    await proxy.add('load.web', w(2));
    await pause();
    await proxy.add('load.web', w(3));
    await pause();
    await proxy.drain('load.web', w(1), { timeoutMs: 10_000 });
    await proxy.remove('load.web', w(1));
    await pause();
    // A sync that sees what runs changes nothing; a new site (a reload for HAProxy and the nginx router) neither.
    await proxy.apply([...base(), site('load.web', ['load.example'], [w(2), w(3)])]);
    await proxy.apply([...base(), site('load.web', ['load.example'], [w(2), w(3)]), site('other.web', ['other.example'], [w(1)])]);
    await proxy.add('load.web', w(1));
    await proxy.drain('load.web', w(2), { timeoutMs: 10_000 });
    await proxy.remove('load.web', w(2));
    await pause();
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(result.sent);
    expect(Object.keys(result.firstLines).length).toBeGreaterThan(0);
    expect((await proxy.list('load.web')).map((s) => s.name).sort()).toEqual([w(1).name, w(3).name].sort());
    await proxy.apply(base());
  });

  it('refuses to add a server to a site it does not know, saying what to run', async () => {
    await expect(proxy.add('unknown.web', w(1))).rejects.toThrow(/site unknown\.web is not configured in the proxy/);
  });
});
