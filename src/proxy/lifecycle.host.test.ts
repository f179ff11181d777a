/**
 * What the proxies refit runs must do beyond moving servers, against real haproxy and nginx:
 * pass WebSocket upgrades through to the app, start again from their state after the process
 * was SIGKILLed (drains included), and pin refit's probes to one server through the public
 * listener. The upstreams are small servers in this process on loopback.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthSchema, proxySchema } from '../config/schema.js';
import { checkThroughProxy } from '../health/check.js';
import { freePort } from '../registry/testing/local-registry.js';
import { createProxy, type ProxyAdapter, type Upstream } from './adapter.js';
import { processAlive, waitFor } from './process.js';

let work: string;
const apps: Server[] = [];
/** Upgraded connections are the app's own: closing the server does not end them. */
const tunnels = new Set<Socket>();

/** An app on loopback: answers `name` on GET, and echoes bytes back on an upgraded (WebSocket) connection. */
async function app(name: string): Promise<Upstream> {
  // No custom health endpoint: `/` decides a health check.
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/refit/health' ? 404 : 200;
    res.end(`served by ${name}\n`);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-App: ${name}\r\n\r\n`);
    socket.on('data', (d) => socket.write(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  apps.push(server);
  return { name, ip: '127.0.0.1', port: (server.address() as AddressInfo).port };
}

function get(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body.trim()}`));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket through the proxy, sends `text`, and resolves with the handshake's status line and what came back. */
function websocketEcho(port: number, host: string, text: string): Promise<{ status: string; echoed: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let status = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no echo through the proxy; got ${JSON.stringify(data)}`));
    }, 15_000);
    socket.on('connect', () =>
      socket.write(`GET /socket HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`),
    );
    socket.on('data', (d) => {
      data += d.toString();
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!status) {
        status = data.slice(0, data.indexOf('\r\n'));
        socket.write(text);
      }
      const echoed = data.slice(end + 4);
      if (echoed.length >= text.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status, echoed });
      }
    });
    socket.on('error', reject);
  });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'refit-proxy-lifecycle-'));
  // nginx workers (an unprivileged user) reach the router socket inside the run dir.
  chmodSync(work, 0o755);
});
afterAll(async () => {
  for (const t of tunnels) t.destroy();
  for (const s of apps) s.closeAllConnections();
  await Promise.all(apps.map((s) => new Promise((r) => s.close(r))));
  rmSync(work, { recursive: true, force: true });
});

/** SIGKILLs the masters the pid files name and waits until they are gone (a signal is delivered, not done, when kill returns). */
async function killMasters(pidFiles: string[]): Promise<void> {
  const pids = pidFiles.map((f) => Number(readFileSync(f, 'utf8').trim()));
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  expect(await waitFor(() => (pids.some(processAlive) ? undefined : true), 10_000)).toBe(true);
}

describe.each(['haproxy', 'nginx'] as const)('%s', (kind) => {
  let proxy: ProxyAdapter;
  let httpPort: number;
  let a: Upstream;
  let b: Upstream;
  const runDir = () => join(work, kind);

  beforeAll(async () => {
    httpPort = await freePort();
    proxy = createProxy(proxySchema.parse({ type: kind, [kind]: { runDir: runDir(), bind: '127.0.0.1', httpPort, httpsPort: await freePort(), certDir: join(work, 'no-certs') } }));
    a = await app(`${kind}-a`);
    b = await app(`${kind}-b`);
    await proxy.apply([{ id: 'ws.web', vhosts: ['ws.example'], servers: [a] }]);
  });
  afterAll(async () => proxy?.stop());

  it('passes a WebSocket upgrade through to the app and carries its frames both ways', async () => {
    const { status, echoed } = await websocketEcho(httpPort, 'ws.example', 'hello over the proxy');
    expect(status).toBe('HTTP/1.1 101 Switching Protocols');
    expect(echoed).toBe('hello over the proxy');
  });

  it("pins refit's probe to the server it names, through the public listener, and says who answered", async () => {
    await proxy.add('ws.web', b);
    for (const server of [a, b]) {
      const route = (await proxy.probeRoute('ws.web', server))!;
      const verdict = await checkThroughProxy({ vhosts: ['ws.example'], healthPath: '/refit/health' }, route, healthSchema.parse({ attempts: 1 }));
      // The app has no custom endpoint, so `/` decides; every attempt came from the pinned server.
      expect(verdict, JSON.stringify(verdict)).toMatchObject({ healthy: true });
      expect(verdict.attempts[0]!.requests.at(-1)!.servedBy).toBe(route.servedBy.value);
    }
    // Without the secret, the same headers pin nothing and get no answer about who served.
    const route = (await proxy.probeRoute('ws.web', b))!;
    const pinHeader = Object.keys(route.headers).find((k) => /server/i.test(k))!;
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      seen.add(
        await new Promise<string>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: httpPort, path: '/', headers: { host: 'ws.example', [pinHeader]: route.headers[pinHeader]!, 'X-Refit-Probe': 'guess' }, agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(String(res.headers['x-refit-server'] ?? 'unnamed')));
          });
          req.on('error', reject);
          req.end();
        }),
      );
    }
    expect(seen).toEqual(new Set(['unnamed']));
  });

  it('after its process was SIGKILLed, revive starts it again from its state, the drained server still out of rotation', async () => {
    await proxy.drain('ws.web', a, { timeoutMs: 5_000 });
    const pidFiles = kind === 'haproxy' ? [join(runDir(), 'haproxy.pid')] : [join(runDir(), 'edge', 'nginx.pid'), join(runDir(), 'router', 'nginx.pid')];
    await killMasters(pidFiles);
    expect(await proxy.revive()).toBe(true);
    expect(await proxy.revive()).toBe(false);
    for (let i = 0; i < 6; i++) expect(await get(httpPort, 'ws.example')).toBe(`200 served by ${b.name}`);
    expect((await proxy.list('ws.web')).map((s) => [s.name, s.state]).sort()).toEqual([[a.name, 'drain'], [b.name, 'ready']]);
  });

  it('an apply that finds the process gone starts it again and reports the restart; one that finds it running reports none', async () => {
    const sites = [{ id: 'ws.web', vhosts: ['ws.example'], servers: [b] }];
    let restarts = 0;
    await proxy.apply(sites, { restarted: () => restarts++ });
    expect(restarts).toBe(0);
    const pidFiles = kind === 'haproxy' ? [join(runDir(), 'haproxy.pid')] : [join(runDir(), 'edge', 'nginx.pid')];
    await killMasters(pidFiles);
    await proxy.apply(sites, { restarted: () => restarts++ });
    expect(restarts).toBe(1);
    expect(await proxy.revive()).toBe(false);
    expect(await get(httpPort, 'ws.example')).toBe(`200 served by ${b.name}`);
  });
});

describe.each(['haproxy', 'nginx'] as const)('%s on a host with no site yet', (kind) => {
  let proxy: ProxyAdapter;
  afterAll(async () => proxy?.stop());

  it('starts with none, takes a second sync of none, then serves the first site', async () => {
    const httpPort = await freePort();
    proxy = createProxy(proxySchema.parse({ type: kind, [kind]: { runDir: join(work, `${kind}-empty`), bind: '127.0.0.1', httpPort, httpsPort: await freePort(), certDir: join(work, 'no-certs') } }));
    await proxy.apply([]);
    await proxy.apply([]);
    const first = await app(`${kind}-first`);
    await proxy.apply([{ id: 'first.web', vhosts: ['first.example'], servers: [first] }]);
    expect(await get(httpPort, 'first.example')).toBe(`200 served by ${first.name}`);
  });
});

describe.each(['haproxy', 'nginx'] as const)('%s killed while an apply checks its new config', (kind) => {
  let proxy: ProxyAdapter | undefined;
  afterAll(async () => proxy?.stop());

  it('is started again by that apply, which reports the restart', async () => {
    const dir = join(work, `${kind}-killed-in-check`);
    const runDir = join(dir, 'run');
    const pidFile = kind === 'haproxy' ? join(runDir, 'haproxy.pid') : join(runDir, 'edge', 'nginx.pid');
    const armed = join(dir, 'armed');
    const real = execFileSync('sh', ['-c', `command -v ${kind}`], { encoding: 'utf8' }).trim();
    // Stands in for the proxy binary: once armed, its config check (-c, nginx -t) first kills the master and waits until it is gone.
    const check = kind === 'haproxy' ? '-c' : '-t';
    const wrapper = join(dir, kind);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `case " $* " in *" ${check} "*) if [ -f ${armed} ]; then rm -f ${armed}; pid=$(cat ${pidFile}); kill -9 "$pid"`,
        `  for i in $(seq 1 200); do [ -d /proc/"$pid" ] && [ "$(cut -d' ' -f3 /proc/"$pid"/stat)" != Z ] || break; sleep 0.05; done; fi ;; esac`,
        `exec ${real} "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const httpPort = await freePort();
    proxy = createProxy(proxySchema.parse({ type: kind, [kind]: { binary: wrapper, runDir, bind: '127.0.0.1', httpPort, httpsPort: await freePort(), certDir: join(work, 'no-certs') } }));
    const server = await app(`${kind}-check`);
    const sites = [{ id: 'check.web', vhosts: ['check.example'], servers: [server] }];
    await proxy.apply(sites);
    const before = Number(readFileSync(pidFile, 'utf8').trim());

    let restarts = 0;
    writeFileSync(armed, '');
    // A new vhost: a config the proxy must check (an unchanged one needs no check).
    await proxy.apply([{ ...sites[0]!, vhosts: ['check.example', 'www.check.example'] }], { restarted: () => restarts++ });
    expect(existsSync(armed)).toBe(false);
    expect(processAlive(before)).toBe(false);
    expect(restarts).toBe(1);
    expect(await get(httpPort, 'www.check.example')).toBe(`200 served by ${server.name}`);
  });
});

