import { describe, expect, it } from 'vitest';
import { isRefitError } from '../errors.js';
import { recoveryPlan } from './recover.js';
import { MAINTENANCE_STEPS, type StepName } from './steps.js';
import type { JsonValue, StepEntry, StepPhase } from './types.js';

let seq = 0;
const entry = (step: StepName, phase: StepPhase, record: JsonValue | null = null, error: string | null = null): StepEntry => ({
  seq: ++seq,
  step,
  phase,
  at: new Date(0),
  record,
  error,
});
const log = (steps: StepEntry[]) => ({ id: 7, container: 'site-a-web-1', steps });
/** Every step up to and including `last` begun and done, with a record naming it. */
const doneThrough = (last: StepName) =>
  MAINTENANCE_STEPS.slice(0, MAINTENANCE_STEPS.indexOf(last) + 1).flatMap((s) => [entry(s, 'begin'), entry(s, 'done', { of: s })]);

describe('recoveryPlan after a crash at every point', () => {
  const commitIndex = MAINTENANCE_STEPS.indexOf('original-health');

  it.each(MAINTENANCE_STEPS.map((s, i) => [s, i] as const))('crash after %s is done', (step, i) => {
    const plan = recoveryPlan(log(doneThrough(step)));
    if (i < commitIndex) {
      expect(plan.action).toBe('roll-back');
      const undo = plan.action === 'roll-back' ? plan.undo : [];
      expect(undo.map((u) => u.step)).toEqual(MAINTENANCE_STEPS.slice(0, i + 1).reverse());
      expect(undo.every((u) => u.completed && (u.record as { of: string }).of === u.step)).toBe(true);
    } else {
      expect(plan).toMatchObject({ action: 'finish', steps: MAINTENANCE_STEPS.slice(i + 1) });
    }
  });

  it.each(MAINTENANCE_STEPS.map((s, i) => [s, i] as const))('crash in the middle of %s (begun, not done)', (step, i) => {
    const steps = [...(i > 0 ? doneThrough(MAINTENANCE_STEPS[i - 1]!) : []), entry(step, 'begin', { intent: step })];
    const plan = recoveryPlan(log(steps));
    if (i <= commitIndex) {
      expect(plan.action).toBe('roll-back');
      const undo = plan.action === 'roll-back' ? plan.undo : [];
      expect(undo[0]).toEqual({ step, record: { intent: step }, completed: false });
      expect(undo.map((u) => u.step)).toEqual(MAINTENANCE_STEPS.slice(0, i + 1).reverse());
    } else {
      // After the commit the interrupted step is repeated first, then the rest.
      expect(plan).toMatchObject({ action: 'finish', steps: MAINTENANCE_STEPS.slice(i) });
    }
  });
});

describe('recoveryPlan decisions', () => {
  it('mid-swap before the new original is proven: rolls back, restoring configs and compose file before the original comes back', () => {
    const plan = recoveryPlan(log([...doneThrough('image-ref'), entry('recreate-original', 'begin')]));
    expect(plan.action).toBe('roll-back');
    expect(plan.action === 'roll-back' && plan.undo.map((u) => u.step)).toEqual([
      'recreate-original',
      'image-ref',
      'config-install',
      'drain-original',
      'config-backup',
      'shadow-traffic',
      'shadow-health',
      'shadow',
      'override',
      'merge',
      'stock-configs',
      'scratch',
      'pull',
    ]);
  });

  it('mid-swap after the new original is proven: finishes forward, repeating the interrupted step', () => {
    const plan = recoveryPlan(log([...doneThrough('original-health'), entry('original-traffic', 'begin')]));
    expect(plan).toEqual({
      action: 'finish',
      reason: 'site-a-web-1 already runs the new image and passed its health check; interrupted during step original-traffic, finishing the remaining steps',
      steps: ['original-traffic', 'retire-shadow', 'remove-scratch'],
    });
  });

  it('a crash while rolling back continues the rollback with the steps not yet undone', () => {
    const steps = [
      ...doneThrough('shadow'),
      entry('shadow-health', 'begin'),
      entry('shadow-health', 'failed', null, 'unhealthy: 503'),
      entry('shadow-health', 'undo-begin'),
      entry('shadow-health', 'undone'),
      entry('shadow', 'undo-begin'),
    ];
    const plan = recoveryPlan(log(steps));
    expect(plan.action).toBe('roll-back');
    expect(plan.reason).toBe('the rollback of site-a-web-1 was interrupted while undoing step shadow; continuing it');
    expect(plan.action === 'roll-back' && plan.undo.map((u) => [u.step, u.completed])).toEqual([
      ['shadow', true],
      ['override', true],
      ['merge', true],
      ['stock-configs', true],
      ['scratch', true],
      ['pull', true],
    ]);
  });

  it('a rollback that had begun after the commit is continued, not turned into a finish', () => {
    const steps = [...doneThrough('original-health'), entry('original-traffic', 'begin'), entry('original-traffic', 'failed', null, 'proxy refused'), entry('original-traffic', 'undo-begin')];
    expect(recoveryPlan(log(steps)).action).toBe('roll-back');
  });

  it('a step that failed with no rollback begun yet is undone with its failure record', () => {
    const steps = [...doneThrough('override'), entry('shadow', 'begin', { name: 'x-shadow' }), entry('shadow', 'failed', { name: 'x-shadow', partial: true }, 'port clash')];
    const plan = recoveryPlan(log(steps));
    expect(plan.action === 'roll-back' && plan.undo[0]).toEqual({ step: 'shadow', record: { name: 'x-shadow', partial: true }, completed: false });
  });

  it('prefers the done record over the begin record', () => {
    const steps = [entry('pull', 'begin', { want: 'img:2' }), entry('pull', 'done', { id: 'sha256:1' }), entry('scratch', 'begin', { dir: '/s' })];
    const plan = recoveryPlan(log(steps));
    expect(plan.action === 'roll-back' && plan.undo).toEqual([
      { step: 'scratch', record: { dir: '/s' }, completed: false },
      { step: 'pull', record: { id: 'sha256:1' }, completed: true },
    ]);
  });

  it('a maintenance with no steps rolls back nothing', () => {
    expect(recoveryPlan(log([]))).toEqual({ action: 'roll-back', reason: 'site-a-web-1 was interrupted before its first step, before the new image was proven in its place; rolling back', undo: [] });
  });

  it('skipped optional steps (no config, same tag) are simply absent', () => {
    const steps = ['pull', 'scratch', 'override', 'shadow', 'shadow-health', 'shadow-traffic', 'drain-original', 'recreate-original'].flatMap((s) => [entry(s as StepName, 'begin'), entry(s as StepName, 'done')]);
    const plan = recoveryPlan(log(steps));
    expect(plan.action === 'roll-back' && plan.undo.map((u) => u.step)).toEqual(['recreate-original', 'drain-original', 'shadow-traffic', 'shadow-health', 'shadow', 'override', 'scratch', 'pull']);
  });

  it('refuses a journal whose steps began out of order', () => {
    const steps = [entry('shadow', 'begin'), entry('pull', 'begin')];
    expect(() => recoveryPlan(log(steps))).toThrow(/began its steps out of order \(shadow, pull\)/);
    try {
      recoveryPlan(log(steps));
    } catch (err) {
      expect(isRefitError(err, 'journal')).toBe(true);
    }
  });
});
