/**
 * checkHealth against real HTTP servers on 127.0.0.1 (in this process): every rule of SPEC.md
 * "Health check" as a container would exercise it.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { dirname, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { healthSchema } from '../config/schema.js';
import type { ProbeRoute } from '../proxy/types.js';
import { checkHealth, checkThroughProxy } from './check.js';
import type { HealthOptions, HealthTarget } from './types.js';

interface Seen {
  host: string;
  path: string;
  proto?: string;
  ssl?: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => void;

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  // close() waits for open connections; the never-answering ones must be cut first.
  sockets.forEach((s) => s.destroy());
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function track<S extends Server>(server: S): S {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  servers.push(server);
  return server;
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** An app: `handler` answers; every request's Host, path and forwarded headers are kept. */
async function app(handler: Handler): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = track(
    createHttpServer((req, res) => {
      const proto = req.headers['x-forwarded-proto'] as string | undefined;
      const ssl = req.headers['x-forwarded-ssl'] as string | undefined;
      seen.push({ host: req.headers.host ?? '', path: req.url ?? '', ...(proto ? { proto } : {}), ...(ssl ? { ssl } : {}) });
      handler(req, res, seen);
    }),
  );
  return { port: await listen(server), seen };
}

const send = (res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}) => {
  res.writeHead(status, headers);
  res.end(body);
};
const redirect = (res: ServerResponse, status: number, location: string) => send(res, status, '', { Location: location });
const healthy = (res: ServerResponse) => send(res, 200, '{"status":"healthy"}', { 'Content-Type': 'application/json' });

const opts = (o: Partial<HealthOptions> = {}): HealthOptions => ({
  ...healthSchema.parse({}),
  attempts: 3,
  intervalMs: 10,
  connectTimeoutMs: 1000,
  responseTimeoutMs: 1000,
  ...o,
});
const target = (port: number, vhosts = ['a.example', 'www.a.example'], healthPath = '/refit/health'): HealthTarget => ({ ip: '127.0.0.1', port, vhosts, healthPath });

