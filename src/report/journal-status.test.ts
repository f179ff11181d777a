import { describe, expect, it } from 'vitest';
import type { HoldRecord, MaintenanceLog, RunSummary, WatchRecord } from '../journal/types.js';
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

  it("shows each watch of the newest run with its numbers or decision, one a dead refit left, and the holds", () => {
    const rules = { windowMs: 600_000, minRequests: 100, maxIncrease: 0.05 };
    const w = (id: number, runId: number, state: WatchRecord['state'], o: Partial<WatchRecord> = {}): WatchRecord => ({
      id, runId, maintenanceId: id, container: `site${id}`, project: `site${id}`, service: 'web', imageBefore: 'web:1.0.0', imageAfter: 'web:1.1.0', rules, state,
      target: null, baseline: { requests: 3100, errors: 28 }, observed: { requests: 412, errors: 5 }, reason: null,
      started: new Date('2026-11-03T03:05:00Z'), watchFrom: new Date('2026-11-03T03:10:00Z'), deadline: new Date('2026-11-03T03:20:00Z'), finished: null, ...o,
    });
    const hold: HoldRecord = { id: 1, reference: 'web:1.1.0', digest: null, imageId: 'sha256:b', container: 'site2', watchId: 2, reason: '5xx rate 30.0% …', created: new Date('2026-11-03T03:12:00Z'), released: null };
    const s = journalStatus([run(3, 300, false), run(2, 200, true)], [], 300, [], {
      open: [w(1, 3, 'watching'), w(4, 2, 'watching')],
      recent: [
        w(1, 3, 'watching'),
        w(2, 3, 'reverted', { reason: '5xx rate 30.0% …' }),
        w(3, 3, 'not-judged', { reason: 'web:1.1.0 answered 3 request(s) …' }),
        // A watch of a run no longer shown, closed before the oldest shown began: not shown.
        w(5, 1, 'kept', { finished: new Date('2026-10-30T03:20:00Z') }),
      ],
      holds: [hold],
    });
    expect(s.watches.map((x) => [x.watchId, x.state, x.live])).toEqual([[1, 'watching', true], [2, 'reverted', false], [3, 'not-judged', false], [4, 'watching', false]]);
    expect(s.holds).toEqual([{ holdId: 1, reference: 'web:1.1.0', digest: null, imageId: 'sha256:b', container: 'site2', since: '2026-11-03T03:12:00.000Z', reason: '5xx rate 30.0% …' }]);
    const lines = renderJournalStatus(s);
    expect(lines.slice(lines.indexOf('watch after the update:'))).toEqual([
      'watch after the update:',
      '  site1  web:1.0.0 -> web:1.1.0  watching until 2026-11-03 03:20:00Z: 1.2% 5xx of 412 so far (before: 0.9% 5xx of 3100)',
      '  site2  web:1.0.0 -> web:1.1.0  reverted: 5xx rate 30.0% …',
      '  site3  web:1.0.0 -> web:1.1.0  not-judged: web:1.1.0 answered 3 request(s) …',
      '  site4  web:1.0.0 -> web:1.1.0  watching, left by a refit that is gone: `refit recover` settles it',
      'held on this host (`refit holds release ID` lets one be taken again):',
      '  #1  web:1.1.0  since 2026-11-03 03:12:00Z, after the watch of site2: 5xx rate 30.0% …',
    ]);
  });
});

