/**
 * The fleet database against a real PostgreSQL (a cluster of the test's own): versioned
 * migrations, publishing from a real journal's outbox exactly once, holds decided one at a
 * time under concurrency.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startPostgres, type RunningPostgres } from '../../test/support/postgres.js';
import type { FleetConfig } from '../config/schema.js';
import { openJournal } from '../journal/journal.js';
import { createLogger } from '../log/logger.js';
import { connectFleetDb } from './fleet.js';
import { openOutbox } from './outbox.js';
import { FLEET_SCHEMA_VERSION, migrateFleet, versionOf } from './schema.js';
import { hold, holdIfFailing, publishBatch, release, waveFacts, type HostIdentity } from './store.js';

let pgc: RunningPostgres;
let dir: string;
let n = 0;

beforeAll(async () => {
  pgc = await startPostgres({ fsync: false });
  dir = mkdtempSync(join(tmpdir(), 'refit-fleet-store-'));
});
afterAll(() => {
  pgc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh database and a client of the refit role on it. */
async function database(): Promise<{ name: string; client: () => Promise<pg.Client> }> {
  const name = `store${n++}`;
  await pgc.createDatabase(name);
  return {
    name,
    client: async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: pgc.port, user: pgc.role.user, password: pgc.role.password, database: name });
      await c.connect();
      onTestFinished(() => c.end());
      return c;
    },
  };
}