describe('the default endpoint (custom one answers 404)', () => {
  it('plain 200 on / with Host the preferred vhost is healthy on the first attempt', async () => {
    const { port, seen } = await app((req, res) => (req.url === '/' && req.headers.host === 'a.example' ? send(res, 200, 'hi') : send(res, 404)));
    const v = await checkHealth(target(port), opts());
    expect(v).toMatchObject({ healthy: true, attempts: [{ number: 1, passed: true, decidedBy: 'default', path: '/', host: 'a.example', status: 200, redirects: [] }] });
    expect(seen).toEqual([
      { host: 'a.example', path: '/refit/health' },
      { host: 'a.example', path: '/' },
    ]);
    expect(v.attempts[0]!.requests.map((r) => [r.path, r.status])).toEqual([
      ['/refit/health', 404],
      ['/', 200],
    ]);
  });

  it('without vhosts the Host is the IP and port', async () => {
    const { port, seen } = await app((req, res) => send(res, req.url === '/' ? 200 : 404));
    expect((await checkHealth(target(port, []), opts())).healthy).toBe(true);
    expect(seen[1]).toEqual({ host: `127.0.0.1:${port}`, path: '/' });
  });

  it('follows www -> apex within the site hosts, against the same ip:port', async () => {
    const { port, seen } = await app((req, res) => {
      if (req.url !== '/') return send(res, 404);
      return req.headers.host === 'www.a.example' ? redirect(res, 301, 'http://a.example/') : send(res, 200);
    });
    const v = await checkHealth(target(port, ['www.a.example', 'a.example']), opts());
    expect(v).toMatchObject({ healthy: true, attempts: [{ host: 'www.a.example', status: 200, redirects: ['http://a.example/'] }] });
    expect(seen.map((s) => s.host)).toEqual(['www.a.example', 'www.a.example', 'a.example']);
  });

  it('honours http -> https through X-Forwarded-Proto/-SSL, for the rest of the chain', async () => {
    const { port, seen } = await app((req, res) => {
      const https = req.headers['x-forwarded-proto'] === 'https' && req.headers['x-forwarded-ssl'] === 'on';
      if (!https) return redirect(res, 301, `https://${req.headers.host}${req.url}`);
      if (req.url === '/refit/health') return send(res, 404);
      return req.url === '/' ? redirect(res, 302, '/home') : send(res, req.url === '/home' ? 200 : 404);
    });
    const v = await checkHealth(target(port), opts());
    expect(v).toMatchObject({ healthy: true, attempts: [{ decidedBy: 'default', status: 200, redirects: ['https://a.example/', 'https://a.example/home'] }] });
    expect(seen).toEqual([
      { host: 'a.example', path: '/refit/health' },
      { host: 'a.example', path: '/refit/health', proto: 'https', ssl: 'on' },
      { host: 'a.example', path: '/' },
      { host: 'a.example', path: '/', proto: 'https', ssl: 'on' },
      { host: 'a.example', path: '/home', proto: 'https', ssl: 'on' },
    ]);
  });

  it('follows relative and mixed-case locations', async () => {
    const { port, seen } = await app((req, res) => {
      const routes: Record<string, () => void> = {
        '/': () => redirect(res, 302, 'HTTP://WWW.A.EXAMPLE/Shop/Index'),
        '/Shop/Index': () => redirect(res, 307, 'cart?step=1'),
        '/Shop/cart?step=1': () => redirect(res, 308, '//A.Example./done'),
        '/done': () => send(res, 200),
      };
      (routes[req.url ?? ''] ?? (() => send(res, 404)))();
    });
    const v = await checkHealth(target(port), opts());
    expect(v).toMatchObject({ healthy: true, attempts: [{ redirects: ['http://www.a.example/Shop/Index', 'http://www.a.example/Shop/cart?step=1', 'http://a.example./done'] }] });
    expect(seen.slice(2).map((s) => `${s.host}${s.path}`)).toEqual(['www.a.example/Shop/Index', 'www.a.example/Shop/cart?step=1', 'a.example./done']);
  });

  it('a redirect to another host fails the whole check at once: one attempt, nothing sent there', async () => {
    const { port, seen } = await app((req, res) => (req.url === '/' ? redirect(res, 302, 'https://login.other.example/sso') : send(res, 404)));
    const v = await checkHealth(target(port), opts({ attempts: 5 }));
    expect(v.healthy).toBe(false);
    expect(v.attempts).toHaveLength(1);
    expect(!v.healthy && v.reason).toMatch(/login\.other\.example is not one of the site's hosts \(a\.example, www\.a\.example\)/);
    expect(seen.map((s) => s.host)).toEqual(['a.example', 'a.example']);
  });

  it('a redirect loop fails the attempt, and so does an endless chain at the hop cap', async () => {
    const loop = await app((req, res) => (req.url === '/' ? redirect(res, 301, '/a') : req.url === '/a' ? redirect(res, 301, '/') : send(res, 404)));
    const v = await checkHealth(target(loop.port), opts({ attempts: 2 }));
    expect(v.healthy).toBe(false);
    expect(v.attempts).toHaveLength(2);
    expect(v.attempts[0]!.reason).toMatch(/301 redirect loop: back to http:\/\/a\.example\/, already requested/);

    let n = 0;
    const endless = await app((req, res) => (req.url === '/refit/health' ? send(res, 404) : redirect(res, 302, `/step${++n}`)));
    const w = await checkHealth(target(endless.port), opts({ attempts: 1, maxRedirects: 3 }));
    expect(w.attempts[0]!.reason).toMatch(/redirect to http:\/\/a\.example\/step4 would be hop 4, over health\.maxRedirects \(3\)/);
    expect(w.attempts[0]!.requests.filter((r) => r.path !== '/refit/health')).toHaveLength(4);
  });

  it('an app that ignores X-Forwarded-Proto and keeps redirecting to https is caught as a loop', async () => {
    const { port, seen } = await app((req, res) => (req.url === '/refit/health' ? send(res, 404) : redirect(res, 301, `https://${req.headers.host}/`)));
    const v = await checkHealth(target(port), opts({ attempts: 1 }));
    expect(v.attempts[0]!.reason).toBe('GET / (Host a.example) via https://a.example/ 301 redirect loop: back to https://a.example/, already requested in this chain');
    expect(seen.filter((s) => s.path === '/')).toHaveLength(2);
  });

  it('a redirect without Location fails the attempt', async () => {
    const { port } = await app((req, res) => send(res, req.url === '/' ? 302 : 404));
    const v = await checkHealth(target(port), opts({ attempts: 1 }));
    expect(v.attempts[0]!.reason).toMatch(/302 redirect without a Location/);
  });
});

describe('the custom endpoint', () => {
  it('decides alone when it answers: healthy while / fails, and / is never asked', async () => {
    const { port, seen } = await app((req, res) => (req.url === '/refit/health' ? healthy(res) : send(res, 500)));
    const v = await checkHealth(target(port), opts());
    expect(v).toMatchObject({ healthy: true, attempts: [{ decidedBy: 'custom', path: '/refit/health', status: 200 }] });
    expect(seen.map((s) => s.path)).toEqual(['/refit/health']);
  });

  it.each([
    ['malformed JSON', 200, '{"status": "healthy"', /not JSON/],
    ['a wrong status value', 200, '{"status":"degraded"}', /status "degraded", not "healthy"/],
    ['non-200', 503, '{"status":"healthy"}', /answered 503, not 200/],
    ['200 with HTML', 200, '<html>ok</html>', /not JSON/],
  ])('%s is unhealthy even when / is fine', async (_what, status, body, reason) => {
    const { port, seen } = await app((req, res) => (req.url === '/refit/health' ? send(res, status, body) : send(res, 200)));
    const v = await checkHealth(target(port), opts({ attempts: 2 }));
    expect(v.healthy).toBe(false);
    expect(v.attempts).toHaveLength(2);
    expect(v.attempts[1]).toMatchObject({ decidedBy: 'custom', passed: false, reason: expect.stringMatching(reason) });
    expect(seen.every((s) => s.path === '/refit/health')).toBe(true);
  });

  it('a custom path from the label is asked instead of /refit/health', async () => {
    const { port, seen } = await app((req, res) => (req.url === '/_status?deep=1' ? healthy(res) : send(res, 404)));
    const v = await checkHealth(target(port, ['a.example'], '/_status?deep=1'), opts());
    expect(v).toMatchObject({ healthy: true, attempts: [{ decidedBy: 'custom', path: '/_status?deep=1' }] });
    expect(seen.map((s) => s.path)).toEqual(['/_status?deep=1']);
  });

  it('its redirects are followed by the same rules; a 404 at the end means "no custom endpoint"', async () => {
    const { port, seen } = await app((req, res) => {
      if (req.headers['x-forwarded-proto'] !== 'https') return redirect(res, 301, `https://${req.headers.host}${req.url}`);
      return send(res, req.url === '/' ? 200 : 404);
    });
    const v = await checkHealth(target(port), opts());
    expect(v).toMatchObject({ healthy: true, attempts: [{ decidedBy: 'default', redirects: ['https://a.example/'] }] });
    expect(seen.map((s) => `${s.proto ?? 'http'} ${s.path}`)).toEqual(['http /refit/health', 'https /refit/health', 'http /', 'https /']);
  });

  it('a redirect of the custom endpoint to another host fails the check at once', async () => {
    const { port } = await app((_req, res) => redirect(res, 302, 'http://status.other.example/'));
    const v = await checkHealth(target(port), opts({ attempts: 4 }));
    expect(v.attempts).toHaveLength(1);
    expect(!v.healthy && v.reason).toMatch(/^GET \/refit\/health \(Host a\.example\) 302 redirect to http:\/\/status\.other\.example\//);
  });
});

describe('attempts', () => {
  it('an app slow to start (refused, then starting, then healthy) passes within the attempts', async () => {
    const probeServer = createTcpServer();
    const port = await listen(probeServer);
    await new Promise((r) => probeServer.close(r));
    let served = 0;
    setTimeout(() => {
      void listen(
        track(createHttpServer((req, res) => (req.url !== '/refit/health' ? send(res, 500) : ++served < 3 ? send(res, 200, '{"status":"starting"}') : healthy(res)))),
        port,
      );
    }, 150);
    const v = await checkHealth(target(port), opts({ attempts: 30, intervalMs: 25 }));
    expect(v.healthy).toBe(true);
    const first = v.attempts[0]!;
    expect(first).toMatchObject({ passed: false, status: null, reason: expect.stringMatching(/connection refused/) });
    expect(v.attempts.at(-2)).toMatchObject({ passed: false, reason: expect.stringMatching(/"starting"/) });
    expect(v.attempts.at(-1)).toMatchObject({ passed: true, number: v.attempts.length });
  });

  it('a container still starting: the check first waits for its port (at most one interval), so no attempt is spent on it', async () => {
    const probeServer = createTcpServer();
    const port = await listen(probeServer);
    await new Promise((r) => probeServer.close(r));
    setTimeout(() => void listen(track(createHttpServer((req, res) => (req.url === '/refit/health' ? healthy(res) : send(res, 500)))), port), 150);
    const v = await checkHealth(target(port), opts({ attempts: 3, intervalMs: 60_000 }));
    expect(v).toMatchObject({ healthy: true, attempts: [{ number: 1, passed: true }] });
    expect(v.portWaitMs).toBeGreaterThan(0);
  });

  it('a port that never opens: the wait ends after one interval, then every attempt runs as configured', async () => {
    const probeServer = createTcpServer();
    const port = await listen(probeServer);
    await new Promise((r) => probeServer.close(r));
    const v = await checkHealth(target(port), opts({ attempts: 2, intervalMs: 50 }));
    expect(v.healthy).toBe(false);
    expect(v.attempts.map((a) => a.reason)).toEqual([expect.stringMatching(/connection refused/), expect.stringMatching(/connection refused/)]);
    expect(v.portWaitMs).toBeGreaterThanOrEqual(50);
  });

  it('an app that never passes is tried exactly `attempts` times', async () => {
    const { port, seen } = await app((req, res) => send(res, req.url === '/' ? 502 : 404));
    const v = await checkHealth(target(port), opts({ attempts: 4 }));
    expect(v.healthy).toBe(false);
    expect(v.attempts.map((a) => a.number)).toEqual([1, 2, 3, 4]);
    expect(seen).toHaveLength(8);
    expect(!v.healthy && v.reason).toBe('not healthy after 4 attempts; last: GET / (Host a.example) answered 502, not 200');
  });

  it('a success threshold needs that many passes in a row', async () => {
    const answers = [200, 500, 200, 200, 200, 500];
    const { port } = await app((req, res) => send(res, req.url === '/' ? answers.shift()! : 404));
    const v = await checkHealth(target(port), opts({ attempts: 10, successThreshold: 3 }));
    expect(v.healthy).toBe(true);
    expect(v.attempts.map((a) => a.passed)).toEqual([true, false, true, true, true]);
  });

  it('stops early once the threshold cannot be reached any more', async () => {
    const { port } = await app((req, res) => send(res, req.url === '/' ? 500 : 404));
    const v = await checkHealth(target(port), opts({ attempts: 5, successThreshold: 3 }));
    expect(v.attempts).toHaveLength(3);
    expect(!v.healthy && v.reason).toMatch(/did not pass 3 attempts in a row within 5 \(stopped after 3 attempts\)/);
  });

  it('an abort rejects with the caller reason, between or during requests', async () => {
    const { port } = await app((req, res) => send(res, req.url === '/' ? 500 : 404));
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('window closed')), 100);
    await expect(checkHealth(target(port), opts({ attempts: 1000, intervalMs: 30 }), ctl.signal)).rejects.toThrow('window closed');

    const hang = track(createTcpServer(() => undefined));
    const hangPort = await listen(hang);
    const ctl2 = new AbortController();
    setTimeout(() => ctl2.abort(new Error('stop now')), 50);
    await expect(checkHealth(target(hangPort), opts({ responseTimeoutMs: 60_000 }), ctl2.signal)).rejects.toThrow('stop now');
  });
});

