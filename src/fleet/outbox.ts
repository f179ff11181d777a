/**
 * @module fleet/outbox
 * The host's side of publishing: the `fleet_outbox` table in the local journal. Triggers queue
 * every change to a run or a maintenance (journal/schema.ts); the pass's site versions are
 * queued here. `pending()` turns rows into events with the journal's current state, so a
 * late send carries the latest state, and `sent()` deletes a row by its seq: a row replaced by
 * a newer change in the meantime stays queued. Nothing here talks to the network.
 */
import Database from 'better-sqlite3';
import { RefitError } from '../errors.js';
import type { MaintenanceRow, RunRow } from '../journal/journal.js';
import type { JsonValue } from '../journal/types.js';
import { parseReference, repoKey } from '../registry/reference.js';
import type { FleetEvent, MaintenanceEvent, SiteVersion } from './events.js';

export interface Outbox {
  /** This journal's identity in the fleet. */
  readonly journalId: string;
  /** The oldest `limit` queued events, in the order they were queued. */
  pending(limit: number): FleetEvent[];
  /** How many events wait. */
  size(): number;
  /** Queues the site versions a pass saw (one row per run: a later call for the same run replaces it). */
  queueSites(runId: number, sites: SiteVersion[]): void;
  /** Forgets events the database has committed. */
  sent(seqs: number[]): void;
  close(): void;
}

interface OutboxRow {
  seq: number;
  topic: FleetEvent['topic'];
  ref_id: number;
  payload: string | null;
}

/** Opens the outbox of the journal at `file` (already migrated by openJournal). */
export function openOutbox(file: string): Outbox {
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw new RefitError('journal', `cannot open the fleet outbox in ${file}: ${(err as Error).message}`, 'check stateDir');
  }
  const st = {
    id: db.prepare('SELECT id FROM fleet_journal'),
    pending: db.prepare('SELECT seq, topic, ref_id, payload FROM fleet_outbox ORDER BY seq LIMIT ?'),
    size: db.prepare('SELECT COUNT(*) AS n FROM fleet_outbox'),
    run: db.prepare('SELECT * FROM runs WHERE id = ?'),
    maintenance: db.prepare('SELECT * FROM maintenances WHERE id = ?'),
    queue: db.prepare(`INSERT OR REPLACE INTO fleet_outbox (topic, ref_id, payload, created) VALUES ('sites', ?, ?, ?)`),
    sent: db.prepare('DELETE FROM fleet_outbox WHERE seq = ?'),
  };
  const journalId = (st.id.get() as { id: string }).id;

  const toEvent = (r: OutboxRow): FleetEvent | null => {
    if (r.topic === 'sites') return { topic: 'sites', seq: r.seq, runId: r.ref_id, sites: JSON.parse(r.payload ?? '[]') as SiteVersion[] };
    if (r.topic === 'run') {
      const run = st.run.get(r.ref_id) as RunRow | undefined;
      return run ? { topic: 'run', seq: r.seq, run } : null;
    }
    const m = st.maintenance.get(r.ref_id) as MaintenanceRow | undefined;
    return m ? { topic: 'maintenance', seq: r.seq, maintenance: maintenanceEvent(m) } : null;
  };

  return {
    journalId,
    pending: (limit) => {
      const rows = st.pending.all(limit) as OutboxRow[];
      const events: FleetEvent[] = [];
      for (const r of rows) {
        const e = toEvent(r);
        // A row whose journal entry is gone (a journal pruned by hand) has nothing to send.
        if (e) events.push(e);
        else st.sent.run(r.seq);
      }
      return events;
    },
    size: () => (st.size.get() as { n: number }).n,
    queueSites: (runId, sites) => void st.queue.run(runId, JSON.stringify(sites), new Date().toISOString()),
    sent: (seqs) => db.transaction(() => seqs.forEach((s) => st.sent.run(s)))(),
    close: () => db.close(),
  };
}

/** The repository (`registry/path`) a reference names, or null when it does not parse. */
export function repositoryOf(reference: string | null): string | null {
  if (!reference) return null;
  const parsed = parseReference(reference);
  return parsed.ok ? repoKey(parsed.ref) : null;
}

function maintenanceEvent(m: MaintenanceRow): MaintenanceEvent {
  const report = m.report === null ? null : (JSON.parse(m.report) as { to?: { digest?: string | null } | null } & JsonValue);
  return {
    id: m.id,
    runId: m.run_id,
    container: m.container,
    project: m.project,
    service: m.service,
    imageBefore: m.image_before,
    imageAfter: m.image_after,
    repository: repositoryOf(m.image_after),
    digest: (report && typeof report === 'object' && !Array.isArray(report) ? report.to?.digest : null) ?? null,
    status: m.status,
    reason: m.reason,
    report,
    started: m.started,
    finished: m.finished,
  };
}
