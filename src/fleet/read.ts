/**
 * @module fleet/read
 * What `refit fleet status` and `refit fleet history` read, each in one consistent snapshot
 * (a REPEATABLE READ transaction): rows as the database has them, turned into values by
 * fleet/status.ts and fleet/history.ts.
 */
import { inTransaction, toHold, type Queryable, type RawHold } from './store.js';
import type { Hold, Report } from './waves.js';

export interface HostRow {
  name: string;
  wave: string;
  waveRank: number;
  firstSeen: Date;
  lastSeen: Date;
  lastRun: { id: number; kind: string; started: Date; finished: Date | null; result: string | null } | null;
}

export interface MaintenanceRow {
  host: string;
  wave: string;
  id: number;
  runId: number;
  container: string;
  project: string;
  service: string;
  status: string;
  imageBefore: string;
  imageAfter: string | null;
  repository: string | null;
  digest: string | null;
  reason: string | null;
  started: Date;
  finished: Date | null;
  report: unknown;
}

export interface SiteRow {
  host: string;
  container: string;
  project: string;
  service: string;
  image: string | null;
  repository: string | null;
  imageId: string | null;
  digest: string | null;
  result: string | null;
  reason: string | null;
  seen: Date | null;
  last: Omit<MaintenanceRow, 'host' | 'wave' | 'report'> | null;
}

export interface TargetRow {
  repository: string;
  digest: string;
  references: string[];
  firstSeen: Date;
  lastSeen: Date;
  reports: Report[];
  /** Maintenances by status and wave rank (skipped and in-progress included). */
  counts: { waveRank: number; status: string; n: number }[];
}

export interface HoldRow extends Hold {
  releasedBy: string | null;
  releasedAt: Date | null;
}

export interface StatusRows {
  now: Date;
  hosts: HostRow[];
  sites: SiteRow[];
  targets: TargetRow[];
  holds: HoldRow[];
}

const MAINTENANCE_COLUMNS = `m.maintenance_id AS id, m.run_id AS "runId", m.container, m.project, m.service, m.status, m.image_before AS "imageBefore",
  m.image_after AS "imageAfter", m.repository, m.digest, m.reason, m.started, m.finished`;

