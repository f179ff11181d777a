/**
 * @module priority/priority
 * refit's heavy work at a lower CPU and I/O priority than the sites it serves and the proxy in
 * front of them. The children that do most of a pass's work (the Compose CLI, `git
 * merge-file`, the proxies' config checks) start through `nice -n N ionice -c 2 -n 7`. refit's own process keeps the
 * priority it was started with: it times health checks, watches drains and supervises the
 * proxy, and at a lower nice value on a saturated host those answers come late (a check that
 * times out rolls an update back; a killed proxy is restarted late). The proxies it starts
 * therefore run at refit's own priority too.
 *
 * The I/O priority (best-effort, lowest level) takes effect where the disk's I/O scheduler
 * honours it (BFQ; mq-deadline and none ignore it); the nice value always does.
 */
import { spawnSync } from 'node:child_process';
import { getPriority } from 'node:os';

/** The best-effort class's lowest level (ionice -c 2 -n 7). */
const LOWEST_BEST_EFFORT = 7;

/** How much lower than refit the heavy children run. */
export interface WorkPriority {
  /** Added to refit's nice value (> 0). */
  niceBy: number;
  /** Whether `ionice` is there to lower their I/O too. */
  io: boolean;
}

/** Set once by `lowerWork`; null: children run as refit does. */
let work: WorkPriority | null = null;

/** The nice value the heavy children take: the configured one, never above the one refit runs at (lowering only). */
export function targetNice(base: number, configured: number): number {
  return Math.max(base, configured);
}

/** `binary args` as a command that runs at the work priority (unchanged when there is none). */
export function commandAtWorkPriority(binary: string, args: readonly string[], priority: WorkPriority | null = work): { file: string; args: string[] } {
  if (!priority) return { file: binary, args: [...args] };
  const io = priority.io ? ['ionice', '-c', '2', '-n', String(LOWEST_BEST_EFFORT)] : [];
  return { file: 'nice', args: ['-n', String(priority.niceBy), ...io, binary, ...args] };
}

/**
 * Why a command started through `commandAtWorkPriority` did not run at all (nice or ionice could
 * not start it: exit 126 or 127 with their own message), or null when the command itself ran.
 * Needed where a command's own exit code can be 127 (git merge-file counts conflicts in it).
 */
export function notStarted(status: number | null, stderr: string): string | null {
  if (status !== 126 && status !== 127) return null;
  const line = stderr.trimStart().split('\n')[0] ?? '';
  return /^(nice|ionice): /.test(line) ? line : null;
}

export interface Lowered {
  /** The nice value the heavy children run at. */
  nice: number;
  /** Why their I/O priority stays as it is (ionice missing or refused), or null. */
  ioProblem: string | null;
}

/**
 * From now on, the heavy children of this process run at `nice` (0–19; never above refit's
 * own) and the lowest best-effort I/O level. Once per process; a second call returns what the
 * first did.
 */
export function lowerWork(nice: number): Lowered {
  const base = getPriority();
  if (work) return { nice: base + work.niceBy, ioProblem: null };
  const target = targetNice(base, nice);
  if (target === base) return { nice: base, ioProblem: null };
  const probe = spawnSync('ionice', ['-c', '2', '-n', String(LOWEST_BEST_EFFORT), 'true'], { encoding: 'utf8', timeout: 10_000 });
  const ioProblem = probe.error ? `ionice did not run: ${probe.error.message}` : probe.status !== 0 ? `ionice failed: ${probe.stderr.trim()}` : null;
  work = { niceBy: target - base, io: ioProblem === null };
  return { nice: target, ioProblem };
}
