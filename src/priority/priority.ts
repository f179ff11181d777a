/**
 * @module priority/priority
 * refit's maintenance work at a lower CPU and I/O priority than the sites it serves and the
 * proxy in front of them. `run`, `recover` and `daemon` lower their whole process once, at
 * start (every thread: Linux keeps a nice value and an I/O priority per thread, and threads
 * made later inherit them from the one that makes them), so the tar extraction and merges it
 * does itself, and every child it starts (Compose, `git merge-file`, credential helpers),
 * run at that priority. The proxy processes refit starts are the exception: `atBasePriority`
 * starts them at the priority refit itself was started with, so a pass never starves the proxy.
 *
 * The I/O priority (best-effort, lowest level) takes effect where the disk's I/O scheduler
 * honours it (BFQ; mq-deadline and none ignore it); the nice value always does.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The best-effort class's lowest level (ionice -c 2 -n 7). */
const LOWEST_BEST_EFFORT = 7;

/** The nice value refit was started with, and what it lowered itself to; null until lowered. */
let lowered: { base: number; nice: number } | null = null;

/** The nice value to take: the configured one, never above the one refit was started with (lowering only). */
export function targetNice(base: number, configured: number): number {
  return Math.max(base, configured);
}

/**
 * `binary args` as a command that runs at refit's starting priority: unchanged while refit has
 * not lowered itself, else through `nice -n -N ionice -c 0` (class 0: the I/O priority follows
 * the nice value again, as for any process).
 */
export function commandAtBase(binary: string, args: readonly string[], state: { base: number; nice: number } | null = lowered): { file: string; args: string[] } {
  if (!state || state.nice === state.base) return { file: binary, args: [...args] };
  return { file: 'nice', args: ['-n', String(state.base - state.nice), 'ionice', '-c', '0', binary, ...args] };
}

/** `binary args` at refit's starting priority (see commandAtBase): for the proxy processes refit starts. */
export function atBasePriority(binary: string, args: readonly string[]): { file: string; args: string[] } {
  return commandAtBase(binary, args);
}

export interface Lowered {
  nice: number;
  /** Why the I/O priority could not be set (ionice missing or refused), or null. */
  ioProblem: string | null;
}

/**
 * Lowers this process (every thread) to `nice` (0–19; 0 changes nothing) and, with it, to the
 * lowest best-effort I/O priority. Once per process; a second call returns what the first did.
 */
export function lowerOwnPriority(nice: number): Lowered {
  if (lowered) return { nice: lowered.nice, ioProblem: null };
  const base = getPriority();
  const target = targetNice(base, nice);
  if (target === base) return { nice: base, ioProblem: null };
  const threads = threadIds();
  for (const tid of threads) {
    try {
      setPriority(tid, target);
    } catch {
      // The thread ended meanwhile.
    }
  }
  lowered = { base, nice: target };
  const io = spawnSync('ionice', ['-c', '2', '-n', String(LOWEST_BEST_EFFORT), '-p', ...threads.map(String)], { encoding: 'utf8', timeout: 10_000 });
  const ioProblem = io.error ? `ionice did not run: ${io.error.message}` : io.status !== 0 ? `ionice failed: ${io.stderr.trim()}` : null;
  return { nice: target, ioProblem };
}

function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number).filter(Number.isInteger);
  } catch {
    return [process.pid];
  }
}
