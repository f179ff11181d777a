/**
 * @module merge/fingerprint
 * A tree's fingerprint (pure): a SHA-256 over everything the merge reads of it, in path order:
 * the root's mode and owner, each entry's path, kind, mode, owner and content (a file's bytes,
 * a link's text), and what was refused. Two reads of a tree give the same fingerprint exactly
 * when the merge would see the same tree: it tells whether a customer changed their config dir
 * since it was merged, whatever they touched.
 */
import { createHash } from 'node:crypto';
import type { Tree } from './tree.js';

export function treeFingerprint(tree: Tree): string {
  const h = createHash('sha256');
  const field = (...parts: (string | number)[]) => h.update(`${parts.join('\0')}\n`);
  field('root', tree.root.mode, tree.root.uid, tree.root.gid);
  for (const [path, node] of [...tree.nodes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (node.kind === 'symlink') field('symlink', path, node.uid, node.gid, node.target);
    else if (node.kind === 'dir') field('dir', path, node.mode, node.uid, node.gid);
    else field('file', path, node.mode, node.uid, node.gid, createHash('sha256').update(node.data).digest('hex'));
  }
  for (const r of [...tree.refused].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) field('refused', r.path, r.reason);
  return `sha256:${h.digest('hex')}`;
}
