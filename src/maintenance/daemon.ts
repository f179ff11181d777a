/**
 * @module maintenance/daemon
 * `refit daemon`: sleeps until the maintenance window opens, runs one pass in it (no
 * container starts after the window closes), sleeps until the next. SIGTERM/SIGINT stop it
 * between containers: the container being maintained is finished or rolled back first.
 */
import type { PassReport } from './report.js';
import { isOpen, windowAt, type Schedule, type Window } from './window.js';

export interface DaemonDeps {
  schedule: Schedule;
  now(): Date;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** One pass; `stopReason` is asked before each container. A pass that could not run (another refit holds the host) throws. */
  pass(stopReason: () => string | null): Promise<PassReport>;
  /** A pass that threw: it is tried again after `retryMs` while the window is open. */
  onPassError?(err: unknown): void;
  retryMs?: number;
  /** Called when a window opens and after each pass (logs, notifications, metrics). */
  onWindow?(w: Window): void;
  onPass?(report: PassReport): Promise<void> | void;
}

/** Runs until `stop` aborts; resolves with the number of passes run. */
export async function runDaemon(deps: DaemonDeps, stop: AbortSignal): Promise<number> {
  let passes = 0;
  while (!stop.aborted) {
    const w = windowAt(deps.schedule, deps.now());
    const wait = w.start.getTime() - deps.now().getTime();
    if (wait > 0) await deps.sleep(wait, stop);
    if (stop.aborted) break;
    if (!isOpen(w, deps.now())) continue; // woke late, after the window: wait for the next one
    deps.onWindow?.(w);
    let report: PassReport;
    try {
      report = await deps.pass(() => (stop.aborted ? 'refit is stopping' : isOpen(w, deps.now()) ? null : 'the maintenance window closed'));
    } catch (err) {
      deps.onPassError?.(err);
      await deps.sleep(deps.retryMs ?? 60_000, stop);
      continue;
    }
    passes++;
    await deps.onPass?.(report);
    // One pass per window: sleep out the rest of it.
    const rest = w.end.getTime() - deps.now().getTime();
    if (rest > 0 && !stop.aborted) await deps.sleep(rest, stop);
  }
  return passes;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    // Node timers overflow past 2^31-1 ms (~24.8 days): wake up and re-plan before that.
    const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