/**
 * Each config check is a whole proxy start-up (certificates included), at a pass's pace several
 * per site on a host of a hundred: only a config the running proxy has not loaded is checked.
 * A wrapper binary logs every run of the proxy binary.
 */
describe.each(['haproxy', 'nginx'] as const)('%s config checks', (kind) => {
  let proxy: ProxyAdapter | undefined;
  afterAll(async () => proxy?.stop());

  it('run for a config the running proxy has not loaded, not for one it runs already', async () => {
    const dir = join(work, `${kind}-checks`);
    const runs = join(dir, 'runs.log');
    const real = execFileSync('sh', ['-c', `command -v ${kind}`], { encoding: 'utf8' }).trim();
    const wrapper = join(dir, kind);
    mkdirSync(dir, { recursive: true });
    writeFileSync(wrapper, ['#!/bin/sh', `echo "$*" >> ${runs}`, `exec ${real} "$@"`, ''].join('\n'), { mode: 0o755 });
    const checks = () => (existsSync(runs) ? readFileSync(runs, 'utf8') : '').split('\n').filter((l) => l.split(' ').includes(kind === 'haproxy' ? '-c' : '-t')).length;
    const httpPort = await freePort();
    proxy = createProxy(proxySchema.parse({ type: kind, [kind]: { binary: wrapper, runDir: join(dir, 'run'), bind: '127.0.0.1', httpPort, httpsPort: await freePort(), certDir: join(work, 'no-certs') } }));
    const [one, two] = [await app(`${kind}-one`), await app(`${kind}-two`)];
    const sites = [{ id: 'checks.web', vhosts: ['checks.example'], servers: [one] }];

    await proxy.apply(sites);
    const first = checks();
    expect(first).toBeGreaterThan(0);
    await proxy.apply(sites);
    expect(checks()).toBe(first);
    await proxy.apply([{ ...sites[0]!, vhosts: ['checks.example', 'www.checks.example'] }]);
    expect(checks()).toBeGreaterThan(first);

    // HAProxy moves servers in and out of a free slot at runtime: the file it would reload holds them, unchecked.
    const before = checks();
    await proxy.add('checks.web', two);
    expect((await proxy.drain('checks.web', one, { timeoutMs: 5000 })).drained).toBe(true);
    await proxy.remove('checks.web', one);
    expect(await get(httpPort, 'www.checks.example')).toBe(`200 served by ${two.name}`);
    if (kind === 'haproxy') {
      expect(checks()).toBe(before);
      // ... and a restart from that file serves what the runtime had.
      await killMasters([join(dir, 'run', 'haproxy.pid')]);
      expect(await proxy.revive()).toBe(true);
      expect(await get(httpPort, 'checks.example')).toBe(`200 served by ${two.name}`);
    } else {
      // nginx's router is reloaded for every server change, each new config checked first.
      expect(checks()).toBeGreaterThan(before);
    }
  });
});
