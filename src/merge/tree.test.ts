import { describe, expect, it } from 'vitest';
import { isBinary, linkEscapes, normalizeName, type TreeNode } from './tree.js';

const link = (target: string): TreeNode => ({ kind: 'symlink', target, uid: 0, gid: 0 });
const dir: TreeNode = { kind: 'dir', mode: 0o755, uid: 0, gid: 0 };

describe('tree paths', () => {
  it('normalizes archive names and refuses ways out', () => {
    expect(normalizeName('./a//b/./c/')).toEqual({ ok: true, path: 'a/b/c' });
    expect(normalizeName('./')).toEqual({ ok: true, path: '' });
    expect(normalizeName('-rf')).toEqual({ ok: true, path: '-rf' });
    expect(normalizeName('/etc/passwd').ok).toBe(false);
    expect(normalizeName('a/../../b').ok).toBe(false);
  });

  it('resolves links like the kernel, through other links', () => {
    const nodes = new Map<string, TreeNode>([['d', dir], ['d/e', dir], ['d/e/root', link('../..')], ['d/up', link('..')]]);
    expect(linkEscapes(nodes, 'x', 'd/e/f')).toBeNull();
    expect(linkEscapes(nodes, 'd/e/x', 'root/d/e')).toBeNull();
    expect(linkEscapes(nodes, 'd/e/x', 'root/..')).toMatch(/leads out of the tree/);
    expect(linkEscapes(nodes, 'd/x', 'up/../etc')).toMatch(/leads out of the tree/);
    expect(linkEscapes(nodes, 'x', '/etc/passwd')).toMatch(/absolute/);
    expect(linkEscapes(nodes, 'x', '')).toMatch(/empty/);
  });

  it('calls a file binary on a NUL in its first 8000 bytes or over the size cap', () => {
    expect(isBinary(Buffer.from('text\n'), 100)).toBe(false);
    expect(isBinary(Buffer.from('a\0b'), 100)).toBe(true);
    expect(isBinary(Buffer.concat([Buffer.alloc(8000, 'a'), Buffer.from('\0')]), 10_000)).toBe(false);
    expect(isBinary(Buffer.alloc(101, 'a'), 100)).toBe(true);
  });
});
