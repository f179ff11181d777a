import { describe, expect, it } from 'vitest';
import { isRefitError } from '../errors.js';
import { STEP_ORDER } from '../maintenance/steps.js';
import { recoveryPlan } from './recover.js';
import type { JsonValue, StepEntry, StepPhase } from './types.js';

const STEPS = STEP_ORDER.names;
let seq = 0;
const entry = (step: string, phase: StepPhase, record: JsonValue | null = null, error: string | null = null): StepEntry => ({
  seq: ++seq,
  step,
  phase,
  at: new Date(0),
  record,
  error,
});
const plan = (steps: StepEntry[]) => recoveryPlan({ id: 7, container: 'site-a-web-1', steps }, STEP_ORDER);
/** Every step up to and including `last` begun and done. */
const doneThrough = (last: string) => STEPS.slice(0, STEPS.indexOf(last) + 1).flatMap((s) => [entry(s, 'begin'), entry(s, 'done', { of: s })]);
const commitIndex = STEPS.indexOf(STEP_ORDER.commit);

describe('the commit point', () => {
  it('is original-health: the recreated original proven on the new image, before it gets traffic', () => {
    expect(STEP_ORDER.commit).toBe('original-health');
    expect(STEPS.slice(commitIndex + 1)).toEqual(['original-traffic', 'retire-shadow', 'commit-configs', 'remove-scratch']);
  });
});

describe('recoveryPlan after a crash at every point', () => {
  it.each(STEPS.map((s, i) => [s, i] as const))('crash after %s is done', (step, i) => {
    const p = plan(doneThrough(step));
    if (i < commitIndex) expect(p).toMatchObject({ action: 'roll-back', undo: STEPS.slice(0, i + 1).reverse() });
    else expect(p).toMatchObject({ action: 'finish', done: STEPS.slice(0, i + 1) });
  });

  it.each(STEPS.map((s, i) => [s, i] as const))('crash in the middle of %s (begun, not done)', (step, i) => {
    const p = plan([...(i > 0 ? doneThrough(STEPS[i - 1]!) : []), entry(step, 'begin', { intent: step })]);
    // The interrupted step is undone too (before the commit), or run again (after it).
    if (i <= commitIndex) expect(p).toMatchObject({ action: 'roll-back', undo: STEPS.slice(0, i + 1).reverse() });
    else expect(p).toMatchObject({ action: 'finish', done: STEPS.slice(0, i) });
  });
});

describe('recoveryPlan decisions', () => {
  it('mid-swap before the new original is proven: rolls back, restoring configs and compose file before the original comes back', () => {
    expect(plan([...doneThrough('image-ref'), entry('recreate-original', 'begin')])).toMatchObject({
      action: 'roll-back',
      undo: ['recreate-original', 'image-ref', 'config-install', 'drain-original', 'config-backup', 'shadow-traffic', 'shadow-health', 'shadow', 'save-compose-files', 'merge', 'stock-configs', 'scratch', 'pull'],
    });
  });

  it('mid-swap after the new original is proven: finishes forward, repeating the interrupted step', () => {
    expect(plan([...doneThrough('original-health'), entry('original-traffic', 'begin')])).toEqual({
      action: 'finish',
      reason: 'site-a-web-1 already runs the new image and passed its health check; interrupted during step original-traffic, finishing original-traffic, retire-shadow, commit-configs, remove-scratch',
      done: STEPS.slice(0, commitIndex + 1),
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
    const p = plan(steps);
    expect(p.reason).toBe('the rollback of site-a-web-1 was interrupted while undoing step shadow; continuing it');
    expect(p).toMatchObject({ action: 'roll-back', undo: ['shadow', 'save-compose-files', 'merge', 'stock-configs', 'scratch', 'pull'] });
  });

  it('after the commit nothing is undone: a rollback an older refit began there is finished forward instead', () => {
    const steps = [
      ...doneThrough('original-traffic'),
      entry('retire-shadow', 'begin'),
      entry('retire-shadow', 'failed', null, 'proxy refused'),
      entry('retire-shadow', 'undo-begin'),
      entry('retire-shadow', 'undone'),
      entry('original-traffic', 'undo-begin'),
      entry('original-traffic', 'undone'),
    ];
    // original-traffic was undone: it is no longer done, so finishing runs it again.
    expect(plan(steps)).toMatchObject({ action: 'finish', done: STEPS.slice(0, commitIndex + 1) });
  });

  it('a maintenance with no steps rolls back nothing', () => {
    expect(plan([])).toEqual({ action: 'roll-back', reason: 'site-a-web-1 was interrupted before its first step, before the new image was proven in its place; rolling back', undo: [] });
  });

  it('refuses a journal whose steps began out of order, or with a step it does not know', () => {
    const refused = (steps: StepEntry[], message: RegExp) => {
      expect(() => plan(steps)).toThrow(message);
      try {
        plan(steps);
      } catch (err) {
        expect(isRefitError(err, 'journal')).toBe(true);
      }
    };
    refused([entry('shadow', 'begin'), entry('pull', 'begin')], /began its steps out of order \(shadow, pull\)/);
    refused([entry('pull', 'begin'), entry('teleport', 'begin')], /unknown step "teleport"/);
  });
});
