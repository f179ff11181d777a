/**
 * @module maintenance/faults
 * Fault injection for refit's own crash and rollback tests, from $REFIT_FAULT:
 *   kill:STEP:begin|done  SIGKILL refit right after that journal entry is written
 *   hold:STEP:begin|done  stop right after that journal entry until the file named by
 *                         $REFIT_FAULT_RELEASE exists (a test looks at a live pass at that exact point)
 *   fail:STEP             make STEP fail right after its side effect succeeded
 * Unset in production; an unknown value is a usage error so a typo never passes silently.
 */
import { existsSync } from 'node:fs';
import { RefitError } from '../errors.js';
import { MAINTENANCE_STEPS } from '../journal/steps.js';
import type { Step } from './runner.js';

export type Fault = { kind: 'kill' | 'hold'; step: string; phase: 'begin' | 'done'; release?: string } | { kind: 'fail'; step: string };

/** A hold never outlasts this: a test that forgot to release must not leave refit stuck. */
const HOLD_LIMIT_MS = 300_000;

export function faultFrom(value: string | undefined, release = process.env.REFIT_FAULT_RELEASE): Fault | null {
  if (!value) return null;
  const [kind, step, phase] = value.split(':');
  const known = (MAINTENANCE_STEPS as readonly string[]).includes(step ?? '');
  if (kind === 'kill' && known && (phase === 'begin' || phase === 'done')) return { kind, step: step!, phase };
  if (kind === 'hold' && known && (phase === 'begin' || phase === 'done') && release) return { kind, step: step!, phase, release };
  if (kind === 'fail' && known && phase === undefined) return { kind, step: step! };
  throw new RefitError('usage', `REFIT_FAULT=${JSON.stringify(value)} is not kill:STEP:begin|done, hold:STEP:begin|done (with REFIT_FAULT_RELEASE) or fail:STEP`, 'unset REFIT_FAULT: it is for refit\'s own tests');
}

/** Called after each journal write: kills refit, or holds it until the release file exists. */
export function faultAfterEntry(fault: Fault | null, step: string, phase: 'begin' | 'done'): void {
  if (fault?.kind === 'fail' || fault?.step !== step || fault.phase !== phase) return;
  if (fault.kind === 'kill') process.kill(process.pid, 'SIGKILL');
  // Blocking on purpose: nothing of this refit may move on while a test looks at it.
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + HOLD_LIMIT_MS;
  while (!existsSync(fault.release!) && Date.now() < deadline) Atomics.wait(tick, 0, 0, 20);
}

export function withFailure<C>(fault: Fault | null, steps: readonly Step<C>[]): readonly Step<C>[] {
  if (fault?.kind !== 'fail') return steps;
  return steps.map((s) =>
    s.name !== fault.step
      ? s
      : {
          ...s,
          run: async (ctx: C) => {
            await s.run(ctx);
            throw new RefitError('internal', `injected failure after ${s.name} (REFIT_FAULT)`);
          },
        },
  );
}
