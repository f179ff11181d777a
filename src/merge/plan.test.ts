import { describe, expect, it } from 'vitest';
import { comparePaths, planMerge, type PlanItem } from './plan.js';
import { emptyTree, type Refusal, type Tree, type TreeNode } from './tree.js';

const f = (text: string | Buffer, mode = 0o644, uid = 0): TreeNode => ({ kind: 'file', mode, uid, gid: uid, data: Buffer.from(text) });
const d = (mode = 0o755, uid = 0): TreeNode => ({ kind: 'dir', mode, uid, gid: uid });
const ln = (target: string): TreeNode => ({ kind: 'symlink', target, uid: 0, gid: 0 });

function tree(nodes: Record<string, TreeNode>, refused: Refusal[] = [], rootUid = 0): Tree {
  const t = emptyTree({ mode: 0o755, uid: rootUid, gid: rootUid });
  for (const [p, n] of Object.entries(nodes)) t.nodes.set(p, n);
  t.refused.push(...refused);
  return t;
}

function plan(base: Record<string, TreeNode>, customer: Record<string, TreeNode>, latest: Record<string, TreeNode>, opts: { refused?: Refusal[]; maxText?: number; rootUid?: number } = {}): Map<string, PlanItem> {
  const items = planMerge({ base: tree(base), customer: tree(customer, opts.refused, opts.rootUid), latest: tree(latest), maxTextMergeBytes: opts.maxText ?? 1024 });
  return new Map(items.map((i) => [i.path, i]));
}

const written = (item: PlanItem | undefined) => (item?.write?.kind === 'file' ? item.write.data.toString() : item?.write === null ? null : item?.write);

