import { describe, expect, it } from 'vitest';
import { NothingToDo, runSteps, type Step, type StepRecorder } from './runner.js';

function recorder() {
  const log: string[] = [];
  const rec: StepRecorder = {
    begin: (s) => log.push(`begin ${s}`),
    done: (s, r) => log.push(`done ${s} ${JSON.stringify(r)}`),
    failed: (s, e) => log.push(`failed ${s} ${e}`),
    undoBegin: (s) => log.push(`undo ${s}`),
    undone: (s) => log.push(`undone ${s}`),
    undoFailed: (s, e) => log.push(`undo-failed ${s} ${e}`),
  };
  return { log, rec };
}

interface Ctx {
  effects: string[];
  failAt?: string;
  /** Undos of these steps fail this many more times. */
  failUndo?: Record<string, number>;
  nothingAt?: string;
}

const step = (name: string, opts: { commit?: boolean } = {}): Step<Ctx, string> => ({
  name,
  ...opts,
  async run(ctx) {
    if (ctx.failAt === name) throw new Error(`${name} broke`);
    ctx.effects.push(name);
    if (ctx.nothingAt === name) throw new NothingToDo(`${name} found nothing to do`);
    return `${name}-record`;
  },
  async undo(ctx) {
    if ((ctx.failUndo?.[name] ?? 0) > 0) {
      ctx.failUndo![name]!--;
      throw new Error(`cannot undo ${name}`);
    }
    ctx.effects.push(`undo ${name}`);
  },
});

const steps = [step('a'), step('b'), step('c', { commit: true }), step('d'), step('e')];
const quick = { attempts: 3, delayMs: 0 };

describe('runSteps', () => {
  it('journals begin before and done after every step', async () => {
    const { log, rec } = recorder();
    const ctx: Ctx = { effects: [] };
    const out = await runSteps(steps, ctx, rec);
    expect(out.result).toBe('done');
    expect(log.slice(0, 4)).toEqual(['begin a', 'done a "a-record"', 'begin b', 'done b "b-record"']);
    expect(out.records).toEqual({ a: 'a-record', b: 'b-record', c: 'c-record', d: 'd-record', e: 'e-record' });
  });

  it('undoes the failed step and the finished ones in reverse', async () => {
    const { log, rec } = recorder();
    const ctx: Ctx = { effects: [], failAt: 'b' };
    const out = await runSteps(steps, ctx, rec, { undoRetry: quick });
    expect(out).toMatchObject({ result: 'rolled-back', failedStep: 'b', reason: 'b: b broke' });
    expect(ctx.effects).toEqual(['a', 'undo b', 'undo a']);
    expect(log.slice(-5)).toEqual(['failed b b broke', 'undo b', 'undone b', 'undo a', 'undone a']);
  });

  it('undoes nothing after the commit point: the maintenance stays unfinished, committed', async () => {
    const { rec } = recorder();
    const ctx: Ctx = { effects: [], failAt: 'd' };
    const out = await runSteps(steps, ctx, rec);
    expect(out).toMatchObject({ result: 'unfinished', committed: true, failedStep: 'd' });
    expect(ctx.effects).toEqual(['a', 'b', 'c']);
  });

  it('tries a failing undo again; one that fails once does not stop the rollback', async () => {
    const { log, rec } = recorder();
    const ctx: Ctx = { effects: [], failAt: 'c', failUndo: { b: 2 } };
    const out = await runSteps(steps, ctx, rec, { undoRetry: quick });
    expect(out).toMatchObject({ result: 'rolled-back' });
    expect(ctx.effects).toEqual(['a', 'b', 'undo c', 'undo b', 'undo a']);
    expect(log.filter((l) => l.startsWith('undo '))).toEqual(['undo c', 'undo b', 'undo a']);
  });

  it('an undo that keeps failing stops the rollback there and leaves it unfinished, saying where', async () => {
    const { rec } = recorder();
    const ctx: Ctx = { effects: [], failAt: 'c', failUndo: { b: 5 } };
    const out = await runSteps(steps, ctx, rec, { undoRetry: quick });
    expect(out).toMatchObject({ result: 'unfinished', committed: false, reason: 'c: c broke; rollback did not finish: b: cannot undo b (tried 3 times)' });
    expect(ctx.effects).toEqual(['a', 'b', 'undo c']);
  });

  it('a step that finds nothing to do ends the run: what ran is undone, the outcome says why', async () => {
    const { log, rec } = recorder();
    const ctx: Ctx = { effects: [], nothingAt: 'b' };
    const out = await runSteps(steps, ctx, rec, { undoRetry: quick });
    expect(out).toMatchObject({ result: 'nothing-to-do', step: 'b', reason: 'b found nothing to do' });
    expect(ctx.effects).toEqual(['a', 'b', 'undo b', 'undo a']);
    expect(log).toContain('done b {"nothingToDo":"b found nothing to do"}');
  });

  it('resumes after the steps a previous process finished', async () => {
    const { log, rec } = recorder();
    const ctx: Ctx = { effects: [] };
    const done = new Map([['a', null], ['b', null], ['c', null]]);
    const out = await runSteps(steps, ctx, rec, { done });
    expect(out.result).toBe('done');
    expect(ctx.effects).toEqual(['d', 'e']);
    expect(log).toEqual(['begin d', 'done d "d-record"', 'begin e', 'done e "e-record"']);
  });

  it('resumed past the commit point, a failure undoes nothing: neither the steps done before nor those done now', async () => {
    const { rec } = recorder();
    const ctx: Ctx = { effects: [], failAt: 'e' };
    const out = await runSteps(steps, ctx, rec, { done: new Map([['a', null], ['b', null], ['c', null]]), undoRetry: quick });
    expect(out).toMatchObject({ result: 'unfinished', committed: true, failedStep: 'e' });
    expect(ctx.effects).toEqual(['d']);
  });
});
