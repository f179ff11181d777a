import { describe, expect, it } from 'vitest';
import type { MaintenanceLog, RunSummary } from '../journal/types.js';
import { journalStatus, renderJournalStatus } from './journal-status.js';

const counts = { 'in-progress': 0, updated: 0, 'rolled-back': 0, failed: 0, skipped: 0 };
const run = (id: number, pid: number, finished: boolean, result: RunSummary['result'] = finished ? 'success' : null): RunSummary => ({
  id,
  kind: 'run',
  pid,
  started: new Date(`2026-11-0${id}T03:00:00Z`),
  finished: finished ? new Date(`2026-11-0${id}T03:10:00Z`) : null,
  result,
  counts: { ...counts, ...(finished ? { updated: 1 } : { 'in-progress': 1 }) },
});
const inProgress = (id: number, runId: number, container: string, withStep = true): MaintenanceLog => ({
  id,
  kind: 'update',
  watchId: null,
  runId,
  container,
  project: container,
  service: 'web',
  imageBefore: 'web:1.0.0',
  imageAfter: 'web:1.1.0',
  status: 'in-progress',
  reason: null,
  report: null,
  started: new Date(`2026-11-0${runId}T03:01:00Z`),
  finished: null,
  steps: withStep
    ? [
        { seq: 1, step: 'pull', phase: 'done', at: new Date(`2026-11-0${runId}T03:01:05Z`), record: null, error: null },
        { seq: 2, step: 'shadow', phase: 'begin', at: new Date(`2026-11-0${runId}T03:01:09Z`), record: null, error: null },
      ]
    : [],
});

describe('journal status', () => {
  it('tells the container a live run maintains from one a dead run left unfinished', () => {
    // Run 2 died (its pid does not hold the lock); run 3 is alive and holds it.
    const s = journalStatus([run(3, 300, false), run(2, 200, false), run(1, 100, true)], [inProgress(7, 2, 'blog'), inProgress(9, 3, 'shop')], 300);
    expect(s.runs.map((r) => [r.id, r.result])).toEqual([
      [3, 'running'],
      [2, 'interrupted'],
      [1, 'success'],
    ]);
    expect(s.current.map((m) => m.container)).toEqual(['shop']);
    expect(s.unfinished).toEqual([
      {
        maintenanceId: 7,
        runId: 2,
        container: 'blog',
        project: 'blog',
        service: 'web',
        imageBefore: 'web:1.0.0',
        imageAfter: 'web:1.1.0',
        started: '2026-11-02T03:01:00.000Z',
        lastStep: { step: 'shadow', phase: 'begin', at: '2026-11-02T03:01:09.000Z' },
      },
    ]);
  });

  it('counts no run as running when no live refit holds the host lock', () => {
    const s = journalStatus([run(2, 200, false)], [inProgress(5, 2, 'blog', false)], null);
    expect(s.runs[0]?.result).toBe('interrupted');
    expect(s.current).toEqual([]);
    expect(s.unfinished[0]?.lastStep).toBeNull();
  });

  it('says what to run for unfinished maintenances and lists the runs', () => {
    const lines = renderJournalStatus(journalStatus([run(3, 300, false), run(2, 200, false), run(1, 100, true)], [inProgress(7, 2, 'blog'), inProgress(9, 3, 'shop', false)], 300));
    expect(lines).toEqual([
      'maintaining now (run #3): shop  web:1.0.0 -> web:1.1.0  begun at 2026-11-03 03:01:00Z, before its first step',
      '1 maintenance left unfinished by a crash or kill; run `refit recover` to finish or roll back:',
      '  blog  web:1.0.0 -> web:1.1.0  run #2, last step shadow begin at 2026-11-02 03:01:09Z',
      'last runs:',
      '  RUN  KIND  STARTED               FINISHED              RESULT       CONTAINERS',
      '  #3   run   2026-11-03 03:00:00Z  -                     running      1 in-progress',
      '  #2   run   2026-11-02 03:00:00Z  -                     interrupted  1 in-progress',
      '  #1   run   2026-11-01 03:00:00Z  2026-11-01 03:10:00Z  success      1 updated',
    ]);
    expect(renderJournalStatus(journalStatus([], [], null))).toEqual(['no run in the journal yet']);
  });

  it('lists the sites the newest run skipped with a journaled reason (the fleet\'s rollout rules)', () => {
    const skipped = (id: number, runId: number, container: string): MaintenanceLog => ({ ...inProgress(id, runId, container, false), status: 'skipped', reason: 'fleet: soaking: …' });
    const s = journalStatus([run(2, 200, true), run(1, 100, true)], [], null, [skipped(5, 2, 'blog'), skipped(3, 1, 'old')]);
    expect(s.skipped).toEqual([{ runId: 2, container: 'blog', imageAfter: 'web:1.1.0', reason: 'fleet: soaking: …' }]);
    expect(renderJournalStatus(s).slice(-2)).toEqual(['skipped in run #2:', '  blog (web:1.1.0): fleet: soaking: …']);
  });
});

