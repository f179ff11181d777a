/**
 * @module journal/watch-store
 * The journal's part of the watch after an update (src/watch/): the `watches` rows, and the
 * images held on this host (`holds`) until an operator releases them. The decision to revert
 * is one transaction: the image is held before the revert begins, so a crash cannot leave a
 * reverted site whose bad image the next pass takes again.
 */
import type Database from 'better-sqlite3';
import type { HeldImage, HoldRecord, ResponseCounts, WatchChange, WatchRecord, WatchStart, WatchState } from './types.js';

export interface WatchJournal {
  beginWatch(w: WatchStart): number;
  /** Changes a watch; a closing state also sets when it finished. */
  updateWatch(id: number, change: WatchChange): void;
  watch(id: number): WatchRecord | null;
  /** Watches in these states, oldest first. */
  watchesIn(states: readonly WatchState[]): WatchRecord[];
  /** Watches begun at or after `since`, newest first. */
  recentWatches(since: Date, limit?: number): WatchRecord[];
  /**
   * The decision to revert, in one transaction: the image is held on this host (an active hold
   * of the same image is kept), and the watch is `reverting` with its numbers and reason.
   * Returns the hold's id.
   */
  decideRevert(id: number, reason: string, observed: ResponseCounts, hold: HeldImage & { container: string }): number;
  /** Active holds (with `all`: released ones too), newest first. */
  holds(o?: { all?: boolean }): HoldRecord[];
  /** Releases an active hold; null when there is no active hold with this id. */
  releaseHold(id: number): HoldRecord | null;
}

/** States a watch ends in. */
export const CLOSED_WATCH_STATES: readonly WatchState[] = ['kept', 'not-judged', 'reverted', 'revert-failed', 'interrupted', 'not-watched'];

interface WatchRow {
  id: number;
  run_id: number;
  maintenance_id: number | null;
  container: string;
  project: string;
  service: string;
  image_before: string;
  image_after: string;
  rules: string;
  state: WatchState;
  target: string | null;
  baseline: string | null;
  observed: string | null;
  reason: string | null;
  started: string;
  watch_from: string | null;
  deadline: string | null;
  finished: string | null;
}

interface HoldRow {
  id: number;
  reference: string;
  digest: string | null;
  image_id: string | null;
  container: string;
  watch_id: number | null;
  reason: string;
  created: string;
  released: string | null;
}

const json = (v: unknown) => (v === null ? null : JSON.stringify(v));
const parsed = <T>(v: string | null): T | null => (v === null ? null : (JSON.parse(v) as T));
const date = (v: string | null) => (v === null ? null : new Date(v));

/** The columns a WatchChange may set, with how each is stored. */
const CHANGES: Record<keyof WatchChange, { column: string; store: (v: never) => unknown }> = {
  maintenanceId: { column: 'maintenance_id', store: (v: number | null) => v },
  state: { column: 'state', store: (v: WatchState) => v },
  target: { column: 'target', store: json },
  baseline: { column: 'baseline', store: json },
  observed: { column: 'observed', store: json },
  reason: { column: 'reason', store: (v: string | null) => v },
  watchFrom: { column: 'watch_from', store: (v: Date | null) => v?.toISOString() ?? null },
  deadline: { column: 'deadline', store: (v: Date | null) => v?.toISOString() ?? null },
};

export function watchStore(db: Database.Database, iso: () => string): WatchJournal {
  const st = {
    begin: db.prepare(
      `INSERT INTO watches (run_id, container, project, service, image_before, image_after, rules, state, started)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?)`,
    ),
    one: db.prepare('SELECT * FROM watches WHERE id = ?'),
    recent: db.prepare('SELECT * FROM watches WHERE started >= ? ORDER BY id DESC LIMIT ?'),
    activeHold: db.prepare('SELECT * FROM holds WHERE released IS NULL AND reference = ? AND digest IS ? AND image_id IS ?'),
    addHold: db.prepare('INSERT INTO holds (reference, digest, image_id, container, watch_id, reason, created) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    holds: db.prepare('SELECT * FROM holds WHERE released IS NULL ORDER BY id DESC'),
    allHolds: db.prepare('SELECT * FROM holds ORDER BY id DESC'),
    hold: db.prepare('SELECT * FROM holds WHERE id = ?'),
    release: db.prepare('UPDATE holds SET released = ? WHERE id = ? AND released IS NULL'),
  };

  const toWatch = (r: WatchRow): WatchRecord => {
    const rules = JSON.parse(r.rules) as WatchRecord['rules'];
    return {
      id: r.id,
      runId: r.run_id,
      maintenanceId: r.maintenance_id,
      container: r.container,
      project: r.project,
      service: r.service,
      imageBefore: r.image_before,
      imageAfter: r.image_after,
      rules,
      state: r.state,
      target: parsed(r.target),
      baseline: parsed(r.baseline),
      observed: parsed(r.observed),
      reason: r.reason,
      started: new Date(r.started),
      watchFrom: date(r.watch_from),
      deadline: date(r.deadline),
      finished: date(r.finished),
    };
  };
  const toHold = (r: HoldRow): HoldRecord => ({
    id: r.id,
    reference: r.reference,
    digest: r.digest,
    imageId: r.image_id,
    container: r.container,
    watchId: r.watch_id,
    reason: r.reason,
    created: new Date(r.created),
    released: date(r.released),
  });

  function updateWatch(id: number, change: WatchChange): void {
    const sets: string[] = [];
    const args: unknown[] = [];
    for (const [key, value] of Object.entries(change) as [keyof WatchChange, never][]) {
      if (value === undefined) continue;
      sets.push(`${CHANGES[key].column} = ?`);
      args.push(CHANGES[key].store(value));
    }
    if (change.state && CLOSED_WATCH_STATES.includes(change.state)) {
      sets.push('finished = ?');
      args.push(iso());
    }
    if (sets.length) db.prepare(`UPDATE watches SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
  }

  return {
    beginWatch: (w) => Number(st.begin.run(w.runId, w.container, w.project, w.service, w.imageBefore, w.imageAfter, JSON.stringify(w.rules), iso()).lastInsertRowid),
    updateWatch,
    watch: (id) => {
      const r = st.one.get(id) as WatchRow | undefined;
      return r ? toWatch(r) : null;
    },
    watchesIn: (states) => (db.prepare(`SELECT * FROM watches WHERE state IN (${states.map(() => '?').join(', ')}) ORDER BY id`).all(...states) as WatchRow[]).map(toWatch),
    recentWatches: (since, limit = 20) => (st.recent.all(since.toISOString(), limit) as WatchRow[]).map(toWatch),
    decideRevert: (id, reason, observed, hold) =>
      db
        .transaction(() => {
          const held = st.activeHold.get(hold.reference, hold.digest, hold.imageId) as HoldRow | undefined;
          const holdId = held ? held.id : Number(st.addHold.run(hold.reference, hold.digest, hold.imageId, hold.container, id, reason, iso()).lastInsertRowid);
          updateWatch(id, { state: 'reverting', reason, observed });
          return holdId;
        })
        .immediate(),
    holds: (o = {}) => ((o.all ? st.allHolds : st.holds).all() as HoldRow[]).map(toHold),
    releaseHold: (id) => {
      if (st.release.run(iso(), id).changes !== 1) return null;
      return toHold(st.hold.get(id) as HoldRow);
    },
  };
}
