import { chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitSwap, stage, swapBack, swapIn, swapNames, swapState } from './swap.js';

let root: string;
let dir: string;
let merged: string;

function tree(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(path, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(path, r));
      if (st.isDirectory()) walk(r);
      else out[r] = st.isSymbolicLink() ? `-> ${readlinkSync(join(path, r))}` : readFileSync(join(path, r), 'utf8');
    }
  };
  walk('');
  return out;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'refit-swap-'));
  dir = join(root, 'site-config');
  mkdirSync(join(dir, 'old-sub'), { recursive: true, mode: 0o750 });
  writeFileSync(join(dir, 'site.conf'), 'customer=1\n');
  writeFileSync(join(dir, 'old-sub', 'x.conf'), 'x\n');
  chownSync(dir, 1234, 2345);
  merged = join(root, 'merged');
  mkdirSync(join(merged, 'conf.d'), { recursive: true });
  writeFileSync(join(merged, 'site.conf'), 'customer=1\nnew=2\n', { mode: 0o640 });
  writeFileSync(join(merged, 'conf.d', 'a.conf'), 'a\n');
  symlinkSync('site.conf', join(merged, 'link.conf'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const OLD = { 'old-sub/x.conf': 'x\n', 'site.conf': 'customer=1\n' };
const NEW = { 'conf.d/a.conf': 'a\n', 'link.conf': '-> site.conf', 'site.conf': 'customer=1\nnew=2\n' };

describe('config swap', () => {
  it('installs the merged tree owned like the customer dir, and undoes it exactly', () => {
    const n = swapNames(dir, 'm-42');
    expect(swapState(n)).toBe('untouched');
    stage(n, merged);
    expect(swapState(n)).toBe('staged');
    expect(tree(dir)).toEqual(OLD);
    swapIn(n);
    expect(swapState(n)).toBe('swapped');
    expect(tree(dir)).toEqual(NEW);
    const top = statSync(dir);
    expect([top.uid, top.gid]).toEqual([1234, 2345]);
    const file = statSync(join(dir, 'site.conf'));
    expect([file.uid, file.gid, file.mode & 0o777]).toEqual([1234, 2345, 0o640]);
    expect(lstatSync(join(dir, 'link.conf')).uid).toBe(1234);

    swapBack(n);
    expect(swapState(n)).toBe('untouched');
    expect(tree(dir)).toEqual(OLD);
    expect(statSync(dir).mode & 0o777).toBe(0o750);
    expect(readdirSync(root).sort()).toEqual(['merged', 'site-config']);
  });

  it('finishes or undoes a swap a crash left half done', () => {
    const n = swapNames(dir, 'm-43');
    stage(n, merged);
    renameSync(dir, n.previous); // the crash came between the two renames
    expect(swapState(n)).toBe('half-swapped');
    swapIn(n);
    expect(tree(dir)).toEqual(NEW);

    const m = swapNames(dir, 'm-44');
    stage(m, merged);
    renameSync(dir, m.previous);
    swapBack(m);
    expect(tree(dir)).toEqual(NEW);
    expect(swapState(m)).toBe('untouched');
  });

  it('is safe to repeat every step', () => {
    const n = swapNames(dir, 'm-45');
    stage(n, merged);
    stage(n, merged);
    swapIn(n);
    swapIn(n);
    commitSwap(n);
    commitSwap(n);
    expect(tree(dir)).toEqual(NEW);
    expect(readdirSync(root).sort()).toEqual(['merged', 'site-config']);
    swapBack(n); // nothing left to undo after commit: the tree stays
    expect(tree(dir)).toEqual(NEW);
  });

  it('refuses a config dir that was swapped for a symlink, and writes nothing through it', () => {
    const target = join(root, 'elsewhere');
    mkdirSync(target);
    rmSync(dir, { recursive: true });
    symlinkSync(target, dir);
    const n = swapNames(dir, 'm-46');
    expect(() => stage(n, merged)).toThrow(/is a symlink, not a directory/);
    expect(readdirSync(target)).toEqual([]);
  });

  it('refuses when the parent directory is a symlink', () => {
    const real = join(root, 'real');
    mkdirSync(join(real, 'site-config'), { recursive: true });
    symlinkSync(real, join(root, 'linked'));
    expect(() => stage(swapNames(join(root, 'linked', 'site-config'), 'm-47'), merged)).toThrow(/is a symlink or not a directory/);
  });
});
