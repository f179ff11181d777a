/**
 * @module maintenance/testing/schedules
 * Model-based fault testing: one maintenance of one site (or a pass over several sites, their
 * maintenances at once where the pass lets them run together), then recovers until every one is
 * closed, each "process" of refit running under a seeded random schedule of faults. Around every command of
 * the world (before its effect, and after it) a process may fail that command or be killed
 * there, and every journal write may be its last. A killed process runs nothing more; the next
 * process recovers. The first `faultyProcesses` are faulty, the rest are not, so a correct refit
 * must always close the maintenance. After every command the target's invariants are checked
 * against the world and the journal; once closed, the site must be whole.
 *
 * The same driver runs on the fake world (thousands of schedules, unit) and on the real host
 * (a few, host tests), given a target that says how to watch its commands and what to check.
 */
import type { Journal } from '../../journal/journal.js';
import type { MaintenanceLog } from '../../journal/types.js';
import type { Site } from '../../site/discover.js';
import { maintainContainer, recoverUnfinished, type Candidate, type MaintainOptions, type PipelineDeps } from '../pipeline.js';
import { claimOf, inPool } from '../schedule.js';
import type { World } from '../world.js';

/** Throws out of a killed process; nothing of it runs after. */
export class Killed extends Error {}

export type Problems = string[] | Promise<string[]>;
export type CommandWatch = (command: string, when: 'before' | 'after') => void | Promise<void>;

/** A site a schedule maintains, and its update. */
export interface Maintained {
  site: Site;
  proxySiteId: string;
  candidate: Candidate;
  /** A revert's (the maintenance process 1 runs). */
  options?: MaintainOptions;
}

export interface ScheduleTarget extends Maintained {
  world: World;
  journal: Journal;
  /** More sites the first process maintains in the same pass, `concurrency` at a time where their claims allow (pass.ts). */
  alsoMaintained?: Maintained[];
  concurrency?: number;
  stateDir: string;
  /** Calls `watch` around every command of the world from now on (null: stop). */
  watch(watch: CommandWatch | null): void;
  /** A killed process's successor takes over. */
  nextProcess(): void;
  /** What breaks an invariant now; `log` is the maintenance as the journal has it (null before it begins), `all` every site's, the first's first. */
  broken(log: MaintenanceLog | null, all: (MaintenanceLog | null)[]): Problems;
  /** What keeps the sites from being whole as their closed maintenances say (null: a site whose maintenance never began, as its pass was killed first). */
  notWholeAsClosed(log: MaintenanceLog, all: (MaintenanceLog | null)[]): Problems;
  /** Something from outside that may happen between two commands (a customer edit), once per schedule. */
  meanwhile?(): void;
}

export interface ScheduleOptions {
  /** Chance that a command (before or after its effect) fails, in a faulty process. */
  failRate: number;
  /** Chance that a process is killed at a command or right after a journal write. */
  killRate: number;
  /** Processes 1..faultyProcesses are faulty; those after are not. */
  faultyProcesses: number;
  /** The first process's first this many commands and journal writes are fault-free (so that faults also come late in a run). */
  quietEvents?: number;
  /** Check the invariants after every command (the real host checks fewer: each costs requests). */
  checkEveryCommand?: boolean;
  undoRetry?: PipelineDeps['undoRetry'];
}

export interface Fault {
  kind: 'kill' | 'fail';
  /** `before|after COMMAND`, or `after journal WRITE STEP`. */
  at: string;
  process: number;
  /** The maintenance's last journal entry when it happened (`shadow undo-begin`: inside an undo). */
  during: string;
}

export interface ScheduleResult {
  /** How the maintenance was closed, or `in-progress` if it never was. */
  status: string;
  processes: number;
  /** The faults that happened, in order: what, where, in which process, and the journal's last entry then. */
  faults: Fault[];
  problems: string[];
}

/** A small seeded PRNG (mulberry32): the same seed replays the same schedule. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The writes of a maintenance a kill may follow; other writes (runs, the maintenance's start) only count. */
const JOURNAL_WRITES = new Set(['stepBegin', 'stepDone', 'stepFailed', 'undoBegin', 'undoDone', 'finishMaintenance']);
const READS = new Set(['unfinished', 'history', 'lastRuns', 'file', 'maintenance', 'revertsOf', 'watch', 'watchesIn', 'recentWatches', 'holds']);

