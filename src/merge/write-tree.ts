/**
 * @module merge/write-tree
 * Writes a Tree into a directory refit just created for it. Entries are created exclusively
 * and never through a link (O_EXCL|O_NOFOLLOW), so nothing outside `dest` can be written even
 * if the tree were wrong. A file gets its owner and mode on the descriptor it was written
 * through; directories and links get theirs last, deepest first, so that read-only directories
 * can still be filled. Synchronous calls, yielding every few hundred entries: see read-tree.ts
 * for why.
 */
import { chmodSync, closeSync, constants, fchmodSync, fchownSync, lchownSync, mkdirSync, openSync, symlinkSync, writeSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { join } from 'node:path';
import { RefitError } from '../errors.js';
import type { Tree, TreeNode } from './tree.js';

export interface WriteOptions {
  /** Give every entry its recorded uid/gid (refit runs as root); otherwise entries stay refit's. */
  owners: boolean;
}

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Creates `dest` private (0700) and writes the tree's entries into it. `dest` must not exist. */
export async function writeTree(dest: string, tree: Pick<Tree, 'nodes'>, options: WriteOptions): Promise<void> {
  await createPrivateDir(dest);
  await writeNodes(dest, tree.nodes, options);
}

export async function createPrivateDir(dest: string): Promise<void> {
  try {
    await mkdir(dest, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new RefitError('merge', `${dest} already exists; refit writes trees only into a directory it creates`, 'remove it or choose another path', { cause: err });
    throw new RefitError('merge', `cannot create ${dest}: ${(err as Error).message}`, 'check that its parent directory exists and is writable', { cause: err });
  }
  await chmod(dest, 0o700); // mkdir's mode is filtered by the umask
}

/** Writes entries below an existing directory that refit owns and that is empty. */
export async function writeNodes(dest: string, nodes: ReadonlyMap<string, TreeNode>, options: WriteOptions): Promise<void> {
  const paths = [...nodes.keys()].sort(); // a parent sorts before everything below it
  for (const [i, path] of paths.entries()) {
    if (i % 256 === 255) await yieldToEventLoop();
    create(join(dest, path), nodes.get(path)!, options);
  }
  const rest = paths.reverse().filter((path) => nodes.get(path)!.kind !== 'file');
  for (const [i, path] of rest.entries()) {
    if (i % 256 === 255) await yieldToEventLoop();
    const node = nodes.get(path)!;
    const full = join(dest, path);
    // chown before chmod: chown may clear mode bits.
    if (options.owners) lchownSync(full, node.uid, node.gid);
    if (node.kind !== 'symlink') chmodSync(full, node.mode);
  }
}

function create(full: string, node: TreeNode, options: WriteOptions): void {
  switch (node.kind) {
    case 'dir':
      mkdirSync(full, { mode: 0o700 });
      return;
    case 'symlink':
      symlinkSync(node.target, full);
      return;
    case 'file': {
      const fd = openSync(full, CREATE_FILE, 0o600);
      try {
        for (let done = 0; done < node.data.length; ) done += writeSync(fd, node.data, done);
        // chown before chmod: chown may clear mode bits.
        if (options.owners) fchownSync(fd, node.uid, node.gid);
        fchmodSync(fd, node.mode);
      } finally {
        closeSync(fd);
      }
    }
  }
}
