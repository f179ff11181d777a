/**
 * @module proxy/nginx/access-log
 * nginx keeps no counters per server, so the router writes a log of each site refit observes
 * (the watch after an update): one line per request, every server nginx tried for it and that
 * server's answer (`$upstream_addr|$upstream_status`). Counted per server here (pure); nginx.ts
 * reads the file as it grows.
 */

/** The router's `log_format` of an observed site. */
export const WATCH_LOG_FORMAT = '$upstream_addr|$upstream_status';

export interface LogTally {
  responses: number;
  errors: number;
}

/** Between the servers of one request: `, ` (the next server tried) and ` : ` (an internal redirect). */
const ATTEMPTS = /, | : /;

/**
 * Adds every complete line of `text` to `into` (by server address); returns the incomplete
 * last line, which the next read continues. A request nginx answered itself (no server) counts
 * for nobody; so does an attempt without a status (the server never answered).
 */
export function countLog(text: string, into: Map<string, LogTally>): string {
  const lines = text.split('\n');
  const rest = lines.pop()!;
  for (const line of lines) {
    const bar = line.indexOf('|');
    if (bar < 0) continue;
    const addrs = line.slice(0, bar).split(ATTEMPTS);
    const statuses = line.slice(bar + 1).split(ATTEMPTS);
    addrs.forEach((addr, i) => {
      const status = Number(statuses[i]);
      if (addr === '-' || !Number.isInteger(status) || status < 100) return;
      const t = into.get(addr) ?? { responses: 0, errors: 0 };
      t.responses++;
      if (status >= 500) t.errors++;
      into.set(addr, t);
    });
  }
  return rest;
}
