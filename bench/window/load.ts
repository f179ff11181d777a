/**
 * The load of bench/window: one `wrk` process whose threads each keep ONE kept-alive connection
 * and rotate their requests over their own sites (rotate.lua), so every request, every failure
 * and every latency is counted for the site it went to, per phase of the bench. One process
 * drives many sites; two of them (light on every site, heavy on a few) are the whole load.
 *
 * Bounded three times: wrk's own duration (`maxMs`), a SIGKILL after it, and rotate.lua ends wrk
 * when this process is gone (a killed bench leaves no load behind). Ending is graceful (each
 * connection parks after its response, then wrk is interrupted).
 */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnWrk } from '../../test/support/wrk-process.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'rotate.lua');
/** rotate.lua's histogram: bucket b holds latencies in [1.02^b, 1.02^(b+1)) microseconds. */
const STEP = 1.02;

export interface SiteCounts {
  sent: number;
  ok: number;
  /** Requests that got no response (the connection broke with them in flight). */
  unanswered: number;
  byStatus: Record<string, number>;
  /** 2xx responses slower than the timeout (not in `ok`). */
  late: number;
  /** Non-2xx + unanswered + late. */
  failed: number;
  maxMs: number;
}

export interface PhaseResult {
  sites: Record<string, SiteCounts>;
  requests: number;
  failed: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
}

export interface RotatedResult {
  phases: Record<string, PhaseResult>;
  /** wrk's own counters: connect errors cannot be told apart per site. */
  errors: { connect: number; read: number; write: number; timeout: number };
}

export interface RotatedLoad {
  /** Counts from now on go to this phase (within 20 ms). Throws when wrk has ended. */
  phase(name: string): void;
  stop(): Promise<RotatedResult>;
  /** Settles when wrk ended (stop, its duration, or a failure). */
  result: Promise<RotatedResult>;
}

/** `name`: the load's temp dir is `refit-<name>-XXXXXX` in the system's temp dir (a killed run's is swept by that name). */
export function startRotatedLoad(o: { name: string; url: string; hostsPerThread: string[][]; pauseMs: number; path?: string; maxMs: number; timeoutMs?: number }): RotatedLoad {
  const threads = o.hostsPerThread.length;
  if (!threads || o.hostsPerThread.some((hosts) => !hosts.length)) throw new Error('startRotatedLoad: every thread needs at least one site');
  const timeoutMs = o.timeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), `refit-${o.name}-`));
  const stopFile = join(dir, 'stop');
  const phaseFile = join(dir, 'phase');
  let ended: string | undefined;
  const setPhase = (name: string) => {
    if (ended !== undefined) throw new Error(`the load ended before it was stopped (${ended || 'wrk exited'}): ${wrk.output()}`);
    writeFileSync(`${phaseFile}.new`, `${name}\n`);
    renameSync(`${phaseFile}.new`, phaseFile);
  };
  const args = [`-t${threads}`, `-c${threads}`, `-d${Math.ceil(o.maxMs / 1000)}s`, '--timeout', `${Math.ceil(timeoutMs / 1000)}s`, '-s', SCRIPT, o.url, '--', stopFile, phaseFile, String(o.pauseMs), o.path ?? '/', String(timeoutMs), String(process.pid), ...o.hostsPerThread.map((h) => h.join(','))];
  setPhase('start');
  const wrk = spawnWrk(args, { tag: 'refit-win', threads, stopFile, dir, timeoutMs, killAfterMs: o.maxMs + 2 * timeoutMs + 30_000, what: `load at ${o.url}` });
  void wrk.exited.then((failure) => (ended = failure));
  const stop = () => wrk.stop().then(parseRotated);
  const result = wrk.exited.then(stop);
  result.catch(() => undefined);
  return { phase: setPhase, stop, result };
}

export function parseRotated(text: string): RotatedResult {
  const lines = text.split('\n').filter((l) => l.startsWith('refit-win '));
  const phases: Record<string, PhaseResult> = {};
  const hist: Record<string, Map<number, number>> = {};
  const phase = (name: string) => (phases[name] ??= { sites: {}, requests: 0, failed: 0, latencyMs: { p50: 0, p99: 0, p999: 0, max: 0 } });
  let errors = { connect: 0, read: 0, write: 0, timeout: 0 };
  for (const line of lines) {
    const [, kind, ...rest] = line.split(' ');
    if (kind === 'errors') errors = Object.fromEntries(rest.map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)])) as typeof errors;
    if (kind === 'count') {
      const [name, host, field, n] = rest as [string, string, string, string];
      const s = (phase(name).sites[host] ??= { sent: 0, ok: 0, unanswered: 0, late: 0, byStatus: {}, failed: 0, maxMs: 0 });
      const value = Number(n);
      if (field === 'maxUs') s.maxMs = Math.max(s.maxMs, value / 1000);
      else if (field.startsWith('status')) s.byStatus[field.slice('status'.length)] = (s.byStatus[field.slice('status'.length)] ?? 0) + value;
      else if (field === 'sent' || field === 'ok' || field === 'unanswered' || field === 'late') s[field] += value;
    }
    if (kind === 'hist') {
      const [name, bucket, count] = rest as [string, string, string];
      const h = (hist[name] ??= new Map());
      h.set(Number(bucket), (h.get(Number(bucket)) ?? 0) + Number(count));
    }
  }
  for (const [name, p] of Object.entries(phases)) {
    const sites = Object.values(p.sites);
    for (const s of sites) s.failed = s.unanswered + s.late + Object.values(s.byStatus).reduce((n, x) => n + x, 0);
    p.requests = sites.reduce((n, s) => n + s.sent, 0);
    p.failed = sites.reduce((n, s) => n + s.failed, 0);
    const buckets = [...(hist[name] ?? new Map<number, number>())].sort(([a], [b]) => a - b);
    const total = buckets.reduce((n, [, c]) => n + c, 0);
    const max = Math.max(0, ...sites.map((s) => s.maxMs));
    // A bucket's middle, never above the exact maximum (the top bucket's middle can be).
    const at = (q: number) => {
      let seen = 0;
      for (const [b, c] of buckets) if ((seen += c) >= q * total) return Math.min(max, Math.round(STEP ** (b + 0.5)) / 1000);
      return 0;
    };
    p.latencyMs = { p50: at(0.5), p99: at(0.99), p999: at(0.999), max };
  }
  return { phases, errors };
}