export async function runSchedule(target: ScheduleTarget, rand: () => number, o: ScheduleOptions): Promise<ScheduleResult> {
  const faults: Fault[] = [];
  const problems: string[] = [];
  const maxProcesses = o.faultyProcesses + 3;
  const maintained: Maintained[] = [target, ...(target.alsoMaintained ?? [])];
  // The journal is read after every command, so the maintenances are read again only after a write.
  let writes = 0;
  let cached: { writes: number; logs: (MaintenanceLog | null)[] } | null = null;
  const logsOf = (): (MaintenanceLog | null)[] => {
    if (cached?.writes !== writes) cached = { writes, logs: maintained.map((m) => target.journal.history({ container: m.site.name, limit: 1 })[0] ?? null) };
    return cached.logs;
  };
  const logOf = (): MaintenanceLog | null => logsOf()[0]!;
  // The outside event happens once, at a random command of the first process.
  let meanwhileIn = target.meanwhile ? Math.floor(rand() * 200) : -1;

  let processNo = 0;
  let result: ScheduleResult | null = null;
  while (!result) {
    processNo++;
    let quiet = processNo === 1 ? (o.quietEvents ?? 0) : 0;
    const faulty = () => processNo <= o.faultyProcesses && quiet-- <= 0;
    let dead = false;
    const where = (what: string) => `process ${processNo}, ${what}`;
    const stop = (found: string[], what: string) => {
      if (!found.length || problems.length) return;
      problems.push(...found.map((p) => `${where(what)}: ${p}`));
      dead = true; // stop this process: its world is already wrong
      throw new Killed('invariant broken');
    };
    const fault = (kind: Fault['kind'], at: string) => {
      const last = logOf()?.steps.at(-1);
      faults.push({ kind, at, process: processNo, during: last ? `${last.step} ${last.phase}` : 'before the first step' });
    };
    const decide = (what: string) => {
      if (!faulty()) return;
      const r = rand();
      if (r < o.killRate) {
        fault('kill', what);
        dead = true;
        throw new Killed(what);
      }
      if (r < o.killRate + o.failRate) {
        fault('fail', what);
        throw new Error(`injected failure ${what}`);
      }
    };
    target.watch((command, when) => {
      if (dead) throw new Killed('dead');
      if (when === 'before' && meanwhileIn-- === 0) target.meanwhile?.();
      if (when === 'after' && o.checkEveryCommand !== false) {
        const found = target.broken(logOf(), logsOf());
        if (found instanceof Promise) {
          return found.then((f) => {
            stop(f, `after ${command}`);
            decide(`${when} ${command}`);
          });
        }
        stop(found, `after ${command}`);
      }
      decide(`${when} ${command}`);
    });
    const journal = new Proxy(target.journal, {
      get(real, prop, receiver) {
        const value = Reflect.get(real, prop, receiver);
        if (typeof value !== 'function' || READS.has(String(prop))) return value;
        if (!JOURNAL_WRITES.has(String(prop))) {
          return (...args: unknown[]) => {
            writes++;
            return value.apply(real, args);
          };
        }
        return (...args: unknown[]) => {
          if (dead) throw new Killed('dead');
          writes++;
          const written = value.apply(real, args);
          if (prop !== 'finishMaintenance' && faulty() && rand() < o.killRate) {
            fault('kill', `after journal ${String(prop)} ${String(args[1])}`);
            dead = true;
            throw new Killed('killed after a journal write');
          }
          return written;
        };
      },
    });
    const deps: PipelineDeps = { world: target.world, journal, stateDir: target.stateDir, keepBackups: 3, undoRetry: o.undoRetry ?? { attempts: 3, delayMs: 0 } };
    const threw = (err: unknown) => {
      if (!(err instanceof Killed)) problems.push(`${where('threw')}: ${(err as Error).stack ?? err}`);
    };
    try {
      if (processNo === 1) {
        const runId = target.journal.beginRun('run');
        // As a pass runs them; every maintenance of a killed process ends (at its next command) before the next process starts.
        await inPool(maintained, target.concurrency ?? 1, (m) => claimOf(m.site, m.candidate), async (m) => {
          if (!dead) await maintainContainer(deps, runId, m.site, m.proxySiteId, m.candidate, m.options).catch(threw);
        });
      } else await recoverUnfinished(deps);
    } catch (err) {
      threw(err);
    }
    target.watch(null);
    const logs = logsOf();
    const log = logs[0]!;
    const closed = log !== null && logs.every((l) => l?.status !== 'in-progress');
    if (problems.length) result = { status: log?.status ?? 'none', processes: processNo, faults, problems };
    else if (closed) {
      const found = await target.notWholeAsClosed(log, logs);
      const statuses = logs.map((l) => l?.status ?? 'not begun').join(',');
      problems.push(...found.map((p) => `closed ${statuses} by process ${processNo}: ${p}`));
      for (const l of logs) if (l && !['updated', 'rolled-back', 'skipped'].includes(l.status)) problems.push(`${l.container} closed as ${l.status}: ${l.reason}`);
      result = { status: statuses, processes: processNo, faults, problems };
    } else if (processNo >= maxProcesses) {
      const open = logs.find((l) => l?.status === 'in-progress') ?? log;
      problems.push(`still unfinished after ${processNo} processes, the last ${processNo - o.faultyProcesses} without faults: ${open?.container} ${open?.steps.at(-1)?.step} ${open?.steps.at(-1)?.phase} ${open?.steps.at(-1)?.error ?? ''}`);
      result = { status: 'in-progress', processes: processNo, faults, problems };
    } else {
      target.nextProcess();
      meanwhileIn = -1;
    }
  }
  return result;
}

/**
 * A world whose every call (the proxy's too) is a command for the schedule: the real host's
 * commands are its World calls, watched before and after.
 */
export function watchedWorld(world: World): { world: World; watch(watch: CommandWatch | null): void } {
  let watching: CommandWatch | null = null;
  const wrap = <T extends object>(obj: T, prefix: string): T =>
    new Proxy(obj, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'proxy' && prefix === '') return wrap(value as object, 'proxy.');
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const about = args.find((a): a is string => typeof a === 'string') ?? (args[1] as { name?: string } | undefined)?.name ?? '';
          const command = `${prefix}${String(prop)} ${about}`.trim();
          await watching?.(command, 'before');
          const result: unknown = await value.apply(target, args);
          await watching?.(command, 'after');
          return result;
        };
      },
    });
  return {
    world: wrap(world, ''),
    watch: (w) => {
      watching = w;
    },
  };
}
