/**
 * @module merge/tree
 * A config tree held in memory: what refit read (safely) from an image or a customer dir, and
 * what it refused. Paths are relative, `/`-separated, without `.` or `..` components; the root
 * itself is not an entry. Pure helpers for the rules every reader shares.
 */
import { posix } from 'node:path';

export interface Owner {
  uid: number;
  gid: number;
}

export type TreeNode =
  | ({ kind: 'dir'; mode: number } & Owner)
  | ({ kind: 'file'; mode: number; data: Buffer } & Owner)
  | ({ kind: 'symlink'; target: string } & Owner);

export type NodeKind = TreeNode['kind'];

/** Something refit would not copy, and why (reported to the operator, never silently dropped). */
export interface Refusal {
  path: string;
  reason: string;
}

export interface Tree {
  /** Mode and owner of the tree's root directory. */
  root: { mode: number } & Owner;
  nodes: Map<string, TreeNode>;
  refused: Refusal[];
  /** Facts worth telling the operator that are not refusals (e.g. "the image ships no stock configs"). */
  notes: string[];
}

export function emptyTree(root: Tree['root'] = { mode: 0o755, uid: 0, gid: 0 }): Tree {
  return { root, nodes: new Map(), refused: [], notes: [] };
}

/**
 * Mode bits refit keeps: permissions and sticky, plus setgid on directories (shared-group
 * config dirs use it, and it grants nothing). setuid anywhere and setgid on files are refused.
 */
export function keptMode(kind: NodeKind, mode: number): number {
  return mode & (kind === 'dir' ? 0o3777 : 0o1777);
}

export function setidRefusal(kind: NodeKind, mode: number): string | null {
  const forbidden = kind === 'dir' ? 0o4000 : 0o6000;
  return mode & forbidden ? `has the setuid/setgid bit (mode ${(mode & 0o7777).toString(8)})` : null;
}

export type NormalizedName = { ok: true; path: string } | { ok: false; reason: string };

/**
 * An archive or directory entry name as a tree path: `./a//b/` -> `a/b`, the root -> ``.
 * Absolute names and `..` components are refused: they would lead out of the tree.
 */
export function normalizeName(name: string): NormalizedName {
  if (name.startsWith('/')) return { ok: false, reason: 'absolute name' };
  if (name.includes('\0')) return { ok: false, reason: 'name contains a NUL byte' };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { ok: false, reason: 'name contains a ".." component' };
  return { ok: true, path: parts.join('/') };
}

/** True when `path` is `ancestor` or lies below it. */
export function isWithin(path: string, ancestor: string): boolean {
  return ancestor === '' || path === ancestor || path.startsWith(`${ancestor}/`);
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/**
 * Resolves a link's target the way the kernel would, against the tree itself (following links
 * inside it, up to 40 hops), and says whether it ever leaves the tree. A lexical check alone is
 * not enough: `d/e/y -> ../..` makes `d/e/x -> y/../../../etc` look inside while it is not.
 * Absolute targets leave the tree by definition: on the host they name host files.
 */
export function linkEscapes(nodes: ReadonlyMap<string, TreeNode>, linkPath: string, target: string): string | null {
  if (target === '') return 'empty link target';
  if (target.startsWith('/')) return `absolute link target ${JSON.stringify(target)}`;
  let hops = 0;
  const walk = (dir: string[], rel: string): string | null => {
    const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
    for (const part of parts) {
      if (part === '..') {
        if (!dir.length) return `link target ${JSON.stringify(target)} leads out of the tree`;
        dir.pop();
        continue;
      }
      const here = [...dir, part].join('/');
      const node = nodes.get(here);
      if (node?.kind === 'symlink') {
        if (++hops > 40) return `link target ${JSON.stringify(target)} loops`;
        if (node.target.startsWith('/')) return `link target ${JSON.stringify(target)} goes through an absolute link`;
        const escaped = walk(dir, node.target);
        if (escaped) return escaped;
        continue;
      }
      dir.push(part);
    }
    return null;
  };
  return walk(posix.dirname(linkPath) === '.' ? [] : posix.dirname(linkPath).split('/'), target);
}

/** Drops links that leave the tree (checked once the whole tree is known), recording why. */
export function refuseEscapingLinks(tree: Tree): void {
  // Decide every link against the full tree first: a kept link may pass through a refused one.
  const escaping: Refusal[] = [];
  for (const [path, node] of tree.nodes) {
    if (node.kind !== 'symlink') continue;
    const why = linkEscapes(tree.nodes, path, node.target);
    if (why) escaping.push({ path, reason: `symlink leaves the tree: ${why}` });
  }
  for (const r of escaping) tree.nodes.delete(r.path);
  tree.refused.push(...escaping);
}

/** Git's rule: a NUL in the first 8000 bytes makes a file binary; big files are treated alike. */
export function isBinary(data: Buffer, maxTextBytes: number): boolean {
  return data.length > maxTextBytes || data.subarray(0, 8000).includes(0);
}
