import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJournal, type Journal } from './journal.js';
import { SCHEMA_VERSION } from './schema.js';

let dir: string;
let journal: Journal;
let clock: number;
const now = () => new Date(Date.UTC(2025, 0, 5, 3, 0, 0) + clock++ * 1000);
const site = { container: 'a-web-1', project: 'a', service: 'web', imageBefore: 'web:1.0.0', imageAfter: 'web:1.1.0' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'refit-journal-'));
  clock = 0;
  journal = openJournal(join(dir, 'state'), now);
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('journal', () => {
  it('creates the schema on first open, durable settings on, and reopens without migrating again', () => {
    journal.close();
    const db = new Database(join(dir, 'state', 'journal.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    journal = openJournal(join(dir, 'state'), now);
    expect(journal.lastRuns()).toEqual([]);
  });

  it('refuses a journal written by a newer refit, saying which versions', () => {
    journal.close();
    const db = new Database(join(dir, 'state', 'journal.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openJournal(join(dir, 'state'))).toThrow(`has schema version ${SCHEMA_VERSION + 1}, newer than this refit understands (${SCHEMA_VERSION})`);
    journal = openJournal(join(dir, 'other'));
  });

  it('keeps the steps of an interrupted maintenance, in order, with records, across a reopen', () => {
    const run = journal.beginRun('run');
    const m = journal.beginMaintenance(run, site);
    journal.stepBegin(m, 'pull', { want: 'web:1.1.0' });
    journal.stepDone(m, 'pull', { id: 'sha256:2' });
    journal.stepBegin(m, 'scratch');
    journal.close(); // the "crash"
    journal = openJournal(join(dir, 'state'), now);

    const [log, ...rest] = journal.unfinished();
    expect(rest).toEqual([]);
    expect(log).toMatchObject({ id: m, runId: run, ...site, status: 'in-progress', reason: null, report: null, finished: null });
    expect(log!.steps.map((s) => [s.step, s.phase, s.record])).toEqual([
      ['pull', 'begin', { want: 'web:1.1.0' }],
      ['pull', 'done', { id: 'sha256:2' }],
      ['scratch', 'begin', null],
    ]);
    expect(log!.steps.map((s) => s.at.toISOString())).toEqual(['2025-01-05T03:00:02.000Z', '2025-01-05T03:00:03.000Z', '2025-01-05T03:00:04.000Z']);
  });

  it('records failures and undos, and a finished maintenance is no longer unfinished and cannot change', () => {
    const run = journal.beginRun('run');
    const m = journal.beginMaintenance(run, { ...site, imageAfter: undefined });
    journal.stepBegin(m, 'shadow');
    journal.stepFailed(m, 'shadow', 'port is already allocated', { project: 'a-refit-shadow' });
    journal.undoBegin(m, 'shadow');
    journal.undoDone(m, 'shadow');
    journal.finishMaintenance(m, { status: 'rolled-back', reason: 'shadow did not start', report: { steps: 1 }, imageAfter: 'web:1.1.0' });

    expect(journal.unfinished()).toEqual([]);
    const [h] = journal.history();
    expect(h).toMatchObject({ status: 'rolled-back', reason: 'shadow did not start', report: { steps: 1 }, imageAfter: 'web:1.1.0' });
    expect(h!.steps.map((s) => [s.phase, s.error])).toEqual([
      ['begin', null],
      ['failed', 'port is already allocated'],
      ['undo-begin', null],
      ['undone', null],
    ]);
    expect(() => journal.stepBegin(m, 'pull')).toThrow(`maintenance ${m} is already rolled-back; its steps can no longer change`);
    expect(() => journal.finishMaintenance(m, { status: 'updated' })).toThrow(`maintenance ${m} is not in progress`);
    expect(() => journal.stepBegin(9999, 'pull')).toThrow('maintenance 9999 is not in the journal');
  });

  it('answers history newest first, filtered by container and date, limited', () => {
    const run = journal.beginRun('run');
    const ids = ['a-web-1', 'b-web-1', 'a-web-1'].map((container) => {
      const id = journal.beginMaintenance(run, { ...site, container });
      journal.finishMaintenance(id, { status: 'updated' });
      return id;
    });
    expect(journal.history().map((h) => h.id)).toEqual([...ids].reverse());
    expect(journal.history({ container: 'a-web-1' }).map((h) => h.id)).toEqual([ids[2], ids[0]]);
    expect(journal.history({ limit: 1 }).map((h) => h.id)).toEqual([ids[2]]);
    // Clock ticks once per write: the second maintenance started at +3 s.
    expect(journal.history({ since: new Date(Date.UTC(2025, 0, 5, 3, 0, 3)) }).map((h) => h.id)).toEqual([ids[2], ids[1]]);
  });

  it('summarises the last runs with per-status counts, and closes runs a dead process left open', () => {
    const crashed = journal.beginRun('daemon');
    journal.beginMaintenance(crashed, site);
    const run = journal.beginRun('recover');
    for (const status of ['updated', 'updated', 'failed'] as const) journal.finishMaintenance(journal.beginMaintenance(run, site), { status });
    expect(journal.closeAbandonedRuns(run)).toBe(1);
    journal.finishRun(run, 'failed');

    const [latest, earlier] = journal.lastRuns();
    expect(latest).toMatchObject({ id: run, kind: 'recover', pid: process.pid, result: 'failed', counts: { updated: 2, failed: 1, 'in-progress': 0, 'rolled-back': 0, skipped: 0 } });
    expect(earlier).toMatchObject({ id: crashed, kind: 'daemon', result: 'interrupted', counts: { 'in-progress': 1 } });
    expect(journal.lastRuns(1)).toHaveLength(1);
  });

  it('says which file it cannot open and what to check', () => {
    const notADir = join(dir, 'plain-file');
    writeFileSync(notADir, '');
    expect(() => openJournal(join(notADir, 'state'))).toThrow(`cannot open the journal ${notADir}/state/journal.db: ENOTDIR`);
  });

  it('keeps a watch from waiting to its decision, with its numbers, and closes it with a time', () => {
    const run = journal.beginRun('run');
    const rules = { windowMs: 600_000, minRequests: 100, maxIncrease: 0.05 };
    const id = journal.beginWatch({ runId: run, container: 'a-web-1', project: 'a', service: 'web', imageBefore: 'web:1.0.0', imageAfter: 'web:1.1.0', rules });
    expect(journal.watch(id)).toMatchObject({ state: 'waiting', rules, maintenanceId: null, observed: null, finished: null });
    const m = journal.beginMaintenance(run, site);
    const from = new Date('2026-01-05T03:10:00Z');
    journal.updateWatch(id, { maintenanceId: m, state: 'watching', baseline: { requests: 3000, errors: 3 }, target: { reference: 'web:1.1.0', digest: 'sha256:d', imageId: 'sha256:i' }, watchFrom: from, deadline: new Date(from.getTime() + 600_000) });
    journal.updateWatch(id, { observed: { requests: 40, errors: 1 } });
    expect(journal.watchesIn(['watching']).map((w) => w.id)).toEqual([id]);
    expect(journal.watch(id)).toMatchObject({ maintenanceId: m, state: 'watching', observed: { requests: 40, errors: 1 }, watchFrom: from, finished: null });
    journal.updateWatch(id, { state: 'kept', reason: 'within 5.0 points' });
    expect(journal.watch(id)).toMatchObject({ state: 'kept', reason: 'within 5.0 points', finished: expect.any(Date) });
    expect(journal.watchesIn(['waiting', 'watching', 'reverting'])).toEqual([]);
    expect(journal.recentWatches(new Date(0)).map((w) => w.id)).toEqual([id]);
  });

  it('holds the image in the same transaction as the decision to revert, once per image, until released; a revert is a maintenance of its watch', () => {
    const run = journal.beginRun('run');
    const start = { runId: run, container: 'a-web-1', project: 'a', service: 'web', imageBefore: 'web:1.0.0', imageAfter: 'web:1.1.0', rules: { windowMs: 1, minRequests: 1, maxIncrease: 0 } };
    const [w1, w2] = [journal.beginWatch(start), journal.beginWatch({ ...start, container: 'a-web-2' })];
    const image = { reference: 'web:1.1.0', digest: 'sha256:d', imageId: 'sha256:i' };
    const hold = journal.decideRevert(w1, '5xx rate 30.0% …', { requests: 400, errors: 120 }, { ...image, container: 'a-web-1' });
    expect(journal.watch(w1)).toMatchObject({ state: 'reverting', reason: '5xx rate 30.0% …', observed: { requests: 400, errors: 120 }, finished: null });
    expect(journal.decideRevert(w2, 'also worse', { requests: 100, errors: 90 }, { ...image, container: 'a-web-2' })).toBe(hold);
    expect(journal.holds()).toMatchObject([{ id: hold, ...image, container: 'a-web-1', watchId: w1, reason: '5xx rate 30.0% …', released: null }]);

    const revert = journal.beginMaintenance(run, { ...site, imageBefore: 'web:1.1.0', imageAfter: 'web:1.0.0', kind: 'revert', watchId: w1 });
    expect(journal.revertsOf(w1).map((m) => [m.id, m.kind, m.watchId])).toEqual([[revert, 'revert', w1]]);
    expect(journal.maintenance(revert)).toMatchObject({ id: revert, kind: 'revert', status: 'in-progress' });
    expect(journal.maintenance(9999)).toBeNull();

    expect(journal.releaseHold(hold)).toMatchObject({ id: hold, released: expect.any(Date) });
    expect(journal.releaseHold(hold)).toBeNull();
    expect(journal.holds()).toEqual([]);
    expect(journal.holds({ all: true }).map((h) => h.id)).toEqual([hold]);
    // Released, the same image is held anew by the next revert of it.
    expect(journal.decideRevert(w2, 'worse again', { requests: 100, errors: 90 }, { ...image, container: 'a-web-2' })).not.toBe(hold);
  });
});

