/**
 * @module fleet/store
 * Every statement refit sends to the fleet database. Publishing is one transaction per batch of
 * outbox events, one statement per table: a row keeps the state of the newest outbox seq, so a
 * batch sent twice (the host died between the commit and forgetting it) changes nothing. Hold
 * decisions on a repository are taken one at a time under a transaction-scoped advisory lock,
 * so an automatic hold can never undo an operator's release it did not see.
 */
import type pg from 'pg';
import type { FleetEvent, MaintenanceEvent, RunEvent, SiteVersion } from './events.js';
import { failureRate, type Hold, type Report, type Target, type Thresholds, type WaveFacts } from './waves.js';

export type Queryable = Pick<pg.ClientBase, 'query'>;

export interface HostIdentity {
  name: string;
  wave: string;
  waveRank: number;
  journalId: string;
}

/** Writes a batch of events in one transaction. */
export async function publishBatch(c: Queryable, host: HostIdentity, events: FleetEvent[]): Promise<void> {
  const runs = events.flatMap((e) => (e.topic === 'run' ? [{ ...e.run, seq: e.seq }] : []));
  const maintenances = events.flatMap((e) => (e.topic === 'maintenance' ? [{ ...e.maintenance, seq: e.seq }] : []));
  const sites = newestPerContainer(events.flatMap((e) => (e.topic === 'sites' ? e.sites.map((s) => ({ ...s, runId: e.runId, seq: e.seq })) : [])));
  await inTransaction(c, async () => {
    await c.query(
      `INSERT INTO refit.hosts (name, wave, wave_rank, journal_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET wave = excluded.wave, wave_rank = excluded.wave_rank, journal_id = excluded.journal_id, last_seen = now()`,
      [host.name, host.wave, host.waveRank, host.journalId],
    );
    if (runs.length) await upsertRuns(c, host, runs);
    if (maintenances.length) await upsertMaintenances(c, host, maintenances);
    if (sites.length) await upsertSites(c, host, sites);
  });
}

function upsertRuns(c: Queryable, host: HostIdentity, rows: (RunEvent & { seq: number })[]) {
  return c.query(
    `INSERT INTO refit.runs (host, journal_id, run_id, kind, pid, started, finished, result, seq)
     SELECT $1, $2, r.id, r.kind, r.pid, r.started, r.finished, r.result, r.seq
       FROM json_to_recordset($3::json) AS r(id int, kind text, pid int, started timestamptz, finished timestamptz, result text, seq bigint)
     ON CONFLICT (host, journal_id, run_id) DO UPDATE SET kind = excluded.kind, pid = excluded.pid, started = excluded.started,
       finished = excluded.finished, result = excluded.result, seq = excluded.seq, published = now()
     WHERE refit.runs.seq < excluded.seq`,
    [host.name, host.journalId, JSON.stringify(rows)],
  );
}

function upsertMaintenances(c: Queryable, host: HostIdentity, rows: (MaintenanceEvent & { seq: number })[]) {
  return c.query(
    `INSERT INTO refit.maintenances (host, journal_id, maintenance_id, run_id, container, project, service, image_before, image_after,
       repository, digest, status, reason, report, started, finished, seq)
     SELECT $1, $2, m.id, m."runId", m.container, m.project, m.service, m."imageBefore", m."imageAfter",
       m.repository, m.digest, m.status, m.reason, m.report, m.started, m.finished, m.seq
       FROM json_to_recordset($3::json) AS m(id int, "runId" int, container text, project text, service text, "imageBefore" text, "imageAfter" text,
         repository text, digest text, status text, reason text, report jsonb, started timestamptz, finished timestamptz, seq bigint)
     ON CONFLICT (host, journal_id, maintenance_id) DO UPDATE SET run_id = excluded.run_id, image_after = excluded.image_after,
       repository = excluded.repository, digest = excluded.digest, status = excluded.status, reason = excluded.reason,
       report = excluded.report, finished = excluded.finished, seq = excluded.seq, published = now()
     WHERE refit.maintenances.seq < excluded.seq`,
    [host.name, host.journalId, JSON.stringify(rows)],
  );
}

function upsertSites(c: Queryable, host: HostIdentity, rows: (SiteVersion & { runId: number; seq: number })[]) {
  return c.query(
    `INSERT INTO refit.sites (host, container, project, service, image, repository, image_id, digest, result, reason, run_id, seq, seen)
     SELECT $1, s.container, s.project, s.service, s.image, s.repository, s."imageId", s.digest, s.result, s.reason, s."runId", s.seq, now()
       FROM json_to_recordset($2::json) AS s(container text, project text, service text, image text, repository text, "imageId" text,
         digest text, result text, reason text, "runId" int, seq bigint)
     ON CONFLICT (host, container) DO UPDATE SET project = excluded.project, service = excluded.service, image = excluded.image,
       repository = excluded.repository, image_id = excluded.image_id,
       -- the digest is learned when refit moves a site; it stays known while the site runs the same image
       digest = CASE WHEN excluded.digest IS NOT NULL THEN excluded.digest WHEN refit.sites.image_id = excluded.image_id THEN refit.sites.digest END,
       result = excluded.result, reason = excluded.reason, run_id = excluded.run_id, seq = excluded.seq, seen = excluded.seen
     WHERE refit.sites.seq < excluded.seq`,
    [host.name, JSON.stringify(rows)],
  );
}

