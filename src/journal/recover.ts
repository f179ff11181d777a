/**
 * @module journal/recover
 * What to do with a maintenance a crash or kill left unfinished, decided from its journal entries
 * alone (pure). The maintenance names its steps, their order and its commit point (StepOrder);
 * the rules, in order:
 *  1. The commit step is done (the update has proven itself in place): finish forward. Nothing
 *     after the commit point is ever undone, so this wins even over a rollback an older refit
 *     had begun after it.
 *  2. A rollback had begun (any `undo-begin`): continue it. The decision was made; never flip-flop.
 *  3. Otherwise roll back: undo every begun step not yet undone, in reverse order of their first
 *     `begin`. A step begun but not done (crash mid-step) is undone too, so each undo must be
 *     idempotent and work from the plan and the state of the world.
 * So a crash before the commit point rolls back; after it, finishes.
 */
import { RefitError } from '../errors.js';
import type { MaintenanceLog, StepEntry } from './types.js';

export interface StepOrder {
  /** Every step, in the order a maintenance runs them. */
  readonly names: readonly string[];
  /** Once this step is done, the maintenance is finished forward, never undone. */
  readonly commit: string;
}

export type RecoveryPlan =
  /** `done`: the steps already done; the rest are run, in order. */
  | { action: 'finish'; reason: string; done: string[] }
  /** `undo`: the steps to undo, last begun first. */
  | { action: 'roll-back'; reason: string; undo: string[] };

export function recoveryPlan(log: Pick<MaintenanceLog, 'id' | 'container' | 'steps'>, order: StepOrder): RecoveryPlan {
  const begun = beginOrder(log, order);
  const done = order.names.filter((s) => isDone(log.steps, s));
  const where = whereItStopped(log.steps);

  if (done.includes(order.commit)) {
    const rest = order.names.filter((s) => !done.includes(s));
    const left = rest.length ? `finishing ${rest.join(', ')}` : 'closing it';
    return { action: 'finish', reason: `${log.container} already runs the new image and passed its health check; interrupted ${where}, ${left}`, done };
  }
  const undo = begun.filter((step) => !log.steps.some((e) => e.step === step && e.phase === 'undone')).reverse();
  if (log.steps.some((e) => e.phase === 'undo-begin')) {
    return { action: 'roll-back', reason: `the rollback of ${log.container} was interrupted ${where}; continuing it`, undo };
  }
  return { action: 'roll-back', reason: `${log.container} was interrupted ${where}, before the new image was proven in its place; rolling back`, undo };
}

/** Done and not undone since. */
function isDone(steps: StepEntry[], step: string): boolean {
  return steps.filter((e) => e.step === step && (e.phase === 'done' || e.phase === 'undone')).at(-1)?.phase === 'done';
}

/** Steps in the order they first began; refuses a journal with unknown steps or an order that contradicts the maintenance's. */
function beginOrder(log: Pick<MaintenanceLog, 'id' | 'steps'>, order: StepOrder): string[] {
  const unknown = log.steps.find((e) => !order.names.includes(e.step));
  if (unknown) {
    throw new RefitError('journal', `maintenance ${log.id} has an unknown step "${unknown.step}" (entry ${unknown.seq})`, 'it was written by another refit version; run that version to recover it');
  }
  const begun: string[] = [];
  for (const e of log.steps) if (e.phase === 'begin' && !begun.includes(e.step)) begun.push(e.step);
  const positions = begun.map((s) => order.names.indexOf(s));
  if (positions.some((p, i) => i > 0 && p < positions[i - 1]!)) {
    throw new RefitError('journal', `maintenance ${log.id} began its steps out of order (${begun.join(', ')}); refusing to guess how to recover it`, 'inspect it with `refit history --json` and repair the site by hand');
  }
  return begun;
}

function whereItStopped(steps: StepEntry[]): string {
  const last = steps.at(-1);
  if (!last) return 'before its first step';
  const phrase: Record<StepEntry['phase'], string> = {
    begin: 'during',
    done: 'after',
    failed: 'after the failure of',
    'undo-begin': 'while undoing',
    undone: 'after undoing',
  };
  return `${phrase[last.phase]} step ${last.step}`;
}
