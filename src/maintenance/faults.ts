/**
 * @module maintenance/faults
 * Fault injection for refit's own crash and rollback tests, from $REFIT_FAULT: one fault, or
 * several separated by commas:
 *   kill:STEP:begin|done|undo  SIGKILL refit right after that journal entry is written
 *                              (`undo`: the undo-begin entry of STEP)
 *   hold:STEP:begin|done|undo  stop right after that journal entry until the file named by
 *                              $REFIT_FAULT_RELEASE exists (a test looks at a live pass at that exact point)
 *   fail:STEP                  make STEP fail right after its side effect succeeded
 * Each may end in `:update` or `:revert` to hit only that kind of maintenance (updates and
 * reverts share most step names); without it, it hits both.
 * Unset in production; an unknown value is a usage error so a typo never passes silently.
 */
import { existsSync } from 'node:fs';
import { RefitError } from '../errors.js';
import type { MaintenanceKind } from '../journal/types.js';
import type { Step } from './runner.js';
import { REVERT_ORDER, STEP_ORDER } from './steps.js';

export type EntryPhase = 'begin' | 'done' | 'undo';
/** `maintenance`: only maintenances of this kind (absent: any). */
export type Fault = ({ kind: 'kill' | 'hold'; step: string; phase: EntryPhase; release?: string } | { kind: 'fail'; step: string }) & { maintenance?: MaintenanceKind };

/** A hold never outlasts this: a test that forgot to release must not leave refit stuck. */
const HOLD_LIMIT_MS = 300_000;
const PHASES: readonly string[] = ['begin', 'done', 'undo'];
const KINDS: readonly string[] = ['update', 'revert'];
const STEP_NAMES = new Set([...STEP_ORDER.names, ...REVERT_ORDER.names]);

export function faultsFrom(value: string | undefined, release = process.env.REFIT_FAULT_RELEASE): Fault[] {
  if (!value) return [];
  return value.split(',').map((one) => faultOf(one.trim(), value, release));
}

function faultOf(one: string, value: string, release: string | undefined): Fault {
  const fields = one.split(':');
  const kindField = fields.length > 1 && KINDS.includes(fields.at(-1)!) ? (fields.pop() as MaintenanceKind) : undefined;
  const maintenance = kindField ? { maintenance: kindField } : {};
  const [kind, step, phase, extra] = fields;
  const known = STEP_NAMES.has(step ?? '');
  const entry = phase !== undefined && PHASES.includes(phase) ? (phase as EntryPhase) : null;
  if (extra === undefined) {
    if (kind === 'kill' && known && entry) return { kind, step: step!, phase: entry, ...maintenance };
    if (kind === 'hold' && known && entry && release) return { kind, step: step!, phase: entry, release, ...maintenance };
    if (kind === 'fail' && known && phase === undefined) return { kind, step: step!, ...maintenance };
  }
  throw new RefitError(
    'usage',
    `REFIT_FAULT=${JSON.stringify(value)}: ${JSON.stringify(one)} is not kill:STEP:begin|done|undo, hold:STEP:begin|done|undo (with REFIT_FAULT_RELEASE) or fail:STEP, each maybe ending in :update or :revert`,
    "unset REFIT_FAULT: it is for refit's own tests",
  );
}

const hits = (fault: Fault, kind: MaintenanceKind) => fault.maintenance === undefined || fault.maintenance === kind;

/** Called after each journal write: kills refit, or holds it until the release file exists. */
export function faultAfterEntry(faults: readonly Fault[], step: string, phase: EntryPhase, kind: MaintenanceKind = 'update'): void {
  for (const fault of faults) {
    if (fault.kind === 'fail' || fault.step !== step || fault.phase !== phase || !hits(fault, kind)) continue;
    if (fault.kind === 'kill') process.kill(process.pid, 'SIGKILL');
    // Blocking on purpose: nothing of this refit may move on while a test looks at it.
    const tick = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + HOLD_LIMIT_MS;
    while (!existsSync(fault.release!) && Date.now() < deadline) Atomics.wait(tick, 0, 0, 20);
  }
}

export function withFailures<C>(faults: readonly Fault[], steps: readonly Step<C>[], kind: MaintenanceKind = 'update'): readonly Step<C>[] {
  const failing = new Set(faults.filter((f) => f.kind === 'fail' && hits(f, kind)).map((f) => f.step));
  if (!failing.size) return steps;
  return steps.map((s) =>
    !failing.has(s.name)
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
