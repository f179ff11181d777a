/**
 * @module metrics/listen
 * Reads `metrics.listen` (`HOST:PORT`, `[::1]:PORT`) and refuses anything but loopback: the
 * metrics name every site on the host and carry no authentication, so they must not be
 * reachable from other machines. Scrape them through a local agent or an SSH tunnel. Pure.
 */
import { isIP } from 'node:net';
import { RefitError } from '../errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `listen` or explains in one line what is wrong with it. `port` 0 picks a free port. */
export function parseListen(listen: string): { ok: true; address: ListenAddress } | { ok: false; reason: string } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen.trim());
  if (!m) return { ok: false, reason: `"${listen}" is not HOST:PORT (e.g. 127.0.0.1:9977 or [::1]:9977)` };
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (port > 65535) return { ok: false, reason: `port ${port} in "${listen}" is above 65535` };
  if (!isLoopback(host)) return { ok: false, reason: `${host} is not a loopback address; metrics are served on 127.0.0.1, ::1 or localhost only` };
  return { ok: true, address: { host, port } };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** For callers that hold an unchecked value: a config error (exit 2) that names the key. */
export function listenAddress(listen: string): ListenAddress {
  const parsed = parseListen(listen);
  if (!parsed.ok) throw new RefitError('config', `metrics.listen: ${parsed.reason}`, 'set metrics.listen to e.g. 127.0.0.1:9977 in the host config');
  return parsed.address;
}