describe('fleet schema migrations', () => {
  it('applies every version once, from any earlier version, and records each', async () => {
    for (let from = 0; from < FLEET_SCHEMA_VERSION; from++) {
      const db = await database();
      const c = await db.client();
      expect(await versionOf(c)).toBe(0);
      await migrateFleet(c, db.name, from);
      expect(await versionOf(c)).toBe(from);
      expect(await migrateFleet(c, db.name)).toEqual(Array.from({ length: FLEET_SCHEMA_VERSION - from }, (_, i) => from + i + 1));
      expect(await migrateFleet(c, db.name)).toEqual([]);
      const rows = (await c.query('SELECT version FROM refit.schema_migrations ORDER BY version')).rows.map((r) => r.version);
      expect(rows).toEqual(Array.from({ length: FLEET_SCHEMA_VERSION }, (_, i) => i + 1));
    }
  });

  it('is applied by exactly one of many hosts connecting at once', async () => {
    const db = await database();
    const clients = await Promise.all(Array.from({ length: 8 }, () => db.client()));
    const applied = await Promise.all(clients.map((c) => migrateFleet(c, db.name)));
    expect(applied.flat()).toEqual(Array.from({ length: FLEET_SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('refuses a database migrated by a newer refit', async () => {
    const db = await database();
    const c = await db.client();
    await migrateFleet(c, db.name);
    await c.query('INSERT INTO refit.schema_migrations (version) VALUES ($1)', [FLEET_SCHEMA_VERSION + 1]);
    await expect(migrateFleet(c, 'the-db')).rejects.toThrow(`the fleet database the-db has schema version ${FLEET_SCHEMA_VERSION + 1}, newer than this refit understands (${FLEET_SCHEMA_VERSION})`);
  });
});

describe('publishing a journal through its outbox', () => {
  it('sends every run and maintenance exactly once, keeps the newest state, and loses nothing to a repeated batch', async () => {
    const db = await database();
    const c = await db.client();
    await migrateFleet(c, db.name);
    const stateDir = join(dir, `state${n}`);
    const journal = openJournal(stateDir);
    const outbox = openOutbox(journal.file);
    const host: HostIdentity = { name: 'web-1', wave: 'canary', waveRank: 0, journalId: outbox.journalId };
    try {
      const run = journal.beginRun('run');
      const m = journal.beginMaintenance(run, { container: 'shop', project: 'shop', service: 'web', imageBefore: 'reg.example/web:1.0.0', imageAfter: 'reg.example/web:1.1.0' });
      // Coalesced: one pending event per run and per maintenance, whatever changed in between.
      expect(outbox.pending(100).map((e) => e.topic)).toEqual(['run', 'maintenance']);

      const first = outbox.pending(100);
      await publishBatch(c, host, first);
      journal.finishMaintenance(m, { status: 'updated', reason: 'updated', report: { to: { reference: 'reg.example/web:1.1.0', digest: 'sha256:feed' } } });
      journal.finishRun(run, 'success');
      // The host died after the commit, before forgetting the batch: it is sent again, and later changes after it.
      await publishBatch(c, host, first);
      const second = outbox.pending(100);
      expect(second.map((e) => e.topic).sort()).toEqual(['maintenance', 'run']);
      await publishBatch(c, host, second);
      outbox.sent(second.map((e) => e.seq));
      // A stale batch arriving late never overwrites the newer state.
      await publishBatch(c, host, first);
      expect(outbox.size()).toBe(0);

      const runs = (await c.query('SELECT run_id, result, finished IS NOT NULL AS finished FROM refit.runs')).rows;
      expect(runs).toEqual([{ run_id: run, result: 'success', finished: true }]);
      const ms = (await c.query('SELECT maintenance_id, status, repository, digest, container FROM refit.maintenances')).rows;
      expect(ms).toEqual([{ maintenance_id: m, status: 'updated', repository: 'reg.example/web', digest: 'sha256:feed', container: 'shop' }]);
    } finally {
      outbox.close();
      journal.close();
    }
  });
});

describe('holds', () => {
  const t = { repository: 'reg.example/bad', digest: 'sha256:bad' };

  it('an automatic hold is taken once when many hosts see the failure rate over the threshold at once', async () => {
    const db = await database();
    const setup = await db.client();
    await migrateFleet(setup, db.name);
    await setup.query(`INSERT INTO refit.hosts (name, wave, wave_rank, journal_id) VALUES ('c1', 'canary', 0, 'j')`);
    await setup.query(
      `INSERT INTO refit.maintenances (host, journal_id, maintenance_id, run_id, container, project, service, image_before, image_after, repository, digest, status, started, finished, seq)
       VALUES ('c1', 'j', 1, 1, 'shop', 'shop', 'web', 'reg.example/bad:1', 'reg.example/bad:2', $1, $2, 'rolled-back', now(), now(), 1)`,
      [t.repository, t.digest],
    );
    const clients = await Promise.all(Array.from({ length: 6 }, () => db.client()));
    const rules = { maxFailureRate: 0.1, soakMs: 0, minReports: 1 };
    const held = await Promise.all(clients.map((c, i) => holdIfFailing(c, t, rules, `host-${i}`)));
    expect(held.filter((h) => h !== null)).toHaveLength(1);
    expect(held.find((h) => h)!).toMatchObject({ auto: true, reason: 'failure rate 100% (1 of 1 report) is over fleet.thresholds.maxFailureRate 10%' });

    // Released by an operator: the failure before the release no longer counts, so it is not held again.
    expect(await release(setup, { repository: t.repository, digest: null, by: 'alice' })).toHaveLength(1);
    expect(await holdIfFailing(setup, t, rules, 'host-0')).toBeNull();
    expect((await waveFacts(setup, t)).holds).toEqual([]);
  });

  it('an operator holds a repository or one digest; holding it again changes nothing', async () => {
    const db = await database();
    const c = await db.client();
    await migrateFleet(c, db.name);
    expect(await hold(c, { repository: t.repository, digest: null, reason: 'freeze', by: 'alice' })).toMatchObject({ digest: null, auto: false, heldBy: 'alice' });
    expect(await hold(c, { repository: t.repository, digest: null, reason: 'again', by: 'bob' })).toBeNull();
    expect(await hold(c, { ...t, reason: 'this one', by: 'bob' })).toMatchObject({ digest: t.digest });
    expect((await waveFacts(c, t)).holds.map((h) => h.reason)).toEqual(['freeze', 'this one']);
    expect((await waveFacts(c, { ...t, digest: 'sha256:other' })).holds.map((h) => h.reason)).toEqual(['freeze']);
    expect(await release(c, { ...t, by: 'carol' })).toHaveLength(1);
    expect((await waveFacts(c, t)).holds.map((h) => h.reason)).toEqual(['freeze']);
  });
});

describe('the fleet database connection', () => {
  it('a connection the server ends while refit holds it is an outage refit reports, not a crash', async () => {
    const db = await database();
    process.env.REFIT_TEST_FLEET_PASSWORD = pgc.role.password;
    const database_ = { url: pgc.url(db.name), passwordEnv: 'REFIT_TEST_FLEET_PASSWORD', connectTimeoutMs: 10_000, statementTimeoutMs: 10_000 };
    const fleetDb = connectFleetDb({ database: database_ } as FleetConfig, createLogger({ level: 'silent' }));
    onTestFinished(() => fleetDb.end());
    await fleetDb.use(async (client) => {
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const ended = new Promise((resolve) => (client as pg.ClientBase).once('end', resolve));
      // Between two queries of refit's, the server ends the connection (pg emits 'error' on it).
      await pgc.admin(db.name, 'SELECT pg_terminate_backend($1)', [pid]);
      await ended;
    });
    expect(fleetDb.down()).toMatch(/terminating connection due to administrator command|Connection terminated unexpectedly/);
    expect(await fleetDb.use(async (c) => (await c.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one)).toBe(1);
    expect(fleetDb.down()).toBeNull();
  });
});
