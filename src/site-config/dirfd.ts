/**
 * @module site-config/dirfd
 * Race-free addressing of names inside a directory that a customer may control. refit runs as
 * root; a path like /srv/shop/conf can be swapped for a symlink between a check and a use. We
 * open the directory once with O_NOFOLLOW, check what we opened, and from then on name its
 * entries through /proc/self/fd/N/NAME, which resolves through the descriptor (not the path)
 * and so cannot be redirected. (Node has no openat/renameat; this is their Linux equivalent.)
 * Files refit writes in such a directory (compose and env files) are replaced the same way.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { RefitError } from '../errors.js';

export interface DirHandle {
  fd: number;
  /** The path we opened, for messages only: never used to reach files. */
  path: string;
  stat: Stats;
  /** A path to `name` inside this directory that does not depend on the directory's path. */
  at(name: string): string;
  close(): void;
}

export function openDir(path: string): DirHandle {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' || code === 'ENOTDIR' ? 'is a symlink or not a directory' : `cannot be opened (${code})`;
    throw new RefitError('unsafe-path', `${path} ${why}`, 'refit only works on real directories, never through links', { cause: err });
  }
  const stat = fstatSync(fd);
  return {
    fd,
    path,
    stat,
    at: (name) => {
      if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new RefitError('internal', `not a single path component: ${JSON.stringify(name)}`);
      return `/proc/self/fd/${fd}/${name}`;
    },
    close: () => closeSync(fd),
  };
}

/**
 * Opens a directory by its real path (no links in it), one component at a time from `/`, each
 * with O_NOFOLLOW through the one before: a component swapped for a link since the path was
 * resolved makes this fail instead of leading elsewhere.
 */
export function openRealDir(realPath: string): DirHandle {
  let dir = openDir('/');
  for (const part of realPath.split('/').filter(Boolean)) {
    let next: DirHandle;
    try {
      next = openDir(dir.at(part));
    } catch (err) {
      dir.close();
      throw new RefitError('unsafe-path', `${realPath} changed while refit was opening it (${part} is not a directory any more)`, 'something is racing refit in that directory', { cause: err });
    }
    dir.close();
    dir = next;
  }
  return { ...dir, path: realPath };
}

/** Reads a regular file in `dir` without following a link. */
export function readFileAt(dir: DirHandle, name: string): { text: string; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(dir.at(name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RefitError('unsafe-path', `${join(dir.path, name)} ${code === 'ELOOP' ? 'is a link now' : `cannot be read (${code})`}`, 'refit reads and writes only the regular file it checked', { cause: err });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new RefitError('unsafe-path', `${join(dir.path, name)} is not a regular file`, 'refit reads and writes only regular files');
    return { text: readFileSync(fd, 'utf8'), stat };
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `name` in `dir` atomically: the new bytes go to a fresh file with a random name
 * created O_EXCL|O_NOFOLLOW (nothing planted in the directory can be written through), owned
 * and moded like `like`, synced, then renamed over `name`. `beforeRename` may throw to abandon
 * the replacement (the file changed under refit); the temp file is then removed.
 */
export function replaceFileAt(dir: DirHandle, name: string, text: string, like: Stats, beforeRename: () => void = () => undefined): void {
  const temp = `.${name}.refit-${randomBytes(8).toString('hex')}.tmp`;
  let fd = openSync(dir.at(temp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    const data = Buffer.from(text, 'utf8');
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fchownSync(fd, like.uid, like.gid);
    fchmodSync(fd, like.mode & 0o7777);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    beforeRename();
    renameSync(dir.at(temp), dir.at(name));
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(dir.at(temp));
    } catch {
      // already renamed
    }
    throw err;
  }
  fsyncSync(dir.fd);
}
