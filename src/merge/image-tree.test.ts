import { describe, expect, it } from 'vitest';
import { chunked, craftTar, type CraftEntry } from '../../test/fixtures/merge/craft-tar.js';
import { imageTreeFromTar } from './image-tree.js';
import { withDefaults, type TreeLimits } from './limits.js';
import type { Tree } from './tree.js';

const read = (entries: CraftEntry[], limits: Partial<TreeLimits> = {}, containerPath = '/etc/site'): Promise<Tree> =>
  imageTreeFromTar(chunked(craftTar([{ name: './', type: '5' }, ...entries])), containerPath, withDefaults(limits));

const text = (tree: Tree, path: string) => {
  const n = tree.nodes.get(path);
  return n?.kind === 'file' ? n.data.toString() : undefined;
};
const refusedPaths = (tree: Tree) => tree.refused.map((r) => r.path).sort();

describe('image config archives', () => {
  it('reads files, directories and relative links, with modes', async () => {
    const tree = await read([
      { name: './site.conf', data: 'a=1\n', mode: 0o640 },
      { name: './conf.d/', type: '5', mode: 0o750 },
      { name: './conf.d/x.conf', data: 'x\n' },
      { name: './current', type: '2', linkname: 'conf.d/x.conf' },
    ]);
    expect(text(tree, 'site.conf')).toBe('a=1\n');
    expect(tree.nodes.get('site.conf')).toMatchObject({ kind: 'file', mode: 0o640, uid: 0, gid: 0 });
    expect(tree.nodes.get('conf.d')).toMatchObject({ kind: 'dir', mode: 0o750 });
    expect(tree.nodes.get('current')).toMatchObject({ kind: 'symlink', target: 'conf.d/x.conf' });
    expect(tree.refused).toEqual([]);
  });

  it('refuses ../ and absolute names, and never lets them touch the tree', async () => {
    const tree = await read([
      { name: '../escape.conf', data: 'x' },
      { name: './a/../../escape2', data: 'x' },
      { name: '/etc/passwd', data: 'root::0:0' },
      { name: './ok', data: 'ok' },
    ]);
    expect([...tree.nodes.keys()]).toEqual(['ok']);
    expect(tree.refused.map((r) => r.reason)).toEqual(['name contains a ".." component', 'name contains a ".." component', 'absolute name']);
  });

  it('refuses links that leave the tree, lexically or through another link', async () => {
    const tree = await read([
      { name: './passwd', type: '2', linkname: '/etc/passwd' },
      { name: './up', type: '2', linkname: '../../etc/shadow' },
      { name: './d/', type: '5' },
      { name: './d/e/', type: '5' },
      { name: './d/e/root', type: '2', linkname: '../..' },
      { name: './d/e/sneaky', type: '2', linkname: 'root/../../../etc/shadow' },
      { name: './loop', type: '2', linkname: 'loop/x' },
      { name: './fine', type: '2', linkname: 'd/e/root/d' },
    ]);
    expect(refusedPaths(tree)).toEqual(['d/e/sneaky', 'loop', 'passwd', 'up']);
    expect(tree.nodes.get('d/e/root')).toMatchObject({ kind: 'symlink', target: '../..' });
    expect(tree.nodes.get('fine')).toMatchObject({ kind: 'symlink' });
  });

  it('makes absolute links into the config path relative, so they still work in the merged copy', async () => {
    const tree = await read([
      { name: './sites-available/', type: '5' },
      { name: './sites-available/default', data: 'server {}\n' },
      { name: './sites-enabled/', type: '5' },
      { name: './sites-enabled/default', type: '2', linkname: '/etc/nginx/sites-available/default' },
    ], {}, '/etc/nginx');
    expect(tree.nodes.get('sites-enabled/default')).toMatchObject({ kind: 'symlink', target: '../sites-available/default' });
  });

  it('refuses devices, FIFOs, setuid and setgid files, and unknown entry types', async () => {
    const tree = await read([
      { name: './null', type: '3' },
      { name: './sda', type: '4' },
      { name: './pipe', type: '6' },
      { name: './suid', data: 'x', mode: 0o4755 },
      { name: './sgid', data: 'x', mode: 0o2755 },
      { name: './sparse', type: 'S' },
      { name: './shared/', type: '5', mode: 0o2775 },
    ]);
    expect(Object.fromEntries(tree.refused.map((r) => [r.path, r.reason]))).toEqual({
      null: 'is a char device',
      sda: 'is a block device',
      pipe: 'is a FIFO',
      suid: 'has the setuid/setgid bit (mode 4755)',
      sgid: 'has the setuid/setgid bit (mode 2755)',
      sparse: 'unsupported tar entry type "S"',
    });
    expect(tree.nodes.get('shared')).toMatchObject({ kind: 'dir', mode: 0o2775 });
  });

  it('copies hard links to files in the tree, refuses hard links to anything outside it', async () => {
    const tree = await read([
      { name: './a.conf', data: 'shared\n' },
      { name: './b.conf', type: '1', linkname: './a.conf' },
      { name: './shadow', type: '1', linkname: '/etc/shadow' },
      { name: './up', type: '1', linkname: '../outside' },
    ]);
    expect(text(tree, 'b.conf')).toBe('shared\n');
    expect(refusedPaths(tree)).toEqual(['shadow', 'up']);
  });

  it('reads pax, GNU and ustar-prefix long names', async () => {
    const long = `./${'d'.repeat(120)}/${'f'.repeat(120)}.conf`;
    const tree = await read([
      { name: './pax-short', data: 'pax', pax: { path: `./${'p'.repeat(150)}.conf` } },
      { name: long, data: 'gnu', gnuLongName: true },
      { name: 'ustar.conf', prefix: './prefixed', data: 'ustar' },
      { name: './ünïcode name', data: 'u' },
    ]);
    expect(text(tree, `${'p'.repeat(150)}.conf`)).toBe('pax');
    expect(text(tree, long.slice(2))).toBe('gnu');
    expect(text(tree, 'prefixed/ustar.conf')).toBe('ustar');
    expect(text(tree, 'ünïcode name')).toBe('u');
    expect(tree.nodes.get('d'.repeat(120))).toMatchObject({ kind: 'dir' });
  });

  it('a directory later replaced by a link cannot carry files into the link target', async () => {
    const tree = await read([
      { name: './conf.d/', type: '5' },
      { name: './conf.d', type: '2', linkname: '/etc' },
      { name: './conf.d/passwd', data: 'owned' },
    ]);
    expect(tree.nodes.has('conf.d/passwd')).toBe(false);
    expect(tree.nodes.has('conf.d')).toBe(false);
    expect(refusedPaths(tree)).toEqual(['conf.d', 'conf.d/passwd']);
  });

  it('refuses files over the size cap and fails when the tree is over its entry or byte cap', async () => {
    const tree = await read([{ name: './big', data: 'x'.repeat(100) }, { name: './small', data: 'x' }], { maxFileBytes: 50 });
    expect(tree.refused).toEqual([{ path: 'big', reason: 'file of 100 bytes is over the 50-byte limit' }]);
    expect(text(tree, 'small')).toBe('x');
    await expect(read([{ name: './a', data: 'x' }, { name: './b', data: 'x' }], { maxEntries: 2 })).rejects.toThrow(/more than 2 entries/);
    await expect(read([{ name: './a', data: 'x'.repeat(40) }, { name: './b', data: 'x'.repeat(40) }], { maxTotalBytes: 60 })).rejects.toThrow(/larger than 60 bytes/);
  });

  it('rejects corrupt archives with a clear error', async () => {
    const bytes = craftTar([{ name: './a', data: 'hello' }]);
    bytes[0] = 0x41; // breaks the checksum
    await expect(imageTreeFromTar(chunked(bytes), '/etc/site', withDefaults())).rejects.toThrow(/bad header checksum/);
    const truncated = craftTar([{ name: './a', data: 'x'.repeat(2000) }]).subarray(0, 1024);
    await expect(imageTreeFromTar(chunked(truncated), '/etc/site', withDefaults())).rejects.toThrow(/ended .* early/);
  });
});
