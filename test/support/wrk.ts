/**
 * A keep-alive load that accounts for every request: Debian's `wrk` with wrk.lua against the
 * proxy's public listener (HTTP, or HTTPS: wrk does not verify certificates), with the site's
 * Host header, for host tests and benchmarks.
 *
 * Bounded twice: the load ends by itself after `durationMs` (or at `stop()`), and wrk is
 * SIGKILLed at `killAfterMs` whatever happens (the result then rejects). Ending is graceful:
 * from the stop on, each connection sends nothing after its current response (wrk.lua parks
 * it), and wrk is interrupted once every connection is idle, or after `timeoutMs` (a request
 * still unanswered by then counts as unanswered). So at the end no request is in flight, and:
 *
 *   sent = responses + unanswered        responses = ok + sum(byStatus)
 *
 * How each failure is counted:
 * - `byStatus`: every non-2xx response, by status (a 502 or 503 from the proxy, a 500 from the app).
 * - `unanswered`: requests wrk generated that got no complete response: the connection was
 *   closed or reset while the request was in flight (wrk's `read` error; with keep-alive this
 *   includes a server or proxy closing the connection just as a request goes out on it: that
 *   IS a dropped request), the request could not be written (`write`: also a plain-HTTP
 *   connect that failed after wrk's non-blocking connect returned), or it was still unanswered
 *   when the load stopped (`drained: false`).
 * - `errors.connect`: connection attempts that failed before a request was generated (refused
 *   at once, or a failed TLS handshake). wrk reconnects at once, so an outage counts many.
 * - `errors.timeout`: responses that came later than `timeoutMs` (they are also counted as
 *   responses; wrk never gives up on a request by itself).
 * - `errors.read` / `errors.write`: wrk's own counters, for diagnosis. A `read` error can also
 *   be an idle connection the server closed before a request went out (possible only with
 *   `pauseMs`, or after the stop): that one is in `unanswered` only if a request was lost.
 * - `failed` = non-2xx + unanswered + connect errors + timeouts: 0 means every request the
 *   clients sent got a 2xx in time.
 * Latency percentiles are wrk's (its histogram, with its coordinated-omission correction).
 * `longestNoSuccess` is the longest stretch without any 2xx from the start of the load to the
 * stop (both ends count: a site dead at the end shows), in 1 ms steps across all threads.
 * `firstLines` counts the first body line of each 2xx response (which version answered;
 * `received bytes=N` for a POST to the app's /echo.php), cut at 120 characters.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnWrk } from './wrk-process.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'wrk.lua');

export interface WrkOptions {
  /** The proxy's listener, e.g. `http://127.0.0.1:8080` or `https://127.0.0.1:8443`. */
  url: string;
  /** Host header (the site's vhost). */
  host: string;
  /** Path of the GET requests; default `/`. */
  path?: string;
  /** Default 1. */
  threads?: number;
  /** Default 4; a multiple of `threads`. */
  connections?: number;
  /** Default true; false sends `Connection: close` (one request per connection). */
  keepAlive?: boolean;
  /** The load ends by itself after this long (stop() ends it earlier). */
  durationMs: number;
  /** Per request (wrk --timeout, whole seconds) and how long the stop waits for requests in flight. Default 10000. */
  timeoutMs?: number;
  /** Pause per connection between a response and its next request; default 0. */
  pauseMs?: number;
  /** Mix in POSTs: every `every`-th request of a thread is a POST of `bytes` (default 1024) to `path` (default /echo.php). */
  post?: { every: number; path?: string; bytes?: number };
  /** wrk is SIGKILLed this long after the start; default durationMs + 2 × timeoutMs + 30 s. */
  killAfterMs?: number;
}

export interface WrkResult {
  sent: number;
  responses: number;
  /** 2xx responses. */
  ok: number;
  /** Non-2xx responses by status. */
  byStatus: Record<string, number>;
  unanswered: number;
  errors: { connect: number; read: number; write: number; timeout: number };
  failed: number;
  /** Every connection was idle when wrk was stopped (false: `unanswered` includes requests still in flight). */
  drained: boolean;
  latencyMs: { p50: number; p99: number; max: number };
  /** `from`: when the stretch began, ms since the epoch. */
  longestNoSuccess: { ms: number; from: number };
  firstLines: Record<string, number>;
  /** When the load started and when it was told to stop, ms since the epoch. */
  startedAt: number;
  stoppedAt: number;
}

