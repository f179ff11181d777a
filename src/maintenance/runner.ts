/**
 * @module maintenance/runner
 * Runs a container's maintenance as a sequence of journaled, undoable steps: each step is
 * journaled `begin` before its side effect and `done` (with the record its undo needs) after.
 * When a step fails, the finished steps and the failed one are undone in reverse, each undo
 * journaled too. Steps past the point of no return are finished instead of undone.
 */
import { oneLine } from '../errors.js';

export interface Step<C, R = unknown> {
  readonly name: string;
  /** Once this step is done the update stands: a later failure is finished, not undone. */
  readonly pointOfNoReturn?: boolean;
  run(ctx: C): Promise<R>;
  /**
   * Idempotent. `record` is what run returned, or undefined when run did not finish (it
   * failed, or refit crashed in the middle of it): undo must then work from the context alone.
   */
  undo(ctx: C, record: R | undefined): Promise<void>;
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
  | { result: 'rolled-back'; failedStep: string; reason: string; timings: StepTiming[]; records: Record<string, unknown> }
  /**
   * committed: a step after the point of no return failed; the update stands and the remaining
   * steps must be finished (by `refit recover`). Otherwise undo itself failed: an operator must look.
   */
  | { result: 'failed'; committed: boolean; failedStep: string; reason: string; timings: StepTiming[]; records: Record<string, unknown> };

export interface Finished<C> {
  step: Step<C>;
  record: unknown;
}

const now = () => performance.now();

export async function runSteps<C>(steps: readonly Step<C>[], ctx: C, rec: StepRecorder, already: Finished<C>[] = []): Promise<RunOutcome> {
  const timings: StepTiming[] = [];
  const records: Record<string, unknown> = {};
  const finished: Finished<C>[] = [...already];
  for (const f of already) records[f.step.name] = f.record;
  const startIndex = already.length ? steps.findIndex((s) => s.name === already[already.length - 1]!.step.name) + 1 : 0;

  for (const step of steps.slice(startIndex)) {
    rec.begin(step.name);
    const t0 = now();
    try {
      const record = await step.run(ctx);
      const ms = now() - t0;
      rec.done(step.name, record ?? null, ms);
      timings.push({ step: step.name, ms, outcome: 'done' });
      records[step.name] = record;
      finished.push({ step, record });
    } catch (err) {
      const ms = now() - t0;
      const reason = `${step.name}: ${oneLine(err)}`;
      rec.failed(step.name, oneLine(err), ms);
      timings.push({ step: step.name, ms, outcome: 'failed', error: oneLine(err) });
      if (finished.some((f) => f.step.pointOfNoReturn)) {
        // The update already stands; a cleanup step failed. Report it, undo nothing.
        return { result: 'failed', committed: true, failedStep: step.name, reason, timings, records };
      }
      const undo = await undoSteps([...finished, { step, record: undefined }], ctx, rec, timings);
      return undo.ok
        ? { result: 'rolled-back', failedStep: step.name, reason, timings, records }
        : { result: 'failed', committed: false, failedStep: step.name, reason: `${reason}; rollback failed at ${undo.failedAt}: ${undo.error}`, timings, records };
    }
  }
  return { result: 'done', timings, records };
}

/** Undoes `finished` in reverse order. Stops at the first undo that fails: later ones may depend on it. */
export async function undoSteps<C>(
  finished: Finished<C>[],
  ctx: C,
  rec: StepRecorder,
  timings: StepTiming[] = [],
): Promise<{ ok: true } | { ok: false; failedAt: string; error: string }> {
  for (const { step, record } of [...finished].reverse()) {
    rec.undoBegin(step.name);
    const t0 = now();
    try {
      await step.undo(ctx, record as never);
      const ms = now() - t0;
      rec.undone(step.name, ms);
      timings.push({ step: step.name, ms, outcome: 'undone' });
    } catch (err) {
      rec.undoFailed(step.name, oneLine(err));
      timings.push({ step: step.name, ms: now() - t0, outcome: 'undo-failed', error: oneLine(err) });
      return { ok: false, failedAt: step.name, error: oneLine(err) };
    }
  }
  return { ok: true };
}
