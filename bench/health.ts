/**
 * Measures the health checker against loopback servers: the cost of one passing check (custom
 * endpoint, and the 404 -> https redirect -> / path), how closely the response timeout is kept,
 * and that an endless body does not grow memory. Writes bench/results/health.json.
 *
 *   node --expose-gc --import tsx bench/health.ts
 */
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { healthSchema } from '../src/config/schema.js';
import { checkHealth } from '../src/health/check.js';
import type { HealthTarget } from '../src/health/types.js';

const ROUNDS = 300;
const options = healthSchema.parse({ attempts: 1, intervalMs: 0 });
const sockets = new Set<Socket>();

async function start(server: Server): Promise<{ port: number; stop: () => Promise<void> }> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const stop = () => {
    sockets.forEach((s) => s.destroy());
    return new Promise<void>((r) => server.close(() => r()));
  };
  return { port: (server.address() as AddressInfo).port, stop };
}

const at = (port: number): HealthTarget => ({ ip: '127.0.0.1', port, vhosts: ['a.example'], healthPath: '/refit/health' });

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => Number(s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2));
  return { n: s.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: q(1) };
}

async function timeChecks(handler: RequestListener, rounds: number) {
  const srv = await start(createHttpServer(handler));
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const v = await checkHealth(at(srv.port), options);
    ms.push(performance.now() - t0);
    if (!v.healthy) throw new Error(`bench app unexpectedly unhealthy: ${v.reason}`);
  }
  await srv.stop();
  return stats(ms);
}

const customEndpoint = await timeChecks((req, res) => {
  res.writeHead(req.url === '/refit/health' ? 200 : 500);
  res.end('{"status":"healthy"}');
}, ROUNDS);

const httpsRedirectThenRoot = await timeChecks((req, res) => {
  if (req.headers['x-forwarded-proto'] !== 'https') res.writeHead(301, { Location: `https://a.example${req.url}` });
  else res.writeHead(req.url === '/' ? 200 : 404);
  res.end();
}, ROUNDS);

// Response timeout: how long a check of a server that never answers really takes.
const hang = await start(createTcpServer(() => undefined));
const timeoutMs = 200;
const overshoot: number[] = [];
for (let i = 0; i < 10; i++) {
  const v = await checkHealth(at(hang.port), { ...options, responseTimeoutMs: timeoutMs });
  overshoot.push(v.attempts[0]!.requests[0]!.durationMs - timeoutMs);
}
await hang.stop();

// Endless body on the custom endpoint, 64 KiB cap: reading stops there, memory does not grow.
let served = 0;
const endless = await start(
  createHttpServer((_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let closed = false;
    let written = 0;
    res.on('close', () => (closed = true));
    // Bounded even if the checker kept reading: it would then see the end of a 256 MiB body.
    const pump = () => {
      while (!closed && written < 256 * 1024 ** 2) {
        written += chunk.length;
        served += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  }),
);
let maxBodyBytes = 0;
const endlessChecks = async (n: number) => {
  for (let i = 0; i < n; i++) {
    const v = await checkHealth(at(endless.port), options);
    maxBodyBytes = Math.max(maxBodyBytes, v.attempts[0]!.requests[0]!.bodyBytes);
  }
  global.gc?.();
  return process.memoryUsage();
};
// Warm up, then compare memory after 50 and after 500 more: a leak would grow with the count.
const after50 = await endlessChecks(50);
const after550 = await endlessChecks(500);
await endless.stop();
const mib = (bytes: number) => Number((bytes / 1024 ** 2).toFixed(1));

const result = {
  command: 'node --expose-gc --import tsx bench/health.ts',
  date: new Date().toISOString(),
  node: process.version,
  host: '2 cores, shared with other work: treat as rough numbers',
  checkMs: { customEndpoint, httpsRedirectThenRoot },
  responseTimeout: { configuredMs: timeoutMs, overshootMs: stats(overshoot) },
  endlessBody: {
    checks: 550,
    capBytes: options.maxBodyBytes,
    maxBodyBytesRead: maxBodyBytes,
    serverBytesWrittenPerCheck: Math.round(served / 550),
    heapUsedMiB: { after50: mib(after50.heapUsed), after550: mib(after550.heapUsed) },
    rssMiB: { after50: mib(after50.rss), after550: mib(after550.rss) },
  },
};
writeFileSync(new URL('./results/health.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
