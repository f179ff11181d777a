/**
 * @module maintenance/faults
 * Fault injection for refit's own crash and rollback tests, from $REFIT_FAULT:
 *   kill:STEP:begin|done  SIGKILL refit right after that journal entry is written
 *   fail:STEP             make STEP fail right after its side effect succeeded
 * Unset in production; an unknown value is a usage error so a typo never passes silently.
 */
import { RefitError } from '../errors.js';
import { MAINTENANCE_STEPS } from '../journal/steps.js';
import type { Step } from './runner.js';

export type Fault = { kind: 'kill'; step: string; phase: 'begin' | 'done' } | { kind: 'fail'; step: string };

export function faultFrom(value: string | undefined): Fault | null {
  if (!value) return null;
  const [kind, step, phase] = value.split(':');
  const known = (MAINTENANCE_STEPS as readonly string[]).includes(step ?? '');
  if (kind === 'kill' && known && (phase === 'begin' || phase === 'done')) return { kind, step: step!, phase };
  if (kind === 'fail' && known && phase === undefined) return { kind, step: step! };
  throw new RefitError('usage', `REFIT_FAULT=${JSON.stringify(value)} is not kill:STEP:begin|done or fail:STEP`, 'unset REFIT_FAULT: it is for refit\'s own tests');
}

/** Called after each journal write. */
export function killIfDue(fault: Fault | null, step: string, phase: 'begin' | 'done'): void {
  if (fault?.kind === 'kill' && fault.step === step && fault.phase === phase) process.kill(process.pid, 'SIGKILL');
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
