import { describe, expect, it } from 'vitest';
import { treeFingerprint } from './fingerprint.js';
import { emptyTree, type Tree, type TreeNode } from './tree.js';

const owner = { uid: 1000, gid: 1000 };
function treeOf(nodes: [string, TreeNode][], refused: Tree['refused'] = []): Tree {
  const t = emptyTree({ mode: 0o755, ...owner });
  for (const [p, n] of nodes) t.nodes.set(p, n);
  t.refused.push(...refused);
  return t;
}
const file = (data: string, mode = 0o644): TreeNode => ({ kind: 'file', mode, data: Buffer.from(data), ...owner });
const base: [string, TreeNode][] = [
  ['conf', { kind: 'dir', mode: 0o755, ...owner }],
  ['conf/site.conf', file('workers=2\n')],
  ['link', { kind: 'symlink', target: 'conf/site.conf', ...owner }],
];

describe('treeFingerprint', () => {
  it('is the same for the same tree, whatever order it was read in', () => {
    expect(treeFingerprint(treeOf(base))).toBe(treeFingerprint(treeOf([...base].reverse())));
    expect(treeFingerprint(treeOf(base))).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it.each([
    ['a file\'s content', treeOf([base[0]!, ['conf/site.conf', file('workers=4\n')], base[2]!])],
    ['a file\'s mode', treeOf([base[0]!, ['conf/site.conf', file('workers=2\n', 0o600)], base[2]!])],
    ['an owner', treeOf([base[0]!, ['conf/site.conf', { ...file('workers=2\n'), uid: 0 }], base[2]!])],
    ['a link\'s target', treeOf([base[0]!, base[1]!, ['link', { kind: 'symlink', target: 'conf', ...owner }]])],
    ['an added file', treeOf([...base, ['new.conf', file('')]])],
    ['a removed entry', treeOf(base.slice(0, 2))],
    ['a refused entry', treeOf(base, [{ path: 'fifo', reason: 'is a FIFO' }])],
    ['a file turned into a directory', treeOf([base[0]!, ['conf/site.conf', { kind: 'dir', mode: 0o644, ...owner }], base[2]!])],
  ])('changes with %s', (_what, changed) => {
    expect(treeFingerprint(changed)).not.toBe(treeFingerprint(treeOf(base)));
  });
});
