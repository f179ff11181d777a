/**
 * @module fleet/schema
 * The fleet database's tables, in schema `refit`, as an ordered list of migrations. Version N
 * is applied once, in one transaction, by whichever refit gets there first: every host migrates
 * on connect under one advisory lock, so hundreds of hosts starting at once apply each step
 * exactly once. A newer refit adds steps at the end and never edits old ones; an older refit
 * refuses a database migrated further than it understands.
 */
import type pg from 'pg';
import { RefitError } from '../errors.js';

/** pg_advisory_xact_lock key for migrations (any fixed 64-bit number refit owns: "refit" in ASCII). */
const MIGRATION_LOCK = 0x7265666974;

export const FLEET_MIGRATIONS: readonly string[] = [
  `CREATE TABLE refit.hosts (
     name       text PRIMARY KEY,
     wave       text NOT NULL,
     wave_rank  integer NOT NULL CHECK (wave_rank >= 0),
     journal_id text NOT NULL,
     first_seen timestamptz NOT NULL DEFAULT now(),
     last_seen  timestamptz NOT NULL DEFAULT now()
   );
   CREATE TABLE refit.runs (
     host       text NOT NULL REFERENCES refit.hosts(name),
     journal_id text NOT NULL,
     run_id     integer NOT NULL,
     kind       text NOT NULL,
     pid        integer NOT NULL,
     started    timestamptz NOT NULL,
     finished   timestamptz,
     result     text,
     seq        bigint NOT NULL,
     published  timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (host, journal_id, run_id)
   );
   CREATE TABLE refit.maintenances (
     host           text NOT NULL REFERENCES refit.hosts(name),
     journal_id     text NOT NULL,
     maintenance_id integer NOT NULL,
     run_id         integer NOT NULL,
     container      text NOT NULL,
     project        text NOT NULL,
     service        text NOT NULL,
     image_before   text NOT NULL,
     image_after    text,
     repository     text,
     digest         text,
     status         text NOT NULL,
     reason         text,
     report         jsonb,
     started        timestamptz NOT NULL,
     finished       timestamptz,
     seq            bigint NOT NULL,
     published      timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (host, journal_id, maintenance_id)
   );
   CREATE INDEX maintenances_by_target ON refit.maintenances (repository, digest, status);
   CREATE INDEX maintenances_by_started ON refit.maintenances (started DESC);
   CREATE INDEX maintenances_by_site ON refit.maintenances (host, container, started DESC);
   CREATE TABLE refit.sites (
     host       text NOT NULL REFERENCES refit.hosts(name),
     container  text NOT NULL,
     project    text NOT NULL,
     service    text NOT NULL,
     image      text NOT NULL,
     repository text,
     image_id   text NOT NULL,
     digest     text,
     result     text NOT NULL,
     reason     text,
     run_id     integer NOT NULL,
     seq        bigint NOT NULL,
     seen       timestamptz NOT NULL,
     PRIMARY KEY (host, container)
   );
   CREATE INDEX sites_by_repository ON refit.sites (repository);
   CREATE TABLE refit.holds (
     id          bigserial PRIMARY KEY,
     repository  text NOT NULL,
     digest      text,
     reason      text NOT NULL,
     auto        boolean NOT NULL,
     held_by     text NOT NULL,
     held_at     timestamptz NOT NULL DEFAULT now(),
     released_by text,
     released_at timestamptz
   );
   CREATE UNIQUE INDEX holds_active ON refit.holds (repository, coalesce(digest, '')) WHERE released_at IS NULL;`,
];

export const FLEET_SCHEMA_VERSION = FLEET_MIGRATIONS.length;

/** Brings the database to FLEET_SCHEMA_VERSION (or `upTo`, for tests); returns the versions applied by this call. */
export async function migrateFleet(client: pg.ClientBase, where: string, upTo = FLEET_SCHEMA_VERSION): Promise<number[]> {
  // Fast path, one statement: every host connecting to a migrated database.
  if ((await versionOf(client)) === upTo) return [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS refit;
      CREATE TABLE IF NOT EXISTS refit.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM refit.schema_migrations');
    const current = rows[0]?.v ?? 0;
    if (current > FLEET_SCHEMA_VERSION) {
      throw new RefitError('journal', `the fleet database ${where} has schema version ${current}, newer than this refit understands (${FLEET_SCHEMA_VERSION})`, 'upgrade refit on this host');
    }
    const applied: number[] = [];
    for (let v = current; v < upTo; v++) {
      await client.query(FLEET_MIGRATIONS[v]!);
      await client.query('INSERT INTO refit.schema_migrations (version) VALUES ($1)', [v + 1]);
      applied.push(v + 1);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The database's schema version; 0 when refit's tables are not there yet. */
export async function versionOf(client: pg.ClientBase): Promise<number> {
  try {
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM refit.schema_migrations');
    return rows[0]?.v ?? 0;
  } catch (err) {
    // undefined_table, invalid_schema_name: a database refit never used.
    if (['42P01', '3F000'].includes((err as { code?: string }).code ?? '')) return 0;
    throw err;
  }
}
