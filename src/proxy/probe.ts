/**
 * @module proxy/probe
 * How refit's own probes reach the proxy's public listeners (see health/public.ts). The probe
 * token is the secret that marks a request as refit's: the proxy pins such a request to the
 * server refit names and says which server answered. Made once per run dir, readable by root
 * only; the proxy config that carries it is root-only too.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export function probeToken(runDir: string): string {
  const file = join(runDir, 'probe.token');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('hex');
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${token}\n`);
    } finally {
      closeSync(fd);
    }
    return token;
  } catch (err) {
    // Another refit made it at the same moment: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
}

/** The address refit's probes use to reach a listener bound to `bind`. */
export function probeAddress(bind: string): string {
  if (bind === '0.0.0.0') return '127.0.0.1';
  if (bind === '::' || bind === '[::]') return '::1';
  return bind.replace(/^\[|\]$/g, '');
}