export interface RunningWrk {
  /**
   * Resolves once every thread has sent as many requests as it has connections: the load is
   * on (a stop before that may find nothing sent). Also resolves when wrk ended before that.
   */
  started: Promise<void>;
  /** Settles when the load has ended (by its duration or by stop()). */
  result: Promise<WrkResult>;
  /** Ends the load now (gracefully, as above); the same result. */
  stop(): Promise<WrkResult>;
}

/** A load for `durationMs`, start to result. */
export function runWrk(o: WrkOptions): Promise<WrkResult> {
  return startWrk(o).result;
}

export function startWrk(o: WrkOptions): RunningWrk {
  const threads = o.threads ?? 1;
  const connections = o.connections ?? 4;
  const timeoutMs = o.timeoutMs ?? 10_000;
  if (connections % threads !== 0) throw new Error(`wrk: connections (${connections}) must be a multiple of threads (${threads})`);
  const dir = mkdtempSync(join(tmpdir(), 'refit-wrk-'));
  const stopFile = join(dir, 'stop');
  const post = o.post ? { path: '/echo.php', bytes: 1024, ...o.post } : undefined;
  const backstopS = Math.ceil((o.durationMs + timeoutMs) / 1000) + 10;
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${backstopS}s`,
    '--timeout',
    `${Math.max(1, Math.ceil(timeoutMs / 1000))}s`,
    '-H',
    `Host: ${o.host}`,
    ...(o.keepAlive === false ? ['-H', 'Connection: close'] : []),
    '-s',
    SCRIPT,
    o.url,
    '--',
    stopFile,
    String(connections / threads),
    String(o.pauseMs ?? 0),
    o.path ?? '/',
    String(post?.every ?? 0),
    post?.path ?? '/',
    String(post?.bytes ?? 0),
  ];
  const wrk = spawnWrk(args, { tag: 'refit-wrk', threads, stopFile, dir, timeoutMs, killAfterMs: o.killAfterMs ?? o.durationMs + 2 * timeoutMs + 30_000, what: `load on ${o.host} at ${o.url}` });
  let ending: Promise<WrkResult> | undefined;
  let settle: (outcome: Promise<WrkResult>) => void = () => {};
  const result = new Promise<WrkResult>((resolve) => (settle = resolve));
  result.catch(() => {}); // whoever awaits it sees a failure; never an unhandled rejection
  const end = (): Promise<WrkResult> => {
    if (ending) return ending;
    clearTimeout(durationTimer);
    ending = wrk.stop().then(parseWrkOutput);
    settle(ending);
    return ending;
  };
  const durationTimer = setTimeout(() => void end(), o.durationMs);
  // wrk ending on its own (it could not connect at start, or was killed) ends the load.
  void wrk.exited.then(() => void end().catch(() => {}));
  return { started: wrk.started, result, stop: end };
}

/** Reads the `refit-wrk ...` lines wrk.lua's done() prints. */
export function parseWrkOutput(text: string): WrkResult {
  const lines = text.split('\n').filter((l) => l.startsWith('refit-wrk '));
  const fields = (prefix: string): Record<string, number> => {
    const line = lines.find((l) => l.startsWith(`refit-wrk ${prefix} `));
    if (!line) throw new Error(`wrk output has no "${prefix}" line (was wrk.lua used?):\n${text}`);
    return Object.fromEntries(line.slice(`refit-wrk ${prefix} `.length).split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)]));
  };
  const counts = fields('counts');
  const errors = fields('errors');
  const latency = fields('latency-us');
  const times = fields('times');
  const byStatus: Record<string, number> = {};
  const firstLines: Record<string, number> = {};
  for (const l of lines) {
    const status = /^refit-wrk status (\S+) (\d+)$/.exec(l);
    if (status) byStatus[status[1]!] = Number(status[2]);
    const first = /^refit-wrk line (\d+) (.*)$/.exec(l);
    if (first) firstLines[first[2]!] = Number(first[1]);
  }
  const sent = counts.sent!;
  const responses = counts.responses!;
  const non2xx = Object.values(byStatus).reduce((n, x) => n + x, 0);
  const unanswered = Math.max(0, sent - responses);
  const e = { connect: errors.connect!, read: errors.read!, write: errors.write!, timeout: errors.timeout! };
  return {
    sent,
    responses,
    ok: counts.ok!,
    byStatus,
    unanswered,
    errors: e,
    failed: non2xx + unanswered + e.connect + e.timeout,
    drained: counts.drainedThreads === counts.threads,
    latencyMs: { p50: latency.p50! / 1000, p99: latency.p99! / 1000, max: latency.max! / 1000 },
    longestNoSuccess: { ms: Math.round(times.gap!), from: times.gapFrom! },
    firstLines,
    startedAt: times.started!,
    stoppedAt: times.stopped!,
  };
}
