/**
 * @module merge/stock-cache
 * Stock configs by image: an image's config path is extracted once per image ID and kept in
 * refit's state dir (`stateDir/cache/stock`), then copied from there for every site on that
 * image. An image ID names the image's content, so a kept copy never goes stale.
 *
 * Safe against a crash mid-extract: an entry is made in a temporary dir named after the refit
 * process making it, and appears under its key only by one rename, complete with its record
 * (what the extraction refused). Several maintenances asking for the same entry at once share
 * one extraction; two refits racing keep the first rename. Bounded: `prune` keeps the entries
 * used last, up to a count and a byte total, and removes what dead refits left half made.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive, processStartTime } from '../journal/lock.js';
import { readTreeSafely } from './read-tree.js';
import type { Refusal, Tree } from './tree.js';
import { writeTree } from './write-tree.js';

export interface StockEntry {
  /** The kept tree: read it, never write into it. */
  tree: string;
  /** What the extraction refused (not in `tree`). */
  refused: Refusal[];
}

interface Record {
  imageId: string;
  containerPath: string;
  refused: Refusal[];
  /** File bytes of the tree, for the cache's byte bound. */
  bytes: number;
}

/** The cache's bounds: entries beyond either are pruned, those used longest ago first. */
export interface StockCacheBounds {
  entries: number;
  bytes: number;
}

export const DEFAULT_STOCK_CACHE_BOUNDS: StockCacheBounds = { entries: 64, bytes: 512 * 1024 * 1024 };

const TMP_PREFIX = '.tmp-';

/** The directory name of an entry (pure). */
export function stockKey(imageId: string, containerPath: string): string {
  return createHash('sha256').update(`${imageId}\0${containerPath.replace(/\/+$/, '')}`).digest('hex').slice(0, 40);
}

/** Which entries to drop so that the rest fit the bounds, keeping those used last (pure). */
export function entriesToPrune(entries: { name: string; usedMs: number; bytes: number }[], bounds: StockCacheBounds): string[] {
  const newestFirst = [...entries].sort((a, b) => b.usedMs - a.usedMs);
  const drop: string[] = [];
  let bytes = 0;
  newestFirst.forEach((e, i) => {
    bytes += e.bytes;
    if (i >= bounds.entries || bytes > bounds.bytes) drop.push(e.name);
  });
  return drop;
}

export class StockCache {
  private readonly inFlight = new Map<string, Promise<StockEntry>>();

  constructor(readonly root: string) {}

  /**
   * The kept stock configs of `imageId` at `containerPath`, extracted first (by `extract`, into
   * the directory it is given, which must not exist yet) when no entry is kept.
   */
  get(imageId: string, containerPath: string, extract: (dest: string) => Promise<Tree>): Promise<StockEntry> {
    const key = stockKey(imageId, containerPath);
    let entry = this.inFlight.get(key);
    if (!entry) {
      entry = this.lookUpOrMake(key, { imageId, containerPath }, extract).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, entry);
    }
    return entry;
  }

  /** Copies the kept tree into `dest` (which must not exist yet), as the extraction would have written it. */
  async copyInto(entry: StockEntry, dest: string): Promise<void> {
    await writeTree(dest, await readTreeSafely(entry.tree), { owners: false });
  }

  private async lookUpOrMake(key: string, what: { imageId: string; containerPath: string }, extract: (dest: string) => Promise<Tree>): Promise<StockEntry> {
    const dir = join(this.root, key);
    const kept = await this.read(dir, what);
    if (kept) return kept;
    // Not kept, or not readable as an entry of this image and path: made afresh.
    await rm(dir, { recursive: true, force: true });
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const tmp = join(this.root, `${TMP_PREFIX}${process.pid}-${processStartTime(process.pid) ?? 0}-${key}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { mode: 0o700 });
    try {
      const tree = await extract(join(tmp, 'tree'));
      const bytes = [...tree.nodes.values()].reduce((n, node) => n + (node.kind === 'file' ? node.data.length : 0), 0);
      const record: Record = { ...what, refused: tree.refused, bytes };
      await writeFile(join(tmp, 'record.json'), JSON.stringify(record), { mode: 0o600, flag: 'wx' });
      try {
        await rename(tmp, dir);
      } catch (err) {
        // Another refit made the entry first: theirs is as good.
        if (!['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      }
      return { tree: join(dir, 'tree'), refused: tree.refused };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The entry at `dir` when it is one for this image and path; marks it used. */
  private async read(dir: string, what: { imageId: string; containerPath: string }): Promise<StockEntry | null> {
    let record: Record;
    try {
      record = JSON.parse(await readFile(join(dir, 'record.json'), 'utf8')) as Record;
      if (!(await stat(join(dir, 'tree'))).isDirectory()) return null;
    } catch {
      return null;
    }
    if (record.imageId !== what.imageId || record.containerPath !== what.containerPath || !Array.isArray(record.refused)) return null;
    const now = new Date();
    await utimes(dir, now, now).catch(() => undefined);
    return { tree: join(dir, 'tree'), refused: record.refused };
  }

  /** Drops the entries beyond the bounds (used longest ago first) and what dead refits left half made; names what it removed. */
  async prune(bounds: StockCacheBounds = DEFAULT_STOCK_CACHE_BOUNDS): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const removed: string[] = [];
    const entries: { name: string; usedMs: number; bytes: number }[] = [];
    for (const name of names) {
      if (name.startsWith(TMP_PREFIX)) {
        const [pid, start] = name.slice(TMP_PREFIX.length).split('-');
        if (!processAlive(Number(pid), start === '0' ? null : (start ?? null))) removed.push(name);
        continue;
      }
      const st = await stat(join(this.root, name)).catch(() => null);
      if (!st) continue;
      const record = await readFile(join(this.root, name, 'record.json'), 'utf8').then((t) => JSON.parse(t) as Record, () => null);
      if (!record) removed.push(name);
      else entries.push({ name, usedMs: st.mtimeMs, bytes: record.bytes });
    }
    removed.push(...entriesToPrune(entries, bounds));
    for (const name of removed) await rm(join(this.root, name), { recursive: true, force: true });
    return removed;
  }
}