describe('the merge table, per file', () => {
  const B = f('base\n');
  const C = f('customer\n');
  const L = f('latest\n');

  it.each([
    ['identical | identical -> unchanged', { x: B }, { x: B }, { x: B }, 'unchanged', 'base\n'],
    ['identical | different -> take latest', { x: B }, { x: B }, { x: L }, 'took-latest', 'latest\n'],
    ['identical | upstream added -> added', {}, {}, { x: L }, 'added', 'latest\n'],
    ['identical | upstream deleted -> deleted', { x: B }, { x: B }, {}, 'deleted', null],
    ['different | identical -> keep customer', { x: B }, { x: C }, { x: B }, 'kept-customer', 'customer\n'],
    ['customer added | absent upstream -> keep customer', {}, { x: C }, {}, 'kept-customer', 'customer\n'],
    ['customer deleted | unchanged upstream -> stays deleted', { x: B }, {}, { x: B }, 'kept-deleted', null],
    ['same change on both sides -> that change', { x: B }, { x: f('same\n') }, { x: f('same\n') }, 'merged', 'same\n'],
    ['deleted on both sides -> deleted', { x: B }, {}, {}, 'deleted', null],
    ['customer deleted | upstream changed -> stays deleted (customer intent)', { x: B }, {}, { x: L }, 'kept-deleted', null],
    ['customer changed | upstream deleted -> customer copy kept', { x: B }, { x: C }, {}, 'kept-customer', 'customer\n'],
    ['empty file is not absent: customer emptied it, upstream unchanged', { x: B }, { x: f('') }, { x: B }, 'kept-customer', ''],
    ['empty file is not absent: both sides add an empty file', {}, { x: f('') }, { x: f('') }, 'merged', ''],
  ])('%s', (_name, b, c, l, outcome, content) => {
    const item = plan(b, c, l).get('x')!;
    expect(item.outcome).toBe(outcome);
    expect(written(item)).toBe(content);
    expect(item.textMerge).toBeUndefined();
  });

  it('both changed text -> three-way merge of base, customer and latest', () => {
    const item = plan({ x: B }, { x: C }, { x: L }).get('x')!;
    expect(item.outcome).toBe('merged');
    expect(item.textMerge).toEqual({ base: Buffer.from('base\n'), customer: Buffer.from('customer\n'), latest: Buffer.from('latest\n') });
  });

  it('both added different text -> three-way merge against an empty base', () => {
    expect(plan({}, { x: C }, { x: L }).get('x')!.textMerge?.base).toEqual(Buffer.alloc(0));
  });

  it('both changed a binary file -> the customer wins the whole file, upstream described', () => {
    const item = plan({ x: f('a\0b') }, { x: f('c\0d') }, { x: f('e\0f') }).get('x')!;
    expect(item.outcome).toBe('conflict');
    expect(written(item)).toBe('c\0d');
    expect(item.upstream).toMatch(/^a binary file of 3 bytes \(sha256 [0-9a-f]{16}…\)$/);
  });

  it('a file over the text-merge cap is merged like a binary', () => {
    const item = plan({ x: f('a'.repeat(20)) }, { x: f('b'.repeat(20)) }, { x: f('c'.repeat(20)) }, { maxText: 10 }).get('x')!;
    expect(item.outcome).toBe('conflict');
    expect(item.textMerge).toBeUndefined();
  });

  it('links are compared by target; a link against a file is a whole-entry conflict the customer wins', () => {
    expect(plan({ x: ln('a') }, { x: ln('a') }, { x: ln('b') }).get('x')).toMatchObject({ outcome: 'took-latest', write: { kind: 'symlink', target: 'b' } });
    const item = plan({ x: B }, { x: ln('other.conf') }, { x: L }).get('x')!;
    expect(item).toMatchObject({ outcome: 'conflict', write: { kind: 'symlink', target: 'other.conf' }, upstream: 'latest\n' });
  });

  it('modes follow the table too: a customer chmod survives an upstream content change', () => {
    expect(plan({ x: f('a', 0o644) }, { x: f('a', 0o600) }, { x: f('b', 0o644) }).get('x')).toMatchObject({ outcome: 'took-latest', write: { mode: 0o600 } });
    expect(plan({ x: f('a', 0o644) }, { x: f('a', 0o644) }, { x: f('a', 0o755) }).get('x')).toMatchObject({ outcome: 'took-latest', write: { mode: 0o755 } });
    expect(plan({ x: f('a', 0o644) }, { x: f('a', 0o600) }, { x: f('a', 0o644) }).get('x')).toMatchObject({ outcome: 'kept-customer', write: { mode: 0o600 } });
  });

  it('owners follow the customer: their file, else the nearest customer directory, else the root', () => {
    const items = plan({ 'x': B, 'd': d() }, { 'x': f('base\n', 0o644, 1000), 'd': d(0o755, 1001) }, { 'x': L, 'd': d(), 'd/new': L, 'top': L }, { rootUid: 1002 });
    expect(items.get('x')!.write).toMatchObject({ uid: 1000, gid: 1000 });
    expect(items.get('d/new')!.write).toMatchObject({ uid: 1001, gid: 1001 });
    expect(items.get('top')!.write).toMatchObject({ uid: 1002, gid: 1002 });
  });
});

