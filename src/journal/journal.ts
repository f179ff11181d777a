/**
 * @module journal/journal
 * The durable journal of runs, container maintenances and their steps, in SQLite at
 * `<stateDir>/journal.db`. The pipeline writes a step's `begin` BEFORE its side effect and `done`
 * (with what undo needs) after it; every write is committed and fsynced (WAL, synchronous=FULL)
 * before the call returns, so after a crash `unfinished()` shows exactly how far each got.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RefitError } from '../errors.js';
import { migrate } from './schema.js';
import { watchStore, type WatchJournal } from './watch-store.js';
import type {
  HistoryQuery,
  JsonValue,
  MaintenanceEnd,
  MaintenanceKind,
  MaintenanceLog,
  MaintenanceStart,
  MaintenanceStatus,
  RunKind,
  RunResult,
  RunSummary,
  StepEntry,
  StepPhase,
} from './types.js';

export interface Journal extends WatchJournal {
  readonly file: string;
  beginRun(kind: RunKind): number;
  finishRun(runId: number, result: RunResult): void;
  /** Marks every unfinished run except `currentRunId` as interrupted: their process is gone (the host lock says so). */
  closeAbandonedRuns(currentRunId: number): number;
  beginMaintenance(runId: number, m: MaintenanceStart): number;
  /**
   * Step names are the maintenance's own (maintenance/steps.ts); the journal stores them as
   * given. `record` here is the intent, e.g. the plan on the first step.
   */
  stepBegin(maintenanceId: number, step: string, record?: JsonValue): void;
  stepDone(maintenanceId: number, step: string, record?: JsonValue): void;
  stepFailed(maintenanceId: number, step: string, error: string, record?: JsonValue): void;
  undoBegin(maintenanceId: number, step: string): void;
  undoDone(maintenanceId: number, step: string): void;
  finishMaintenance(maintenanceId: number, end: MaintenanceEnd): void;
  /** Maintenances still in progress (a crash or kill interrupted them), oldest first, with their steps. */
  unfinished(): MaintenanceLog[];
  /** One maintenance with its steps, or null. */
  maintenance(id: number): MaintenanceLog | null;
  /** The reverts a watch decided, oldest first. */
  revertsOf(watchId: number): MaintenanceLog[];
  /** Project and service of each maintenance in progress, or finished at or after `since`: the sites whose traffic a maintenance moves or just moved. */
  busySince(since: Date): { project: string; service: string }[];
  /** Finished and unfinished maintenances, newest first (default limit 100). */
  history(q?: HistoryQuery): MaintenanceLog[];
  /** The latest runs, newest first, with how many containers ended in each status. */
  lastRuns(limit?: number): RunSummary[];
  close(): void;
}

/** A `maintenances` row as SQLite stores it (the fleet outbox reads these too). */
export interface MaintenanceRow {
  id: number;
  run_id: number;
  kind: MaintenanceKind;
  watch_id: number | null;
  container: string;
  project: string;
  service: string;
  image_before: string;
  image_after: string | null;
  status: MaintenanceStatus;
  reason: string | null;
  report: string | null;
  started: string;
  finished: string | null;
}

interface StepRow {
  seq: number;
  maintenance_id: number;
  step: string;
  phase: StepPhase;
  at: string;
  record: string | null;
  error: string | null;
}

export interface RunRow {
  id: number;
  kind: RunKind;
  pid: number;
  started: string;
  finished: string | null;
  result: RunResult | null;
}

export function openJournal(stateDir: string, now: () => Date = () => new Date()): Journal {
  const file = join(stateDir, 'journal.db');
  let db: Database.Database | undefined;
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, file);
  } catch (err) {
    db?.close();
    if (err instanceof RefitError) throw err;
    throw new RefitError('journal', `cannot open the journal ${file}: ${(err as Error).message}`, 'check that stateDir in refit.yml is a writable local directory', { cause: err });
  }
  return journalOn(db, file, now);
}

