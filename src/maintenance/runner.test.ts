import { describe, expect, it } from 'vitest';
import { runSteps, type Step, type StepRecorder } from './runner.js';

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
  failUndoAt?: string;
}

const step = (name: string, opts: { pointOfNoReturn?: boolean } = {}): Step<Ctx, string> => ({
  name,
  ...opts,
  async run(ctx) {
    if (ctx.failAt === name) throw new Error(`${name} broke`);
    ctx.effects.push(name);
    return `${name}-record`;
  },
  async undo(ctx, record) {
    if (ctx.failUndoAt === name) throw new Error(`cannot undo ${name}`);
    ctx.effects.push(`undo ${name} ${record ?? '(no record)'}`);
  },
});

const steps = [step('a'), step('b'), step('c', { pointOfNoReturn: true }), step('d')];

describe('runSteps', () => {
  it('journals begin before and done after every step', async () => {
    const { log, rec } = recorder();
    const ctx: Ctx = { effects: [] };
    const out = await runSteps(steps, ctx, rec);
    expect(out.result).toBe('done');
    expect(log).toEqual(['begin a', 'done a "a-record"', 'begin b', 'done b "b-record"', 'begin c', 'done c "c-record"', 'begin d', 'done d "d-record"']);
    expect(out.records).toEqual({ a: 'a-record', b: 'b-record', c: 'c-record', d: 'd-record' });
  });

  it('undoes the failed step (without a record) and the finished ones in reverse', async () => {
    const { log, rec } = recorder();
    const ctx: Ctx = { effects: [], failAt: 'b' };
    const out = await runSteps(steps, ctx, rec);
    expect(out).toMatchObject({ result: 'rolled-back', failedStep: 'b', reason: 'b: b broke' });
    expect(ctx.effects).toEqual(['a', 'undo b (no record)', 'undo a a-record']);
    expect(log.slice(-5)).toEqual(['failed b b broke', 'undo b', 'undone b', 'undo a', 'undone a']);
  });

  it('finishes instead of undoing after the point of no return', async () => {
    const { rec } = recorder();
    const ctx: Ctx = { effects: [], failAt: 'd' };
    const out = await runSteps(steps, ctx, rec);
    expect(out).toMatchObject({ result: 'failed', committed: true, failedStep: 'd' });
    expect(ctx.effects).toEqual(['a', 'b', 'c']);
  });

  it('stops undoing at an undo that fails and says where', async () => {
    const { rec } = recorder();
    const ctx: Ctx = { effects: [], failAt: 'c', failUndoAt: 'b' };
    const out = await runSteps(steps, ctx, rec);
    expect(out).toMatchObject({ result: 'failed', committed: false, reason: 'c: c broke; rollback failed at b: cannot undo b' });
    expect(ctx.effects).toEqual(['a', 'b', 'undo c (no record)']);
  });

  it('resumes after the steps a previous process finished', async () => {
    const { log, rec } = recorder();
    const ctx: Ctx = { effects: [] };
    const out = await runSteps(steps, ctx, rec, [
      { step: steps[0]!, record: 'a-record' },
      { step: steps[1]!, record: 'b-record' },
      { step: steps[2]!, record: 'c-record' },
    ]);
    expect(out.result).toBe('done');
    expect(ctx.effects).toEqual(['d']);
    expect(log).toEqual(['begin d', 'done d "d-record"']);
  });
});
