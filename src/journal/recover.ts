/**
 * @module journal/recover
 * What to do with a maintenance a crash or kill left unfinished, decided from its journal entries
 * alone (pure). The rules, in order:
 *  1. A rollback had begun (any `undo-begin`): continue it. The decision was made; never flip-flop.
 *  2. COMMIT_STEP is done (the recreated original passed its health check on the new image):
 *     finish forward. What is left is putting it back in the proxy and retiring the shadow, each
 *     safe to repeat; rolling back would take a proven update away again.
 *  3. Otherwise roll back: undo every begun step not yet undone, in reverse order of their first
 *     `begin`. A step begun but not done (crash mid-step) is undone too, with whatever record its
 *     entries carry, so each undo must be idempotent and work from the state of the world.
 * So a crash mid-swap before the new original is proven healthy rolls back; after it, finishes.
 */
import { RefitError } from '../errors.js';
import { COMMIT_STEP, MAINTENANCE_STEPS, type StepName } from './steps.js';
import type { JsonValue, MaintenanceLog, StepEntry } from './types.js';

export interface UndoItem {
  step: StepName;
  /** The latest record the step's entries carry (done over failed over begin); null when none did. */
  record: JsonValue | null;
  /** false: the step began (or failed) but never finished, so its side effect may be partial. */
  completed: boolean;
}

export type RecoveryPlan =
  | { action: 'finish'; reason: string; steps: StepName[] }
  | { action: 'roll-back'; reason: string; undo: UndoItem[] };

export function recoveryPlan(log: Pick<MaintenanceLog, 'id' | 'container' | 'steps'>): RecoveryPlan {
  const begun = beginOrder(log);
  const has = (step: StepName, phase: StepEntry['phase']) => log.steps.some((e) => e.step === step && e.phase === phase);
  const where = whereItStopped(log.steps);

  if (log.steps.some((e) => e.phase === 'undo-begin')) {
    return { action: 'roll-back', reason: `the rollback of ${log.container} was interrupted ${where}; continuing it`, undo: undoList(log, begun) };
  }
  if (has(COMMIT_STEP, 'done')) {
    const after = MAINTENANCE_STEPS.slice(MAINTENANCE_STEPS.indexOf(COMMIT_STEP) + 1);
    return {
      action: 'finish',
      reason: `${log.container} already runs the new image and passed its health check; interrupted ${where}, finishing the remaining steps`,
      steps: after.filter((s) => !has(s, 'done')),
    };
  }
  return { action: 'roll-back', reason: `${log.container} was interrupted ${where}, before the new image was proven in its place; rolling back`, undo: undoList(log, begun) };
}

/** Steps in the order they first began; refuses a journal whose order contradicts MAINTENANCE_STEPS. */
function beginOrder(log: Pick<MaintenanceLog, 'id' | 'steps'>): StepName[] {
  const order: StepName[] = [];
  for (const e of log.steps) if (e.phase === 'begin' && !order.includes(e.step)) order.push(e.step);
  const positions = order.map((s) => MAINTENANCE_STEPS.indexOf(s));
  if (positions.some((p, i) => i > 0 && p < positions[i - 1]!)) {
    throw new RefitError('journal', `maintenance ${log.id} began its steps out of order (${order.join(', ')}); refusing to guess how to recover it`, 'inspect it with `refit history --json` and repair the site by hand');
  }
  return order;
}

function undoList(log: Pick<MaintenanceLog, 'steps'>, begun: StepName[]): UndoItem[] {
  return begun
    .filter((step) => !log.steps.some((e) => e.step === step && e.phase === 'undone'))
    .reverse()
    .map((step) => {
      const entries = log.steps.filter((e) => e.step === step);
      const pick = (phase: StepEntry['phase']) => entries.filter((e) => e.phase === phase && e.record !== null).at(-1)?.record;
      return { step, record: pick('done') ?? pick('failed') ?? pick('begin') ?? null, completed: entries.some((e) => e.phase === 'done') };
    });
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
