/**
 * @module merge/snapshot
 * A private copy of a customer-writable directory: read with the rules of read-tree.ts, then
 * written into `dest` (created 0700, owned by refit) with modes kept and each entry's owner and
 * group recorded on the copy. What could not be copied safely is in `refused`.
 */
import type { TreeLimits } from './limits.js';
import { readTreeSafely } from './read-tree.js';
import type { Tree } from './tree.js';
import { writeTree } from './write-tree.js';

export async function snapshotTree(src: string, dest: string, limits: Partial<TreeLimits> = {}): Promise<Tree> {
  const tree = await readTreeSafely(src, limits);
  await writeTree(dest, tree, { owners: process.getuid?.() === 0 });
  return tree;
}
