/**
 * Watching a running refit from a test: the journal (`stateDir/journal.db`) opened read-only,
 * polled for a step entry, so a test can act on the world at an exact point of a live pass
 * (e.g. kill the shadow once it serves traffic) without injecting anything into refit.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { StepPhase } from '../../src/journal/types.js';

function read<T>(stateDir: string, fn: (db: Database.Database) => T, fallback: T): T {
  const file = join(stateDir, 'journal.db');
  if (!existsSync(file)) return fallback;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } catch (err) {
    // A journal refit has just created and not migrated yet.
    if (/no such table/.test((err as Error).message)) return fallback;
    throw err;
  } finally {
    db.close();
  }
}

/** The newest step entry's sequence number (0 without a journal): entries after it are a later pass's. */
export function journalSeq(stateDir: string): number {
  return read(stateDir, (db) => (db.prepare('SELECT MAX(seq) AS seq FROM steps').get() as { seq: number | null }).seq ?? 0, 0);
}

/**
 * Resolves true as soon as the journal holds `step` `phase` after `afterSeq`; false when
 * `until` settles first or `timeoutMs` passes (the pass ended without reaching that point).
 */
export function waitForStep(stateDir: string, o: { step: string; phase: StepPhase; afterSeq: number; until: Promise<unknown>; timeoutMs?: number }): Promise<boolean> {
  return waitForRow(stateDir, 'SELECT 1 FROM steps WHERE seq > ? AND step = ? AND phase = ? LIMIT 1', [o.afterSeq, o.step, o.phase], o.until, o.timeoutMs ?? 120_000);
}

/**
 * Resolves true as soon as the journal holds a watch after an update (src/watch/) in `state`
 * with an id above `afterId`; false when `until` settles first or `timeoutMs` passes.
 */
export function waitForWatch(stateDir: string, o: { state: string; afterId?: number; until: Promise<unknown>; timeoutMs?: number }): Promise<boolean> {
  return waitForRow(stateDir, 'SELECT 1 FROM watches WHERE id > ? AND state = ? LIMIT 1', [o.afterId ?? 0, o.state], o.until, o.timeoutMs ?? 300_000);
}

/** The newest watch's id (0 without one): watches above it are a later pass's. */
export function lastWatchId(stateDir: string): number {
  return read(stateDir, (db) => (db.prepare('SELECT MAX(id) AS id FROM watches').get() as { id: number | null }).id ?? 0, 0);
}

/** Polls `query` until it finds a row (true), `until` settles (false) or `timeoutMs` passes (false). */
async function waitForRow(stateDir: string, query: string, args: (string | number)[], until: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let settled = false;
  const settle = () => {
    settled = true;
  };
  until.then(settle, settle);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (read(stateDir, (db) => db.prepare(query).get(...args) !== undefined, false)) return true;
    if (settled) return false;
    await sleep(20);
  }
  return false;
}