export async function statusRows(c: Queryable, o: { images: number }): Promise<StatusRows> {
  return snapshot(c, async () => {
    const now = (await c.query<{ now: Date }>('SELECT now()')).rows[0]!.now;
    const hosts = await c.query<{ name: string; wave: string; wave_rank: number; first_seen: Date; last_seen: Date; run: HostRow['lastRun'] }>(
      `SELECT h.name, h.wave, h.wave_rank, h.first_seen, h.last_seen,
          (SELECT json_build_object('id', r.run_id, 'kind', r.kind, 'started', r.started, 'finished', r.finished, 'result', r.result)
             FROM refit.runs r WHERE r.host = h.name ORDER BY r.started DESC, r.run_id DESC LIMIT 1) AS run
         FROM refit.hosts h ORDER BY h.wave_rank, h.name`,
    );
    const sites = await c.query<{ host: string; container: string; project: string; service: string; image: string | null; repository: string | null; image_id: string | null; digest: string | null; result: string | null; reason: string | null; seen: Date | null; last: SiteRow['last'] }>(
      `WITH last AS (
         SELECT DISTINCT ON (m.host, m.container) m.host, m.container, m.project AS m_project, m.service AS m_service, json_build_object('id', m.maintenance_id, 'runId', m.run_id,
           'container', m.container, 'project', m.project, 'service', m.service, 'status', m.status, 'imageBefore', m.image_before, 'imageAfter', m.image_after,
           'repository', m.repository, 'digest', m.digest, 'reason', m.reason, 'started', m.started, 'finished', m.finished) AS last
           FROM refit.maintenances m ORDER BY m.host, m.container, m.started DESC, m.maintenance_id DESC)
       SELECT coalesce(s.host, l.host) AS host, coalesce(s.container, l.container) AS container, coalesce(s.project, l.m_project) AS project,
              coalesce(s.service, l.m_service) AS service, s.image, s.repository, s.image_id, s.digest, s.result, s.reason, s.seen, l.last
         FROM refit.sites s FULL JOIN last l ON l.host = s.host AND l.container = s.container
        ORDER BY 1, 2`,
    );
    const targets = await c.query<{ repository: string; digest: string; refs: string[]; first_seen: Date; last_seen: Date }>(
      `SELECT repository, digest, array_agg(DISTINCT image_after) AS refs, min(started) AS first_seen, max(started) AS last_seen
         FROM refit.maintenances WHERE repository IS NOT NULL AND digest IS NOT NULL
        GROUP BY repository, digest ORDER BY max(started) DESC LIMIT $1`,
      [o.images],
    );
    const repos = targets.rows.map((t) => t.repository);
    const digests = targets.rows.map((t) => t.digest);
    const rows = await c.query<{ repository: string; digest: string; host: string; container: string; wave_rank: number; status: string; finished: Date | null; n: string }>(
      `SELECT m.repository, m.digest, m.host, m.container, o.wave_rank, m.status, m.finished
         FROM refit.maintenances m JOIN refit.hosts o ON o.name = m.host
        WHERE (m.repository, m.digest) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [repos, digests],
    );
    const holds = await c.query<RawHold>(`SELECT * FROM refit.holds WHERE released_at IS NULL OR repository = ANY($1) ORDER BY held_at`, [repos]);
    return {
      now,
      hosts: hosts.rows.map((h) => ({
        name: h.name,
        wave: h.wave,
        waveRank: h.wave_rank,
        firstSeen: h.first_seen,
        lastSeen: h.last_seen,
        lastRun: h.run && { ...h.run, started: new Date(h.run.started), finished: h.run.finished && new Date(h.run.finished) },
      })),
      sites: sites.rows.map((s) => ({
        host: s.host,
        container: s.container,
        project: s.project,
        service: s.service,
        image: s.image,
        repository: s.repository,
        imageId: s.image_id,
        digest: s.digest,
        result: s.result,
        reason: s.reason,
        seen: s.seen,
        last: s.last && { ...s.last, started: new Date(s.last.started), finished: s.last.finished && new Date(s.last.finished) },
      })),
      targets: targets.rows.map((t) => {
        const mine = rows.rows.filter((r) => r.repository === t.repository && r.digest === t.digest);
        const counts = new Map<string, { waveRank: number; status: string; n: number }>();
        for (const r of mine) {
          const key = `${r.wave_rank}:${r.status}`;
          counts.set(key, { waveRank: r.wave_rank, status: r.status, n: (counts.get(key)?.n ?? 0) + 1 });
        }
        return {
          repository: t.repository,
          digest: t.digest,
          references: t.refs.filter((r) => r !== null),
          firstSeen: t.first_seen,
          lastSeen: t.last_seen,
          reports: mine
            .filter((r) => ['updated', 'rolled-back', 'failed'].includes(r.status) && r.finished)
            .map((r) => ({ host: r.host, container: r.container, waveRank: r.wave_rank, status: r.status as Report['status'], finished: r.finished! })),
          counts: [...counts.values()],
        };
      }),
      holds: holds.rows.map(holdRow),
    };
  });
}

export interface HistoryFilter {
  host?: string;
  container?: string;
  repository?: string;
  digest?: string | null;
  since?: Date;
  limit: number;
}

export async function historyRows(c: Queryable, f: HistoryFilter): Promise<{ maintenances: MaintenanceRow[]; holds: HoldRow[] }> {
  return snapshot(c, async () => {
    const m = await c.query<MaintenanceRow>(
      `SELECT m.host, o.wave, ${MAINTENANCE_COLUMNS}, m.report
         FROM refit.maintenances m JOIN refit.hosts o ON o.name = m.host
        WHERE ($1::text IS NULL OR m.host = $1) AND ($2::text IS NULL OR m.container = $2)
          AND ($3::text IS NULL OR m.repository = $3) AND ($4::text IS NULL OR m.digest = $4)
          AND ($5::timestamptz IS NULL OR m.started >= $5)
        ORDER BY m.started DESC, m.host, m.maintenance_id DESC LIMIT $6`,
      [f.host ?? null, f.container ?? null, f.repository ?? null, f.digest ?? null, f.since ?? null, f.limit],
    );
    const holds = await c.query<RawHold>(
      `SELECT * FROM refit.holds WHERE ($1::text IS NULL OR repository = $1) AND ($2::text IS NULL OR digest IS NULL OR digest = $2)
          AND ($3::timestamptz IS NULL OR held_at >= $3 OR released_at IS NULL OR released_at >= $3)
        ORDER BY held_at DESC LIMIT $4`,
      [f.repository ?? null, f.digest ?? null, f.since ?? null, f.limit],
    );
    return { maintenances: m.rows, holds: holds.rows.map(holdRow) };
  });
}

function holdRow(h: RawHold): HoldRow {
  return { ...toHold(h), releasedBy: h.released_by ?? null, releasedAt: h.released_at ? new Date(h.released_at) : null };
}

/** Reads in one snapshot: every statement sees the same committed state. */
function snapshot<T>(c: Queryable, fn: () => Promise<T>): Promise<T> {
  return inTransaction(c, async () => {
    await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return fn();
  });
}
