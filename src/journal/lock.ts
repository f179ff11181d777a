/**
 * @module journal/lock
 * One refit per host. Node has no flock(2), so the lock is a file, `<stateDir>/refit.lock`,
 * holding who took it (pid, the pid's start time from /proc, command, since, host):
 *  - Acquire creates it atomically WITH its content: write a private temp file, fsync, then
 *    link(2) it to the lock name, which fails with EEXIST when someone holds the lock.
 *  - A holder is alive when its pid exists AND that pid started when the holder recorded; a
 *    dead pid, or a pid reused by another process (different start time), makes the lock stale.
 *  - Only a process holding the takeover guard (`refit.lock.takeover`, created the same way)
 *    may delete a stale lock, and only if it is still the very file (inode + content) it judged stale;
 *    it then competes for the lock by link(2) like everyone else. Live holders only ever
 *    delete their own file, so two refits can never both believe they hold the lock.
 * The guard is held for microseconds; if its holder dies in that window, the next acquirer
 * clears it after the same liveness check.
 */
import { closeSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RefitError } from '../errors.js';

export interface LockHolder {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot); null where /proc is unavailable. */
  startTime: string | null;
  command: string;
  since: string;
  host: string;
}

export interface Lock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Deletes the lock file if it is still ours; safe to call twice. */
  release(): void;
}

const ATTEMPTS = 50;

export const lockFile = (stateDir: string): string => join(stateDir, 'refit.lock');

/** Who holds the host lock now, without taking it; null when nobody does (or only a stale lock is left). */
export function liveHolder(stateDir: string): LockHolder | null {
  let holder: LockHolder;
  try {
    holder = JSON.parse(readFileSync(lockFile(stateDir), 'utf8')) as LockHolder;
  } catch {
    return null;
  }
  return typeof holder.pid === 'number' && isAlive(holder) ? holder : null;
}

export function acquireHostLock(stateDir: string, holder: { command: string }): Lock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = lockFile(stateDir);
  const taken = tryLock(file, holder.command);
  if ('release' in taken) return taken;
  const h = taken;
  throw new RefitError(
    'journal',
    `another refit holds the host lock: pid ${h.pid} (${h.command}) on ${h.host}, since ${h.since}`,
    `wait for it to finish; if that process is gone from ${h.host}, delete ${file}`,
  );
}

/**
 * Takes the lock `file` (created with its holder inside, stale holders cleared), or returns
 * the live holder that has it. The same protocol as the host lock, for any lock file.
 */
export function tryLock(file: string, command: string): Lock | LockHolder {
  const me: LockHolder = { pid: process.pid, startTime: processStartTime(process.pid), command, since: new Date().toISOString(), host: hostname() };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const id = createExclusive(file, me);
    if (id !== null) return ownedLock(file, me, id);
    const current = readHolder(file);
    if (!current) continue; // released between our link and our read
    if (isAlive(current.holder)) return current.holder;
    removeStale(file, current.id, me);
  }
  throw new RefitError('journal', `could not take the lock ${file} after ${ATTEMPTS} attempts: other refits keep racing for it`, 'run refit again');
}

/** Waits (without blocking the event loop) until `file` can be taken, at most `waitMs`. */
export async function waitForLock(file: string, command: string, waitMs: number): Promise<Lock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const taken = tryLock(file, command);
    if ('release' in taken) return taken;
    if (Date.now() >= deadline) {
      throw new RefitError('journal', `the lock ${file} is still held after ${waitMs} ms by pid ${taken.pid} (${taken.command}, since ${taken.since})`, `if that process hangs, stop it; if it is gone, delete ${file}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function ownedLock(file: string, holder: LockHolder, id: Identity): Lock {
  return {
    file,
    holder,
    release: () => unlinkIfSame(file, id),
  };
}

/** Creates `file` with `holder` as content, atomically; returns its identity, or null if it exists. */
function createExclusive(file: string, holder: LockHolder): Identity | null {
  const text = `${JSON.stringify(holder)}\n`;
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return { ino: statSync(temp).ino, text };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw new RefitError('journal', `cannot create the lock file ${file}: ${(err as Error).message}`, 'check that stateDir is a writable local directory', { cause: err });
  } finally {
    unlinkSync(temp);
  }
}

/** What makes a lock file the one we judged: its inode (reused after deletion) AND its content. */
interface Identity {
  ino: number;
  text: string;
}

function identify(path: string): Identity | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return { ino: fstatSync(fd).ino, text: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

function readHolder(file: string): { holder: LockHolder; id: Identity } | null {
  const id = identify(file);
  if (!id) return null;
  try {
    const h = JSON.parse(id.text) as LockHolder;
    if (typeof h.pid !== 'number') throw new Error('no pid');
    return { holder: h, id };
  } catch {
    // refit always writes complete content (link of a fsynced file): this is not ours to judge.
    throw new RefitError('journal', `the host lock ${file} does not contain a refit lock holder`, `delete ${file} if no refit is running`);
  }
}

/** Deletes the stale lock `stale` under the takeover guard; returns without deleting when the guard is busy. */
function removeStale(file: string, stale: Identity, me: LockHolder): void {
  const guard = `${file}.takeover`;
  const mine = createExclusive(guard, me);
  if (mine === null) {
    const other = readHolder(guard);
    if (other && !isAlive(other.holder)) unlinkIfSame(guard, other.id);
    else pause(10);
    return;
  }
  try {
    unlinkIfSame(file, stale);
  } finally {
    unlinkIfSame(guard, mine);
  }
}

function unlinkIfSame(path: string, id: Identity): void {
  const now = identify(path);
  if (!now || now.ino !== id.ino || now.text !== id.text) return;
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Alive = same host, pid exists, and (where /proc tells) it is the same process that took the lock. */
export function isAlive(h: LockHolder): boolean {
  if (h.host !== hostname()) return true; // cannot check another host's processes: assume it runs
  return processAlive(h.pid, h.startTime);
}

/** The process `pid` exists and (where /proc tells) is the one that started at `startTime`, not a later one with its pid. */
export function processAlive(pid: number, startTime: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: the pid exists but belongs to another user.
  }
  const now = processStartTime(pid);
  return startTime === null || now === null || now === startTime;
}

/** Start time of a process in clock ticks since boot (/proc/PID/stat field 22), or null. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may itself contain spaces or ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
