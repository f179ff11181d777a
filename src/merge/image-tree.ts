/**
 * @module merge/image-tree
 * Turns the entries of an image's config archive into a Tree, refusing what could harm the
 * host: absolute or `..` names, links that leave the tree, devices, FIFOs, setuid/setgid
 * bits, oversize files. Hard links become copies. Pure: no fs, no Docker.
 */
import { posix } from 'node:path';
import { RefitError } from '../errors.js';
import type { TreeLimits } from './limits.js';
import { readTar, type TarEntry } from './tar.js';
import { emptyTree, isWithin, keptMode, normalizeName, parentOf, refuseEscapingLinks, setidRefusal, type Tree } from './tree.js';

/** Reads a tar stream of the tree at `containerPath` (entries named `./...`) into a Tree. */
export async function imageTreeFromTar(source: AsyncIterable<Buffer | Uint8Array | string>, containerPath: string, limits: TreeLimits): Promise<Tree> {
  const builder = new ImageTreeBuilder(limits, containerPath);
  // Oversize files are skipped, not held, but still cross the wire: bound the stream as well.
  const maxArchiveBytes = limits.maxTotalBytes * 2 + 64 * 1024 * 1024;
  for await (const entry of readTar(source, { maxEntryBytes: limits.maxFileBytes, maxArchiveBytes })) builder.add(entry);
  return builder.finish();
}

export class ImageTreeBuilder {
  private readonly tree = emptyTree();
  private readonly refusedDirs: string[] = [];
  private entries = 0;
  private bytes = 0;

  /** `containerPath` is where the tree lives in the image: absolute links into it are made relative. */
  constructor(
    private readonly limits: TreeLimits,
    private readonly containerPath: string,
  ) {}

  add(entry: TarEntry): void {
    if (++this.entries > this.limits.maxEntries) {
      throw new RefitError('merge', `the image's config tree at ${this.containerPath} has more than ${this.limits.maxEntries} entries`, 'point refit.config at the config directory only');
    }
    const name = normalizeName(entry.name);
    if (!name.ok) return this.refuse(entry.name, name.reason);
    const path = name.path;
    if (path === '') {
      if (entry.type !== 'dir') return this.refuse('.', `the config path is a ${entry.type}, not a directory`);
      this.tree.root = { mode: keptMode('dir', entry.mode), uid: 0, gid: 0 };
      return;
    }
    const inRefused = this.refusedDirs.find((d) => isWithin(path, d));
    if (inRefused !== undefined) return this.refuse(path, `inside refused directory ${inRefused}`);
    if (path.split('/').length > this.limits.maxDepth) return this.refuse(path, `nested deeper than ${this.limits.maxDepth} directories`);
    const kind = entry.type === 'dir' ? 'dir' : 'file';
    const setid = setidRefusal(kind, entry.mode);
    if (setid) return this.refuse(path, setid);
    const mode = keptMode(kind, entry.mode);
    const owner = { uid: 0, gid: 0 };

    switch (entry.type) {
      case 'dir':
        this.tree.nodes.set(path, { kind: 'dir', mode, ...owner });
        return;
      case 'file': {
        if (!entry.data) return this.refuse(path, `file of ${entry.size} bytes is over the ${this.limits.maxFileBytes}-byte limit`);
        this.count(entry.data.length);
        this.tree.nodes.set(path, { kind: 'file', mode, ...owner, data: entry.data });
        return;
      }
      case 'hardlink': {
        const target = normalizeName(entry.linkname);
        const source = target.ok ? this.tree.nodes.get(target.path) : undefined;
        if (source?.kind !== 'file') return this.refuse(path, `hard link to ${JSON.stringify(entry.linkname)}, which is not a file in the tree`);
        this.count(source.data.length);
        this.tree.nodes.set(path, { kind: 'file', mode, ...owner, data: source.data });
        return;
      }
      case 'symlink':
        this.tree.nodes.set(path, { kind: 'symlink', target: this.relativeLink(path, entry.linkname), ...owner });
        return;
      case 'char':
      case 'block':
        return this.refuse(path, `is a ${entry.type} device`);
      case 'fifo':
        return this.refuse(path, 'is a FIFO');
      default:
        return this.refuse(path, `unsupported tar entry type ${JSON.stringify(entry.typeflag)}`);
    }
  }

  /** The tree, once every entry was added: parents checked, missing ones made, links checked. */
  finish(): Tree {
    const nodes = this.tree.nodes;
    for (const path of [...nodes.keys()].sort()) {
      if (!nodes.has(path)) continue;
      for (let dir = parentOf(path); dir !== ''; dir = parentOf(dir)) {
        const parent = nodes.get(dir);
        if (!parent) nodes.set(dir, { kind: 'dir', mode: 0o755, uid: 0, gid: 0 });
        else if (parent.kind !== 'dir') {
          // A later entry replaced a directory with a file or link: what was under it cannot stay.
          nodes.delete(path);
          this.tree.refused.push({ path, reason: `its parent ${dir} is a ${parent.kind}, not a directory` });
          break;
        }
      }
    }
    refuseEscapingLinks(this.tree);
    return this.tree;
  }

  /** Absolute links into the config path keep working once the tree is mounted elsewhere. */
  private relativeLink(path: string, target: string): string {
    if (!target.startsWith('/')) return target;
    const absolute = posix.normalize(target);
    const root = posix.normalize(this.containerPath).replace(/\/+$/, '') || '/';
    if (!isWithin(absolute.slice(1), root.slice(1))) return target; // refused in finish(): it leaves the tree
    const from = posix.dirname(posix.join(root, path));
    return posix.relative(from, absolute) || '.';
  }

  private count(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limits.maxTotalBytes) {
      throw new RefitError('merge', `the image's config tree at ${this.containerPath} is larger than ${this.limits.maxTotalBytes} bytes`, 'point refit.config at the config directory only');
    }
  }

  private refuse(path: string, reason: string): void {
    this.tree.refused.push({ path, reason });
    this.tree.nodes.delete(path);
    this.refusedDirs.push(path);
  }
}
