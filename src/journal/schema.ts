/**
 * @module journal/schema
 * The journal's SQLite schema as an ordered list of migrations. `PRAGMA user_version` holds how
 * many have been applied; a new refit adds migrations at the end and never edits old ones.
 */
import type Database from 'better-sqlite3';
import { RefitError } from '../errors.js';

const MIGRATIONS: readonly string[] = [
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