describe('the merge table, per directory', () => {
  const B = f('base\n');
  const L = f('latest\n');

  it('unchanged directories are walked: their files follow the file table', () => {
    const items = plan({ 'd': d(), 'd/a': B }, { 'd': d(), 'd/a': B }, { 'd': d(), 'd/a': L });
    expect(items.get('d')).toMatchObject({ outcome: 'unchanged', write: { kind: 'dir' } });
    expect(items.get('d/a')!.outcome).toBe('took-latest');
  });

  it('customer deleted a directory, upstream unchanged -> it stays deleted', () => {
    const items = plan({ 'd': d(), 'd/a': B }, {}, { 'd': d(), 'd/a': B });
    expect([...items.values()].map((i) => [i.path, i.outcome, i.write])).toEqual([
      ['d', 'kept-deleted', null],
      ['d/a', 'kept-deleted', null],
    ]);
  });

  it('customer deleted a directory, upstream changed and added inside -> still deleted, and said so', () => {
    const items = plan({ 'd': d(), 'd/a': B }, {}, { 'd': d(), 'd/a': L, 'd/new': L });
    expect(items.get('d')).toMatchObject({ outcome: 'kept-deleted', write: null, note: expect.stringMatching(/upstream changed/) });
    expect(items.get('d/a')).toMatchObject({ outcome: 'kept-deleted', write: null });
    expect(items.get('d/new')).toMatchObject({ outcome: 'kept-deleted', write: null, note: expect.stringMatching(/added upstream inside a directory you deleted/) });
  });

  it('upstream deleted a directory the customer left alone -> deleted with everything in it', () => {
    const items = plan({ 'd': d(), 'd/a': B }, { 'd': d(), 'd/a': B }, {});
    expect([...items.values()].map((i) => [i.path, i.outcome, i.write])).toEqual([
      ['d', 'deleted', null],
      ['d/a', 'deleted', null],
    ]);
  });

  it('upstream deleted a directory the customer changed -> the customer changes survive, untouched stock files go', () => {
    const items = plan({ 'd': d(), 'd/a': B, 'd/b': B }, { 'd': d(), 'd/a': f('mine\n'), 'd/b': B }, {});
    expect(items.get('d')).toMatchObject({ outcome: 'kept-customer', write: { kind: 'dir' } });
    expect(written(items.get('d/a'))).toBe('mine\n');
    expect(items.get('d/b')).toMatchObject({ outcome: 'deleted', write: null });
  });

  it('upstream added a directory -> added with its files', () => {
    const items = plan({}, {}, { 'd': d(), 'd/a': L });
    expect(items.get('d')).toMatchObject({ outcome: 'added', write: { kind: 'dir' } });
    expect(items.get('d/a')).toMatchObject({ outcome: 'added' });
  });

  it('customer added a directory -> kept; both added one -> merged file by file', () => {
    expect(plan({}, { d: d() }, {}).get('d')).toMatchObject({ outcome: 'kept-customer' });
    const items = plan({}, { 'd': d(), 'd/a': f('same\n') }, { 'd': d(), 'd/a': f('same\n'), 'd/b': L });
    expect(items.get('d')!.outcome).toBe('merged');
    expect(items.get('d/a')!.outcome).toBe('merged');
    expect(items.get('d/b')!.outcome).toBe('added');
  });

  it('upstream turned a file into a directory, customer left it -> the new directory is taken', () => {
    const items = plan({ x: B }, { x: B }, { 'x': d(), 'x/a': L });
    expect(items.get('x')).toMatchObject({ outcome: 'took-latest', kind: 'dir', write: { kind: 'dir' } });
    expect(items.get('x/a')).toMatchObject({ outcome: 'added' });
  });

  it('customer turned a directory into a file while upstream changed inside -> the customer wins, reported as a conflict', () => {
    const items = plan({ 'x': d(), 'x/a': B }, { x: f('flat\n') }, { 'x': d(), 'x/a': L, 'x/b': L });
    expect(items.get('x')).toMatchObject({ outcome: 'conflict', write: { kind: 'file' }, upstream: 'a directory' });
    expect(items.get('x/a')).toMatchObject({ outcome: 'kept-deleted', write: null });
    expect(items.get('x/b')).toMatchObject({ outcome: 'kept-deleted', write: null });
  });

  it("upstream replaced a directory by a link while the customer changed inside -> the customer's directory stays", () => {
    const items = plan({ 'x': d(), 'x/a': B }, { 'x': d(), 'x/a': f('mine\n') }, { x: ln('elsewhere') });
    expect(items.get('x')).toMatchObject({ outcome: 'conflict', kind: 'dir', write: { kind: 'dir' } });
    expect(written(items.get('x/a'))).toBe('mine\n');
  });

  it('what the customer reader refused is left alone, with everything below it', () => {
    const items = plan({ 'x': B, 'd': d(), 'd/a': B }, {}, { 'x': L, 'd': d(), 'd/a': L }, { refused: [{ path: 'x', reason: 'is a FIFO' }, { path: 'd', reason: 'symlink leaves the tree' }] });
    expect(items.get('x')).toMatchObject({ outcome: 'refused', write: null, note: expect.stringMatching(/is a FIFO/) });
    expect(items.get('d')).toMatchObject({ outcome: 'refused', write: null });
    expect(items.get('d/a')).toMatchObject({ outcome: 'refused', write: null, note: expect.stringMatching(/inside d/) });
  });
});

describe('path order', () => {
  it('puts everything inside a directory right after it', () => {
    expect(['a b', 'a/b', 'a', 'a-c', 'a/c/d', '-x'].sort(comparePaths)).toEqual(['-x', 'a', 'a/b', 'a/c/d', 'a b', 'a-c']);
  });
});