/** One row per container in one statement (ON CONFLICT may touch a row once): the newest seq wins. */
function newestPerContainer<T extends { container: string; seq: number }>(rows: T[]): T[] {
  const by = new Map<string, T>();
  for (const r of rows) if ((by.get(r.container)?.seq ?? -1) < r.seq) by.set(r.container, r);
  return [...by.values()];
}

/** Everything the wave rules need about one target, in one statement. */
export async function waveFacts(c: Queryable, t: Target): Promise<WaveFacts> {
  const { rows } = await c.query<{ now: Date; holds: RawHold[]; last_release: Date | null; reports: RawReport[]; sites_by_wave: Record<string, number> }>(
    `SELECT now() AS now,
       (SELECT coalesce(json_agg(h ORDER BY h.held_at), '[]') FROM refit.holds h
         WHERE h.repository = $1 AND (h.digest IS NULL OR h.digest = $2) AND h.released_at IS NULL) AS holds,
       (SELECT max(h.released_at) FROM refit.holds h WHERE h.repository = $1 AND (h.digest IS NULL OR h.digest = $2)) AS last_release,
       (SELECT coalesce(json_agg(json_build_object('host', m.host, 'container', m.container, 'wave_rank', o.wave_rank, 'status', m.status, 'finished', m.finished)), '[]')
          FROM refit.maintenances m JOIN refit.hosts o ON o.name = m.host
         WHERE m.repository = $1 AND m.digest = $2 AND m.status IN ('updated', 'rolled-back', 'failed')) AS reports,
       (SELECT coalesce(json_object_agg(w.wave_rank, w.n), '{}') FROM
          (SELECT o.wave_rank, count(*) AS n FROM refit.sites s JOIN refit.hosts o ON o.name = s.host WHERE s.repository = $1 GROUP BY o.wave_rank) w) AS sites_by_wave`,
    [t.repository, t.digest],
  );
  const r = rows[0]!;
  return {
    now: r.now,
    holds: r.holds.map(toHold),
    lastRelease: r.last_release,
    reports: r.reports.map(toReport),
    sitesByWave: new Map(Object.entries(r.sites_by_wave).map(([rank, n]) => [Number(rank), Number(n)])),
  };
}

/**
 * Holds `t` when its failure rate is over the threshold and nothing holds it yet. Returns the
 * new hold, or null (not over, or already held): exactly one caller in the fleet gets it back.
 */
export async function holdIfFailing(c: Queryable, t: Target, thresholds: Thresholds, by: string): Promise<Hold | null> {
  return inTransaction(c, async () => {
    await lockRepository(c, t.repository);
    const facts = await waveFacts(c, t);
    const rate = failureRate(facts, thresholds);
    if (facts.holds.length || !rate.over) return null;
    return insertHold(c, { repository: t.repository, digest: t.digest, reason: rate.text, auto: true, by });
  });
}

/** An operator's hold; returns null when an active hold on exactly that image already exists. */
export async function hold(c: Queryable, h: { repository: string; digest: string | null; reason: string; by: string }): Promise<Hold | null> {
  return inTransaction(c, async () => {
    await lockRepository(c, h.repository);
    return insertHold(c, { ...h, auto: false });
  });
}

/** Releases the active holds on the image (without a digest: every hold on the repository); returns them. */
export async function release(c: Queryable, r: { repository: string; digest: string | null; by: string }): Promise<Hold[]> {
  return inTransaction(c, async () => {
    await lockRepository(c, r.repository);
    const { rows } = await c.query<RawHold>(
      `UPDATE refit.holds SET released_by = $3, released_at = now()
        WHERE repository = $1 AND ($2::text IS NULL OR digest = $2) AND released_at IS NULL RETURNING *`,
      [r.repository, r.digest, r.by],
    );
    return rows.map(toHold);
  });
}

async function insertHold(c: Queryable, h: { repository: string; digest: string | null; reason: string; auto: boolean; by: string }): Promise<Hold | null> {
  const { rows } = await c.query<RawHold>(
    `INSERT INTO refit.holds (repository, digest, reason, auto, held_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (repository, coalesce(digest, '')) WHERE released_at IS NULL DO NOTHING RETURNING *`,
    [h.repository, h.digest, h.reason, h.auto, h.by],
  );
  return rows[0] ? toHold(rows[0]) : null;
}

function lockRepository(c: Queryable, repository: string) {
  return c.query(`SELECT pg_advisory_xact_lock(hashtextextended('refit.holds:' || $1, 0))`, [repository]);
}

export async function inTransaction<T>(c: Queryable, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const out = await fn();
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface RawHold {
  id: string | number;
  repository: string;
  digest: string | null;
  reason: string;
  auto: boolean;
  held_by: string;
  held_at: string | Date;
  released_by?: string | null;
  released_at?: string | Date | null;
}

interface RawReport {
  host: string;
  container: string;
  wave_rank: number;
  status: Report['status'];
  finished: string;
}

export function toHold(h: RawHold): Hold {
  return { id: Number(h.id), repository: h.repository, digest: h.digest, reason: h.reason, auto: h.auto, heldBy: h.held_by, heldAt: new Date(h.held_at) };
}

function toReport(r: RawReport): Report {
  return { host: r.host, container: r.container, waveRank: r.wave_rank, status: r.status, finished: new Date(r.finished) };
}
