import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entriesToPrune, StockCache, stockKey } from './stock-cache.js';
import { emptyTree, type Tree } from './tree.js';
import { writeTree } from './write-tree.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'refit-stock-cache-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const tree = (files: Record<string, string>, refused: Tree['refused'] = []): Tree => {
  const t = emptyTree();
  for (const [path, text] of Object.entries(files)) t.nodes.set(path, { kind: 'file', mode: 0o644, uid: 0, gid: 0, data: Buffer.from(text) });
  t.refused.push(...refused);
  return t;
};

/** An extraction that counts its runs and can be held until released. */
function extraction(files: Record<string, string>, refused: Tree['refused'] = []) {
  let runs = 0;
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  return {
    runs: () => runs,
    release: () => release(),
    extract: async (dest: string) => {
      runs++;
      await held;
      const t = tree(files, refused);
      await writeTree(dest, t, { owners: false });
      return t;
    },
  };
}

describe('stock config cache', () => {
  it('extracts an image path once: maintenances asking at the same time share it, later ones copy it, with what it refused', async () => {
    const cache = new StockCache(join(root, 'stock'));
    const x = extraction({ 'site.conf': 'stock\n' }, [{ path: 'pipe', reason: 'is a FIFO' }]);
    const both = Promise.all([cache.get('sha256:a', '/etc/site', x.extract), cache.get('sha256:a', '/etc/site/', x.extract)]);
    x.release();
    const [first, second] = await both;
    expect(second).toEqual(first);
    const again = await new StockCache(join(root, 'stock')).get('sha256:a', '/etc/site', x.extract);
    expect(x.runs()).toBe(1);
    expect(again.refused).toEqual([{ path: 'pipe', reason: 'is a FIFO' }]);
    await cache.copyInto(again, join(root, 'dest'));
    expect(readFileSync(join(root, 'dest', 'site.conf'), 'utf8')).toBe('stock\n');
    expect(readdirSync(join(root, 'stock'))).toEqual([stockKey('sha256:a', '/etc/site')]);
  });

  it('keeps nothing of an extraction that failed or was cut short, and extracts again next time', async () => {
    const cache = new StockCache(join(root, 'stock'));
    await expect(cache.get('sha256:a', '/etc/site', async () => Promise.reject(new Error('engine went away')))).rejects.toThrow('engine went away');
    expect(readdirSync(join(root, 'stock'))).toEqual([]);
    // A refit killed mid-extract leaves its temporary dir (pid 2^22 + 1 runs nowhere), never an entry.
    mkdirSync(join(root, 'stock', `.tmp-${2 ** 22 + 1}-1-${stockKey('sha256:a', '/etc/site')}`, 'tree'), { recursive: true });
    const x = extraction({ 'site.conf': 'stock\n' });
    x.release();
    await cache.get('sha256:a', '/etc/site', x.extract);
    expect(x.runs()).toBe(1);
    expect(await cache.prune()).toEqual([`.tmp-${2 ** 22 + 1}-1-${stockKey('sha256:a', '/etc/site')}`]);
    expect(readdirSync(join(root, 'stock'))).toEqual([stockKey('sha256:a', '/etc/site')]);
  });

  it('an entry that is not one of this image and path (damaged, or a clash of keys) is made afresh', async () => {
    const cache = new StockCache(join(root, 'stock'));
    const x = extraction({ 'site.conf': 'stock\n' });
    x.release();
    await cache.get('sha256:a', '/etc/site', x.extract);
    rmSync(join(root, 'stock', stockKey('sha256:a', '/etc/site'), 'record.json'));
    await cache.get('sha256:a', '/etc/site', x.extract);
    expect(x.runs()).toBe(2);
  });

  it('prune keeps the entries used last, within the count and the bytes', async () => {
    const cache = new StockCache(join(root, 'stock'));
    for (const [i, id] of ['sha256:a', 'sha256:b', 'sha256:c'].entries()) {
      const x = extraction({ 'site.conf': 'x'.repeat(100) });
      x.release();
      await cache.get(id, '/etc/site', x.extract);
      utimesSync(join(root, 'stock', stockKey(id, '/etc/site')), 1000 + i, 1000 + i);
    }
    // b is used again: it is the newest now.
    await cache.get('sha256:b', '/etc/site', () => Promise.reject(new Error('not extracted again')));
    expect(await cache.prune({ entries: 2, bytes: 1024 })).toEqual([stockKey('sha256:a', '/etc/site')]);
    expect(await cache.prune({ entries: 2, bytes: 150 })).toEqual([stockKey('sha256:c', '/etc/site')]);
  });

  it('entriesToPrune: newest first, until the count or the byte total is passed', () => {
    const e = (name: string, usedMs: number, bytes = 10) => ({ name, usedMs, bytes });
    expect(entriesToPrune([e('a', 1), e('b', 3), e('c', 2)], { entries: 2, bytes: 100 })).toEqual(['a']);
    expect(entriesToPrune([e('a', 1, 60), e('b', 3, 60), e('c', 2, 10)], { entries: 5, bytes: 100 })).toEqual(['a']);
    expect(entriesToPrune([], { entries: 0, bytes: 0 })).toEqual([]);
  });
});
