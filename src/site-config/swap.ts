/**
 * @module site-config/swap
 * Installs the merged config tree into the customer's config directory atomically, and undoes
 * it. The merged tree is first staged in a root-only sibling directory (same filesystem), then
 * two renames put it in place: customer dir -> `previous`, staging -> customer dir. At any
 * instant a crash leaves the directory either the old tree or the complete merged tree (or,
 * between the two renames, absent with both trees beside it, which `swapIn` or `swapBack`
 * finish from the names alone). All names derive from the maintenance id, so recovery after a
 * crash needs no other record.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fsyncSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RefitError } from '../errors.js';
import { openDir, type DirHandle } from './dirfd.js';

export interface SwapNames {
  /** The customer's config directory (host path). */
  dir: string;
  /** Sibling holding the merged tree until it is swapped in. */
  staging: string;
  /** Sibling holding the customer's tree while the swap can still be undone. */
  previous: string;
  /** Sibling a swapped-in tree is moved to when the swap is undone, before it is removed. */
  discard: string;
}

/** Pure: the sibling names for one maintenance. */
export function swapNames(dir: string, maintenanceId: string): SwapNames {
  const clean = dir.replace(/\/+$/, '');
  const tag = maintenanceId.replace(/[^A-Za-z0-9_-]/g, '');
  const at = (kind: string) => join(dirname(clean), `.${basename(clean)}.refit-${kind}-${tag}`);
  return { dir: clean, staging: at('new'), previous: at('old'), discard: at('discard') };
}

export type SwapState = 'untouched' | 'staged' | 'half-swapped' | 'swapped';

/** Runs `fn` with the config dir's parent opened safely; names inside are reached through it. */
function inParent<T>(n: SwapNames, fn: (parent: DirHandle, has: (p: string) => boolean, at: (p: string) => string) => T): T {
  const parent = openDir(dirname(n.dir));
  const at = (p: string) => parent.at(basename(p));
  const has = (p: string) => lstatOrNull(at(p)) !== null;
  try {
    return fn(parent, has, at);
  } finally {
    parent.close();
  }
}

/** What the directory looks like now, from the names alone (for recover). */
export function swapState(n: SwapNames): SwapState {
  return inParent(n, (_p, has) => {
    if (has(n.previous)) return has(n.dir) ? 'swapped' : 'half-swapped';
    return has(n.staging) ? 'staged' : 'untouched';
  });
}

/**
 * Copies the refit-private merged tree into a fresh root-only staging directory beside the
 * customer's dir, every entry owned like the customer's dir. Safe to repeat.
 */
export function stage(n: SwapNames, mergedDir: string): void {
  inParent(n, (parent, has, at) => {
    const current = lstatOrNull(at(n.dir));
    if (!current?.isDirectory()) {
      throw new RefitError('unsafe-path', `config dir ${n.dir} is ${current ? `a ${kindOf(current)}` : 'missing'}, not a directory`, 'refit installs configs only into a real directory');
    }
    if (has(n.staging)) removeTree(parent, basename(n.staging));
    mkdirSync(at(n.staging), { mode: 0o700 });
    const staging = openDir(at(n.staging));
    try {
      if (staging.stat.uid !== process.getuid?.() || (staging.stat.mode & 0o777) !== 0o700) {
        throw new RefitError('unsafe-path', `${n.staging} is not the private directory refit just made`, 'something is racing refit in the site directory');
      }
      copyTree(mergedDir, `/proc/self/fd/${staging.fd}`, { uid: current.uid, gid: current.gid });
      // The top directory takes the customer dir's owner and mode last, once its content is complete.
      fchownSync(staging.fd, current.uid, current.gid);
      fchmodSync(staging.fd, current.mode & 0o7777);
      fsyncSync(staging.fd);
    } finally {
      staging.close();
    }
  });
}

/** Puts the staged tree in place. Safe to repeat, and finishes a half-done swap. */
export function swapIn(n: SwapNames): void {
  inParent(n, (parent, has, at) => {
    if (!has(n.previous)) {
      if (!has(n.staging)) throw new RefitError('internal', `nothing staged for ${n.dir}`);
      renameSync(at(n.dir), at(n.previous));
    }
    if (has(n.staging)) {
      if (has(n.dir)) throw new RefitError('unsafe-path', `${n.dir} reappeared during the config swap`, 'something is racing refit in the site directory');
      renameSync(at(n.staging), at(n.dir));
    }
    fsyncSync(parent.fd);
  });
}

/** Undoes stage and swapIn from whatever state they reached; the customer's tree is back. */
export function swapBack(n: SwapNames): void {
  inParent(n, (parent, has, at) => {
    if (has(n.previous)) {
      if (has(n.dir)) renameSync(at(n.dir), at(n.discard));
      renameSync(at(n.previous), at(n.dir));
      fsyncSync(parent.fd);
    }
    for (const leftover of [n.discard, n.staging]) if (has(leftover)) removeTree(parent, basename(leftover));
  });
}

/** After a successful maintenance: the customer's previous tree is dropped (a backup was kept). */
export function commitSwap(n: SwapNames): void {
  inParent(n, (parent, has) => {
    for (const leftover of [n.previous, n.staging, n.discard]) if (has(leftover)) removeTree(parent, basename(leftover));
  });
}

/**
 * Removes a tree in a customer-writable directory. Before descending, the top is made root-only
 * so that nobody can swap a subdirectory for a symlink under the removal.
 */
function removeTree(parent: DirHandle, name: string): void {
  const path = parent.at(name);
  const st = lstatOrNull(path);
  if (!st) return;
  if (!st.isDirectory()) {
    unlinkSync(path);
    return;
  }
  const dir = openDir(path);
  try {
    fchownSync(dir.fd, 0, 0);
    fchmodSync(dir.fd, 0o700);
  } finally {
    dir.close();
  }
  rmSync(path, { recursive: true, force: true });
}

/** Copies a trusted tree (refit's own scratch) into a root-only destination. */
function copyTree(src: string, dst: string, owner: { uid: number; gid: number }): void {
  for (const name of readdirSync(src).sort()) {
    const from = join(src, name);
    const to = `${dst}/${name}`;
    const st = lstatSync(from);
    if (st.isDirectory()) {
      mkdirSync(to, { mode: 0o700 });
      copyTree(from, to, owner);
      const fd = openSync(to, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        fchownSync(fd, owner.uid, owner.gid);
        fchmodSync(fd, st.mode & 0o7777);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } else if (st.isFile()) {
      const fd = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        const data = readFileSync(from);
        for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
        fchownSync(fd, owner.uid, owner.gid);
        fchmodSync(fd, st.mode & 0o777); // never setuid/setgid in a config tree
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), to);
      lchownSync(to, owner.uid, owner.gid);
    } else {
      throw new RefitError('unsafe-path', `merged tree holds ${from}, a ${kindOf(st)}`, 'a config tree may hold only files, directories and links');
    }
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'device';
}
