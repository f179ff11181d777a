/**
 * Measures the operator-facing pieces: what a notification costs the maintenance code that
 * sends it (it must not wait for the receiver), how closely flush() keeps its bound with a
 * receiver that never answers, delivery latency on loopback, the cost of a /metrics scrape
 * after a big pass, and the terminal task list's redraw for 200 containers.
 * Writes bench/results/ops.json.
 *
 *   node --import tsx bench/ops.ts
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createProgress } from '../src/log/progress.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createNotifier } from '../src/notify/notifier.js';
import type { PassSummary } from '../src/notify/types.js';

const ROUNDS = 200;
const logger = pino({ enabled: false });

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => Number(s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(3));
  return { n: s.length, p50: q(0.5), p95: q(0.95), max: q(1) };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const summary = (n: number): PassSummary => ({
  runId: '1',
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  host: 'bench',
  results: Array.from({ length: n }, (_, i) => ({ container: `site-${i}`, result: i % 10 === 0 ? 'rolled-back' : 'updated', from: 'web:1', to: 'web:2' })),
});

// 1. The caller's cost of pass() while the receiver holds every request for 2 s.
const held = new Set<import('node:http').ServerResponse>();
const slow = createServer((_req, res) => {
  held.add(res);
  setTimeout(() => res.end(), 2_000).unref();
});
const slowUrl = await listen(slow);
const slowNotifier = createNotifier({ webhooks: [{ url: slowUrl, kind: 'slack', passes: 'all' }], attempts: 1, timeoutMs: 5_000, deadlineMs: 5_000, logger });
const enqueue: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const t = performance.now();
  slowNotifier.pass(summary(50));
  enqueue.push(performance.now() - t);
}
await slowNotifier.flush(10_000);
slow.closeAllConnections();
slow.close();

// 2. flush(500) against a receiver that accepts connections and never answers.
const silent = createServer(() => undefined);
const silentUrl = await listen(silent);
const stuck = createNotifier({ webhooks: [{ url: silentUrl, kind: 'json', passes: 'all' }], attempts: 5, timeoutMs: 60_000, deadlineMs: 600_000, logger });
stuck.pass(summary(5));
let t = performance.now();
const flushed = await stuck.flush(500);
const flushMs = performance.now() - t;
silent.closeAllConnections();
silent.close();

// 3. Delivery latency, one notification at a time, to a receiver that answers at once.
const fast = createServer((req, res) => req.resume().on('end', () => res.end()));
const fastUrl = await listen(fast);
const deliveries: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const n = createNotifier({ webhooks: [{ url: fastUrl, kind: 'json', passes: 'all' }], attempts: 1, timeoutMs: 5_000, deadlineMs: 5_000, logger });
  t = performance.now();
  n.pass(summary(50));
  await n.flush(5_000);
  deliveries.push(performance.now() - t);
}
fast.close();

// 4. A scrape after a pass over 1000 containers with 10 steps each.
const metrics = createMetrics();
metrics.passFinished(summary(1000));
for (let i = 0; i < 10_000; i++) metrics.stepObserved(`step-${i % 10}`, i % 5000);
const scrapes: number[] = [];
let size = 0;
for (let i = 0; i < ROUNDS; i++) {
  t = performance.now();
  size = (await metrics.exposition()).length;
  scrapes.push(performance.now() - t);
}

// 5. Terminal redraws: 200 containers, one event each, on a fake terminal.
let written = 0;
const progress = createProgress({ isTTY: true, columns: 120, write: (s: string) => (written += s.length) }, { logger, tickMs: 0 });
const redraws: number[] = [];
for (let i = 0; i < 200; i++) {
  t = performance.now();
  progress.event({ container: `site-${i}`, step: 'shadow-health', phase: 'begin', at: Date.now() });
  redraws.push(performance.now() - t);
}
progress.stop();

const results = {
  command: 'node --import tsx bench/ops.ts',
  node: process.version,
  date: new Date().toISOString(),
  // Other suites share this 2-core host; a high load shows in the tails (p95, max).
  loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  notifyEnqueueMs_receiverHolds2s: stats(enqueue),
  flushBoundMs: { asked: 500, took: Number(flushMs.toFixed(1)), ...flushed },
  deliveryLoopbackMs: stats(deliveries),
  metricsScrapeMs: { ...stats(scrapes), bytes: size },
  progressRedrawMs_upTo200Lines: { ...stats(redraws), bytesWritten: written },
};
writeFileSync(new URL('./results/ops.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