describe('bounded against broken apps', () => {
  it('a server that accepts and never answers fails each attempt on the response timeout', async () => {
    const hang = track(createTcpServer(() => undefined));
    const port = await listen(hang);
    const v = await checkHealth(target(port), opts({ attempts: 2, responseTimeoutMs: 100 }));
    expect(v.healthy).toBe(false);
    expect(v.attempts).toHaveLength(2);
    for (const a of v.attempts) {
      expect(a.requests).toHaveLength(1);
      expect(a.requests[0]).toMatchObject({ status: null, error: 'connected but no answer within 100 ms (response timeout)' });
      expect(a.requests[0]!.durationMs).toBeGreaterThanOrEqual(90);
    }
  });

  it('a body that stalls after the headers fails on the same timeout', async () => {
    const { port } = await app((req, res) => {
      if (req.url !== '/') return send(res, 404);
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('only part');
    });
    const v = await checkHealth(target(port), opts({ attempts: 1, responseTimeoutMs: 150 }));
    expect(v.attempts[0]!.reason).toMatch(/answered 200 but the body did not finish within 150 ms/);
  });

  it('a connection closed without an answer, and garbage instead of HTTP, fail the attempt', async () => {
    const rude = track(createTcpServer((s) => s.destroy()));
    const rudePort = await listen(rude);
    const v = await checkHealth(target(rudePort), opts({ attempts: 1 }));
    expect(v.attempts[0]!.reason).toMatch(/connection (closed without an answer|reset)/);

    const garbage = track(createTcpServer((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n')));
    const garbagePort = await listen(garbage);
    const w = await checkHealth(target(garbagePort), opts({ attempts: 1 }));
    expect(w.attempts[0]!.reason).toMatch(/not a valid HTTP answer \(HPE_/);
  });

  it.each([
    ['the custom endpoint', '/refit/health', false],
    ['/', '/', true],
  ])('an endless body on %s is read only up to the cap, then the connection is dropped', async (_what, endless, expectHealthy) => {
    const cap = 16 * 1024;
    let closed = false;
    let written = 0;
    const { port } = await app((req, res) => {
      if (req.url !== endless) return send(res, 404);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"status":"healthy","pad":"');
      res.on('close', () => (closed = true));
      const chunk = Buffer.alloc(4096, 'x');
      // Bounded even if the client kept reading: 64 MiB at most.
      const pump = () => {
        while (!closed && written < 64 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (!closed && written < 64 * 1024 * 1024) res.once('drain', pump);
      };
      pump();
    });
    const v = await checkHealth(target(port), opts({ attempts: 1, maxBodyBytes: cap }));
    expect(v.healthy).toBe(expectHealthy);
    const req = v.attempts[0]!.requests.at(-1)!;
    expect(req).toMatchObject({ path: endless, status: 200, truncated: true });
    expect(req.bodyBytes).toBeLessThanOrEqual(cap);
    if (!expectHealthy) expect(v.attempts[0]!.reason).toMatch(/body larger than the 16384-byte cap/);
    await expect.poll(() => closed).toBe(true);
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('checkThroughProxy: the public path, pinned to one server', () => {
  const tlsPem = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/tls/a.example.pem'), 'utf8');
  const quick = opts({ attempts: 2, intervalMs: 10 });
  const site = { vhosts: ['a.example'], healthPath: '/refit/health' };
  /** A stand-in proxy listener: answers as `handler` says and names `servedBy` when the probe secret came along. */
  function proxyLike(handler: Handler, servedBy: string | null) {
    return (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => {
      if (servedBy && req.headers['x-refit-probe'] === 'sekrit') res.setHeader('X-Refit-Server', req.headers['x-refit-probe-server'] === 's2' ? servedBy : 'other');
      handler(req, res, seen);
    };
  }
  const route = (httpPort: number, httpsPort: number | null): ProbeRoute => ({
    http: { ip: '127.0.0.1', port: httpPort },
    https: httpsPort ? { ip: '127.0.0.1', port: httpsPort } : null,
    headers: { 'X-Refit-Probe': 'sekrit', 'X-Refit-Probe-Server': 's2' },
    servedBy: { header: 'x-refit-server', value: 's2' },
  });

  it('passes when the health rules pass and the proxy says the pinned server answered', async () => {
    const { port, seen } = await app(proxyLike((_q, res) => send(res, 200, JSON.stringify({ status: 'healthy' })), 's2'));
    const v = await checkThroughProxy(site, route(port, null), quick);
    expect(v).toMatchObject({ healthy: true });
    expect(v.attempts[0]!.requests[0]).toMatchObject({ host: 'a.example', path: '/refit/health', servedBy: 's2' });
    expect(seen[0]).toMatchObject({ host: 'a.example' });
  });

  it('fails when another server answered, or the proxy did not mark the answer at all', async () => {
    const other = await app(proxyLike((req, res) => send(res, 200, JSON.stringify({ status: 'healthy' })), 'x'));
    const wrong = await checkThroughProxy(site, { ...route(other.port, null), headers: { 'X-Refit-Probe': 'sekrit', 'X-Refit-Probe-Server': 's1' } }, quick);
    expect(wrong).toMatchObject({ healthy: false });
    expect(wrong.attempts.at(-1)!.reason).toMatch(/answered by other, not by s2: the proxy does not route this site's requests to s2/);
    const unmarked = await app(proxyLike((_q, res) => send(res, 200, JSON.stringify({ status: 'healthy' })), null));
    const v = await checkThroughProxy(site, route(unmarked.port, null), quick);
    expect(v.attempts.at(-1)!.reason).toMatch(/not through refit's route to s2 \(no x-refit-server header\)/);
  });

  it('follows a redirect to https:// to the TLS listener, by SNI, and fails clearly when there is none', async () => {
    const plain = await app(proxyLike((_q, res) => send(res, 301, '', { Location: 'https://a.example/refit/health' }), 's2'));
    const seenTls: string[] = [];
    const tls = track(
      createHttpsServer({ cert: tlsPem, key: tlsPem }, (req, res) => {
        seenTls.push(`${(req.socket as TLSSocket).servername} ${req.headers.host} ${req.url}`);
        proxyLike((_q, r) => send(r, 200, JSON.stringify({ status: 'healthy' })), 's2')(req, res, []);
      }),
    );
    const tlsPort = await listen(tls);
    expect(await checkThroughProxy(site, route(plain.port, tlsPort), quick)).toMatchObject({ healthy: true });
    expect(seenTls[0]).toBe('a.example a.example /refit/health');
    const none = await checkThroughProxy(site, route(plain.port, null), quick);
    expect(none.attempts.at(-1)!.reason).toMatch(/sends clients to https:\/\/a\.example but the proxy has no certificate for it/);
  });
});
