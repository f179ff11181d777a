/**
 * @module journal/schema
 * The journal's SQLite schema as an ordered list of migrations. `PRAGMA user_version` holds how
 * many have been applied; a new refit adds migrations at the end and never edits old ones.
 */
import type Database from 'better-sqlite3';
import { RefitError } from '../errors.js';

/** Exported for tests that make a journal as an older refit left it. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (
     id       INTEGER PRIMARY KEY,
     kind     TEXT NOT NULL CHECK (kind IN ('run', 'dry-run', 'recover', 'daemon')),
     pid      INTEGER NOT NULL,
     started  TEXT NOT NULL,
     finished TEXT,
     result   TEXT CHECK (result IN ('success', 'failed', 'interrupted'))
   );
   CREATE TABLE maintenances (
     id           INTEGER PRIMARY KEY,
     run_id       INTEGER NOT NULL REFERENCES runs(id),
     container    TEXT NOT NULL,
     project      TEXT NOT NULL,
     service      TEXT NOT NULL,
     image_before TEXT NOT NULL,
     image_after  TEXT,
     status       TEXT NOT NULL CHECK (status IN ('in-progress', 'updated', 'rolled-back', 'failed', 'skipped')),
     reason       TEXT,
     report       TEXT,
     started      TEXT NOT NULL,
     finished     TEXT
   );
   CREATE INDEX maintenances_by_status ON maintenances(status);
   CREATE INDEX maintenances_by_container ON maintenances(container, started);
   CREATE TABLE steps (
     seq            INTEGER PRIMARY KEY,
     maintenance_id INTEGER NOT NULL REFERENCES maintenances(id),
     step           TEXT NOT NULL,
     phase          TEXT NOT NULL CHECK (phase IN ('begin', 'done', 'failed', 'undo-begin', 'undone')),
     at             TEXT NOT NULL,
     record         TEXT,
     error          TEXT
   );
   CREATE INDEX steps_by_maintenance ON steps(maintenance_id, seq);`,
  // The fleet outbox (src/fleet/outbox.ts): every change to a run or a maintenance leaves one
  // pending row, written by trigger in the journal's own transaction, so nothing the fleet
  // database should hear of can be missed. A newer change replaces the pending row (new seq);
  // the publisher deletes a row by seq once the database has it. `fleet_journal` names this
  // journal in the fleet, so a reinstalled host's new ids never collide with its old ones. What
  // the journal held before this migration is queued too: a host that joins a fleet brings its past.
  `CREATE TABLE fleet_journal (id TEXT NOT NULL);
   INSERT INTO fleet_journal (id) VALUES (lower(hex(randomblob(16))));
   CREATE TABLE fleet_outbox (
     seq     INTEGER PRIMARY KEY AUTOINCREMENT,
     topic   TEXT NOT NULL CHECK (topic IN ('run', 'maintenance', 'sites')),
     ref_id  INTEGER NOT NULL,
     payload TEXT,
     created TEXT NOT NULL
   );
   CREATE UNIQUE INDEX fleet_outbox_pending ON fleet_outbox(topic, ref_id);
   INSERT INTO fleet_outbox (topic, ref_id, created) SELECT 'run', id, started FROM runs ORDER BY id;
   INSERT INTO fleet_outbox (topic, ref_id, created) SELECT 'maintenance', id, started FROM maintenances ORDER BY id;
   CREATE TRIGGER fleet_outbox_run_new AFTER INSERT ON runs BEGIN
     INSERT OR REPLACE INTO fleet_outbox (topic, ref_id, created) VALUES ('run', NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
   END;
   CREATE TRIGGER fleet_outbox_run_changed AFTER UPDATE ON runs BEGIN
     INSERT OR REPLACE INTO fleet_outbox (topic, ref_id, created) VALUES ('run', NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
   END;
   CREATE TRIGGER fleet_outbox_maintenance_new AFTER INSERT ON maintenances BEGIN
     INSERT OR REPLACE INTO fleet_outbox (topic, ref_id, created) VALUES ('maintenance', NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
   END;
   CREATE TRIGGER fleet_outbox_maintenance_changed AFTER UPDATE ON maintenances BEGIN
     INSERT OR REPLACE INTO fleet_outbox (topic, ref_id, created) VALUES ('maintenance', NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
   END;`,
  // The watch after an update (src/watch/): one row per watched update, the revert it decided
  // (a maintenance of kind `revert`, linked by watch_id), and the images held on this host.
  `CREATE TABLE watches (
     id             INTEGER PRIMARY KEY,
     run_id         INTEGER NOT NULL REFERENCES runs(id),
     maintenance_id INTEGER REFERENCES maintenances(id),
     container      TEXT NOT NULL,
     project        TEXT NOT NULL,
     service        TEXT NOT NULL,
     image_before   TEXT NOT NULL,
     image_after    TEXT NOT NULL,
     rules          TEXT NOT NULL,
     state          TEXT NOT NULL CHECK (state IN ('waiting', 'watching', 'reverting', 'kept', 'not-judged', 'reverted', 'revert-failed', 'interrupted', 'not-watched')),
     target         TEXT,
     baseline       TEXT,
     observed       TEXT,
     reason         TEXT,
     started        TEXT NOT NULL,
     watch_from     TEXT,
     deadline       TEXT,
     finished       TEXT
   );
   CREATE INDEX watches_by_state ON watches(state);
   ALTER TABLE maintenances ADD COLUMN kind TEXT NOT NULL DEFAULT 'update' CHECK (kind IN ('update', 'revert'));
   ALTER TABLE maintenances ADD COLUMN watch_id INTEGER REFERENCES watches(id);
   CREATE TABLE holds (
     id        INTEGER PRIMARY KEY,
     reference TEXT NOT NULL,
     digest    TEXT,
     image_id  TEXT,
     container TEXT NOT NULL,
     watch_id  INTEGER REFERENCES watches(id),
     reason    TEXT NOT NULL,
     created   TEXT NOT NULL,
     released  TEXT
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION; each migration commits with its version bump. */
export function migrate(db: Database.Database, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new RefitError('journal', `journal ${file} has schema version ${current}, newer than this refit understands (${SCHEMA_VERSION})`, 'run the refit version that wrote it, or upgrade refit');
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
