/**
 * @module proxy/nginx/reload
 * A graceful reload of an nginx master (refit's own tiers and the operator's nginx alike).
 */
import { kill } from 'node:process';
import { RefitError } from '../../errors.js';
import { childPids, commandLine, processAlive, waitFor } from '../process.js';

const RELOAD_TIMEOUT_MS = 10_000;

/**
 * SIGHUP, then done when new workers run and every old one has stopped accepting (exited, or
 * retitled "shutting down"). Returns the old workers: they finish their in-flight requests and exit.
 */
export async function gracefulReload(pid: number, what: string, hint: string): Promise<number[]> {
  const old = childPids(pid);
  kill(pid, 'SIGHUP');
  const switched = await waitFor(() => {
    const fresh = childPids(pid).some((p) => !old.includes(p));
    return fresh && old.every((p) => !processAlive(p) || /shutting down/.test(commandLine(p))) ? true : undefined;
  }, RELOAD_TIMEOUT_MS, 20);
  if (!switched) throw new RefitError('proxy', `${what} (master ${pid}) did not switch to new workers after a reload`, hint);
  return old;
}
