/**
 * @module maintenance/runner
 * Runs a container's maintenance as a sequence of journaled, undoable steps: each step is
 * journaled `begin` before its side effect and `done` (with its record) after. When a step
 * fails before the commit point, the finished steps and the failed one are undone in reverse,
 * each undo journaled too and retried a few times before it is given up. Once the commit step
 * is done, nothing is ever undone: a failure leaves the maintenance unfinished, and the next
 * recover finishes it forward. A rollback that could not finish is left unfinished the same
 * way, for the next recover to continue.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { oneLine } from '../errors.js';

export interface Step<C, R = unknown> {
  readonly name: string;
  /** The commit point: once this step is done the update stands and nothing is undone, whatever fails later. */
  readonly commit?: boolean;
  run(ctx: C): Promise<R>;
  /**
   * Idempotent, and works from the context alone (the plan and the state of the world): it also
   * runs after a crash in the middle of `run`. Absent when there is nothing to undo (the step
   * changed nothing outside the scratch dir, or it comes after the commit point).
   */
  undo?(ctx: C): Promise<void>;
}

/**
 * Thrown by a step that finds the maintenance has nothing to do (e.g. the pull brought the
 * image the container already runs): what was done is undone and the outcome is `nothing-to-do`.
 */
export class NothingToDo extends Error {
  override readonly name = 'NothingToDo';
}

/** Where each step's progress goes (the journal, plus progress and metrics). */
export interface StepRecorder {
  begin(step: string): void;
  done(step: string, record: unknown, ms: number): void;
  failed(step: string, error: string, ms: number): void;
  undoBegin(step: string): void;
  undone(step: string, ms: number): void;
  undoFailed(step: string, error: string): void;
}

export interface StepTiming {
  step: string;
  ms: number;
  outcome: 'done' | 'failed' | 'undone' | 'undo-failed';
  error?: string;
}

export type RunOutcome =
  | { result: 'done'; timings: StepTiming[]; records: Record<string, unknown> }
  | { result: 'nothing-to-do'; step: string; reason: string; timings: StepTiming[]; records: Record<string, unknown> }
  | { result: 'rolled-back'; failedStep: string; reason: string; timings: StepTiming[]; records: Record<string, unknown> }
  /**
   * The maintenance stays open for the next recover. committed: a step after the commit point
   * failed; the update stands and recover finishes it. Otherwise an undo kept failing and
   * recover continues the rollback.
   */
  | { result: 'unfinished'; committed: boolean; failedStep: string; reason: string; timings: StepTiming[]; records: Record<string, unknown> };

export interface UndoRetry {
  /** Tries per undo, counting the first. */
  attempts: number;
  /** Wait before each further try. */
  delayMs: number;
}

export interface RunOptions {
  /** Steps a previous process finished, with their records: not run again. A done commit step means nothing is undone. */
  done?: ReadonlyMap<string, unknown>;
  undoRetry?: UndoRetry;
}

export const DEFAULT_UNDO_RETRY: UndoRetry = { attempts: 3, delayMs: 2000 };

const now = () => performance.now();

export async function runSteps<C>(steps: readonly Step<C>[], ctx: C, rec: StepRecorder, opts: RunOptions = {}): Promise<RunOutcome> {
  const timings: StepTiming[] = [];
  const records: Record<string, unknown> = {};
  const finished: Step<C>[] = [];

  for (const step of steps) {
    if (opts.done?.has(step.name)) {
      records[step.name] = opts.done.get(step.name);
      finished.push(step);
      continue;
    }
    rec.begin(step.name);
    const t0 = now();
    try {
      const record = await step.run(ctx);
      const ms = now() - t0;
      rec.done(step.name, record ?? null, ms);
      timings.push({ step: step.name, ms, outcome: 'done' });
      records[step.name] = record;
      finished.push(step);
    } catch (err) {
      const ms = now() - t0;
      const reason = `${step.name}: ${oneLine(err)}`;
      if (err instanceof NothingToDo) {
        rec.done(step.name, { nothingToDo: err.message }, ms);
        timings.push({ step: step.name, ms, outcome: 'done' });
      } else {
        rec.failed(step.name, oneLine(err), ms);
        timings.push({ step: step.name, ms, outcome: 'failed', error: oneLine(err) });
      }
      if (finished.some((f) => f.commit)) {
        // The update already stands; a step after it failed. Undo nothing: recover finishes it.
        return { result: 'unfinished', committed: true, failedStep: step.name, reason, timings, records };
      }
      const undo = await undoSteps([...finished, step], ctx, rec, opts.undoRetry, timings);
      if (!undo.ok) return { result: 'unfinished', committed: false, failedStep: step.name, reason: `${reason}; rollback did not finish: ${undo.failedAt}: ${undo.error}`, timings, records };
      if (err instanceof NothingToDo) return { result: 'nothing-to-do', step: step.name, reason: err.message, timings, records };
      return { result: 'rolled-back', failedStep: step.name, reason, timings, records };
    }
  }
  return { result: 'done', timings, records };
}

/**
 * Undoes `ran` (in the order they ran) last first. A failing undo is tried again, up to
 * `retry.attempts` times; if it still fails, undoing stops there: the undos before it may
 * depend on it (the shadow leaves the proxy only once the original is back).
 */
export async function undoSteps<C>(
  ran: readonly Step<C>[],
  ctx: C,
  rec: StepRecorder,
  retry: UndoRetry = DEFAULT_UNDO_RETRY,
  timings: StepTiming[] = [],
): Promise<{ ok: true } | { ok: false; failedAt: string; error: string }> {
  for (const step of [...ran].reverse()) {
    rec.undoBegin(step.name);
    const t0 = now();
    let error: string | null = null;
    for (let attempt = 1; attempt <= retry.attempts; attempt++) {
      try {
        await step.undo?.(ctx);
        error = null;
        break;
      } catch (err) {
        error = retry.attempts > 1 ? `${oneLine(err)} (tried ${attempt} time${attempt === 1 ? '' : 's'})` : oneLine(err);
        if (attempt < retry.attempts) await sleep(retry.delayMs);
      }
    }
    if (error !== null) {
      rec.undoFailed(step.name, error);
      timings.push({ step: step.name, ms: now() - t0, outcome: 'undo-failed', error });
      return { ok: false, failedAt: step.name, error };
    }
    const ms = now() - t0;
    rec.undone(step.name, ms);
    timings.push({ step: step.name, ms, outcome: 'undone' });
  }
  return { ok: true };
}
