/**
 * @module bench/zero-downtime/wrk
 * One site's external load: a `wrk` process (one thread, `Connection: close` so that every
 * socket error is a request that was in flight) running load.lua, stopped by SIGINT, and the
 * parse of what load.lua prints into a per-site account of every request.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'load.lua');

export interface WrkOptions {
  /** http://127.0.0.1:PORT/ of the proxy. */
  url: string;
  host: string;
  connections: number;
  /** Pause per connection between requests (keeps the rate steady on a small host). */
  delayMs: number;
  /** wrk's own bound; the bench stops it earlier with SIGINT. */
  maxSeconds: number;
  timeoutSeconds: number;
}

/** Wall-clock times (ms since the epoch) as load.lua saw them; -1 when there was none. */
export interface WrkTimes {
  started: number;
  firstOk: number;
  lastOk: number;
  maxGap: number;
  maxGapFrom: number;
}

export interface WrkAccount {
  /** Responses received (any status). */
  responses: number;
  ok: number;
  byStatus: Record<string, number>;
  /** Requests that got no response: refused connects, resets or closes mid-request, send errors, timeouts. */
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  latencyMs: { p50: number; p99: number; max: number };
  times: WrkTimes;
}

export interface RunningWrk {
  /** SIGINT (wrk prints its summary and runs done()), then the parsed account. */
  stop(): Promise<WrkAccount & { stoppedAt: number }>;
}

export function startWrk(o: WrkOptions): RunningWrk {
  const args = ['-t1', `-c${o.connections}`, `-d${o.maxSeconds}s`, `--timeout`, `${o.timeoutSeconds}s`, '-H', `Host: ${o.host}`, '-H', 'Connection: close', '-s', SCRIPT, o.url];
  const child = spawn('wrk', args, { env: { ...process.env, WRK_DELAY_MS: String(o.delayMs) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    async stop() {
      const stoppedAt = Date.now();
      if (child.exitCode === null) child.kill('SIGINT');
      const code = await exited;
      if (code !== 0) throw new Error(`wrk for ${o.host} exited with ${code}: ${err.trim() || out.trim()}`);
      return { ...parseWrkOutput(out), stoppedAt };
    },
  };
}

/** Reads the `refit-wrk ...` lines load.lua's done() prints. */
export function parseWrkOutput(text: string): WrkAccount {
  const lines = text.split('\n').filter((l) => l.startsWith('refit-wrk '));
  const fields = (prefix: string): Record<string, number> => {
    const line = lines.find((l) => l.startsWith(`refit-wrk ${prefix} `));
    if (!line) throw new Error(`wrk output has no "${prefix}" line (was load.lua used?):\n${text}`);
    return Object.fromEntries(line.slice(`refit-wrk ${prefix} `.length).split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)]));
  };
  const single = (prefix: string) => Number(lines.find((l) => l.startsWith(`refit-wrk ${prefix} `))?.split(' ')[2]);
  const errors = fields('errors');
  const lat = fields('latency-us');
  const times = fields('times');
  const byStatus: Record<string, number> = {};
  for (const l of lines.filter((x) => x.startsWith('refit-wrk status '))) {
    const [, , status, n] = l.split(' ');
    byStatus[status!] = Number(n);
  }
  return {
    responses: single('requests'),
    ok: single('ok'),
    byStatus,
    socketErrors: { connect: errors.connect!, read: errors.read!, write: errors.write!, timeout: errors.timeout! },
    latencyMs: { p50: lat.p50! / 1000, p99: lat.p99! / 1000, max: lat.max! / 1000 },
    times: { started: times.started!, firstOk: times.firstOk!, lastOk: times.lastOk!, maxGap: times.maxGap!, maxGapFrom: times.maxGapFrom! },
  };
}
