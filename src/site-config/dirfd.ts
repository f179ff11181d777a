/**
 * @module site-config/dirfd
 * Race-free addressing of names inside a directory that a customer may control. refit runs as
 * root; a path like /srv/shop/conf can be swapped for a symlink between a check and a use. We
 * open the directory once with O_NOFOLLOW, check what we opened, and from then on name its
 * entries through /proc/self/fd/N/NAME, which resolves through the descriptor (not the path)
 * and so cannot be redirected. (Node has no openat/renameat; this is their Linux equivalent.)
 */
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
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