/** A journal that lives in memory only: for tests that run thousands of maintenances (model-based fault tests). */
export function inMemoryJournal(now: () => Date = () => new Date()): Journal {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db, ':memory:');
  return journalOn(db, ':memory:', now);
}

/** Every method of `api` with the journal's error wrapping (a RefitError naming the journal file). */
function guarded<T extends object>(api: T, checked: <R>(what: string, fn: () => R) => R): T {
  return Object.fromEntries(
    Object.entries(api).map(([name, fn]) => [name, (...args: unknown[]) => checked(`${name} (the watch after an update)`, () => (fn as (...a: unknown[]) => unknown)(...args))]),
  ) as T;
}

function journalOn(db: Database.Database, file: string, now: () => Date): Journal {
  const iso = () => now().toISOString();

  const st = {
    beginRun: db.prepare('INSERT INTO runs (kind, pid, started) VALUES (?, ?, ?)'),
    finishRun: db.prepare('UPDATE runs SET finished = ?, result = ? WHERE id = ?'),
    closeAbandoned: db.prepare(`UPDATE runs SET finished = ?, result = 'interrupted' WHERE finished IS NULL AND id != ?`),
    beginMaintenance: db.prepare(
      `INSERT INTO maintenances (run_id, container, project, service, image_before, image_after, status, started, kind, watch_id)
       VALUES (?, ?, ?, ?, ?, ?, 'in-progress', ?, ?, ?)`,
    ),
    finishMaintenance: db.prepare(
      `UPDATE maintenances SET status = ?, reason = ?, report = ?, image_after = COALESCE(?, image_after), finished = ?
       WHERE id = ? AND status = 'in-progress'`,
    ),
    step: db.prepare('INSERT INTO steps (maintenance_id, step, phase, at, record, error) VALUES (?, ?, ?, ?, ?, ?)'),
    maintenanceStatus: db.prepare('SELECT status FROM maintenances WHERE id = ?'),
    unfinished: db.prepare(`SELECT * FROM maintenances WHERE status = 'in-progress' ORDER BY id`),
    maintenance: db.prepare('SELECT * FROM maintenances WHERE id = ?'),
    revertsOf: db.prepare('SELECT * FROM maintenances WHERE watch_id = ? ORDER BY id'),
    busySince: db.prepare(`SELECT DISTINCT project, service FROM maintenances WHERE status = 'in-progress' OR finished >= ?`),
    stepsOf: db.prepare('SELECT * FROM steps WHERE maintenance_id = ? ORDER BY seq'),
    lastRuns: db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT ?'),
    countsOf: db.prepare('SELECT status, COUNT(*) AS n FROM maintenances WHERE run_id = ? GROUP BY status'),
  };

  const checked = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof RefitError) throw err;
      throw new RefitError('journal', `cannot ${what} in the journal ${file}: ${(err as Error).message}`, 'check free space and permissions of stateDir', { cause: err });
    }
  };

  const writeStep = (maintenanceId: number, step: string, phase: StepPhase, record?: JsonValue, error?: string) =>
    checked(`record step ${step} ${phase} of maintenance ${maintenanceId}`, () => {
      const row = st.maintenanceStatus.get(maintenanceId) as { status: MaintenanceStatus } | undefined;
      if (!row) throw new RefitError('internal', `maintenance ${maintenanceId} is not in the journal`);
      if (row.status !== 'in-progress') throw new RefitError('internal', `maintenance ${maintenanceId} is already ${row.status}; its steps can no longer change`);
      st.step.run(maintenanceId, step, phase, iso(), record === undefined ? null : JSON.stringify(record), error ?? null);
    });

  const toLog = (r: MaintenanceRow): MaintenanceLog => ({
    id: r.id,
    kind: r.kind,
    watchId: r.watch_id,
    runId: r.run_id,
    container: r.container,
    project: r.project,
    service: r.service,
    imageBefore: r.image_before,
    imageAfter: r.image_after,
    status: r.status,
    reason: r.reason,
    report: r.report === null ? null : (JSON.parse(r.report) as JsonValue),
    started: new Date(r.started),
    finished: r.finished === null ? null : new Date(r.finished),
    steps: (st.stepsOf.all(r.id) as StepRow[]).map(toEntry),
  });

  const toEntry = (s: StepRow): StepEntry => ({
    seq: s.seq,
    step: s.step,
    phase: s.phase,
    at: new Date(s.at),
    record: s.record === null ? null : (JSON.parse(s.record) as JsonValue),
    error: s.error,
  });

  return {
    file,
    beginRun: (kind) => checked('begin a run', () => Number(st.beginRun.run(kind, process.pid, iso()).lastInsertRowid)),
    finishRun: (runId, result) => checked(`finish run ${runId}`, () => void st.finishRun.run(iso(), result, runId)),
    closeAbandonedRuns: (currentRunId) => checked('close abandoned runs', () => st.closeAbandoned.run(iso(), currentRunId).changes),
    beginMaintenance: (runId, m) =>
      checked(`begin the maintenance of ${m.container}`, () =>
        Number(st.beginMaintenance.run(runId, m.container, m.project, m.service, m.imageBefore, m.imageAfter ?? null, iso(), m.kind ?? 'update', m.watchId ?? null).lastInsertRowid),
      ),
    stepBegin: (id, step, record) => writeStep(id, step, 'begin', record),
    stepDone: (id, step, record) => writeStep(id, step, 'done', record),
    stepFailed: (id, step, error, record) => writeStep(id, step, 'failed', record, error),
    undoBegin: (id, step) => writeStep(id, step, 'undo-begin'),
    undoDone: (id, step) => writeStep(id, step, 'undone'),
    finishMaintenance: (id, end) =>
      checked(`finish maintenance ${id}`, () => {
        const report = end.report === undefined ? null : JSON.stringify(end.report);
        const changed = st.finishMaintenance.run(end.status, end.reason ?? null, report, end.imageAfter ?? null, iso(), id).changes;
        if (changed !== 1) throw new RefitError('internal', `maintenance ${id} is not in progress; it cannot be finished again`);
      }),
    unfinished: () => checked('read unfinished maintenances', () => (st.unfinished.all() as MaintenanceRow[]).map(toLog)),
    maintenance: (id) =>
      checked(`read maintenance ${id}`, () => {
        const row = st.maintenance.get(id) as MaintenanceRow | undefined;
        return row ? toLog(row) : null;
      }),
    revertsOf: (watchId) => checked(`read the reverts of watch ${watchId}`, () => (st.revertsOf.all(watchId) as MaintenanceRow[]).map(toLog)),
    ...guarded(watchStore(db, iso), checked),
    busySince: (since) => checked('read the maintenances moving traffic', () => st.busySince.all(since.toISOString()) as { project: string; service: string }[]),
    history: (q = {}) =>
      checked('read the history', () => {
        const where: string[] = [];
        const args: (string | number)[] = [];
        if (q.since) {
          where.push('started >= ?');
          args.push(q.since.toISOString());
        }
        if (q.container) {
          where.push('container = ?');
          args.push(q.container);
        }
        const sql = `SELECT * FROM maintenances ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
        return (db.prepare(sql).all(...args, q.limit ?? 100) as MaintenanceRow[]).map(toLog);
      }),
    lastRuns: (limit = 10) =>
      checked('read the last runs', () =>
        (st.lastRuns.all(limit) as RunRow[]).map((r) => {
          const counts: Record<MaintenanceStatus, number> = { 'in-progress': 0, updated: 0, 'rolled-back': 0, failed: 0, skipped: 0 };
          for (const c of st.countsOf.all(r.id) as { status: MaintenanceStatus; n: number }[]) counts[c.status] = c.n;
          return { id: r.id, kind: r.kind, pid: r.pid, started: new Date(r.started), finished: r.finished === null ? null : new Date(r.finished), result: r.result, counts };
        }),
      ),
    close: () => db.close(),
  };
}
