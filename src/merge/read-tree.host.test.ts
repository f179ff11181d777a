/**
 * The safe reader against a hostile customer dir on the real file system: links out, FIFOs,
 * hard links, sockets, setuid files, odd names. It must refuse and report, never hang, never
 * read outside the dir.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listing, scratch, writeFiles } from '../../test/fixtures/merge/dirs.js';
import { readTreeSafely } from './read-tree.js';
import { snapshotTree } from './snapshot.js';

const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

function hostileDir(): { root: string; customer: string; outside: string } {
  const root = scratch('hostile');
  const outside = writeFiles(join(root, 'outside'), { 'secret': 'TOP SECRET\n' });
  execFileSync('mkfifo', [join(outside, 'pipe')]);
  const customer = writeFiles(join(root, 'customer'), { 'site.conf': 'a=1\n', 'my site.conf': 'spaces\n', 'ünïcødé.conf': 'unicode\n', '-rf.conf': 'dash\n', 'sub/inner.conf': 'inner\n' });
  symlinkSync(join(outside, 'secret'), join(customer, 'abs-link.conf'));
  symlinkSync('../outside/secret', join(customer, 'rel-link.conf'));
  symlinkSync('../outside/pipe', join(customer, 'pipe-link.conf'));
  symlinkSync('sub/inner.conf', join(customer, 'inner-link.conf'));
  linkSync(join(outside, 'secret'), join(customer, 'hardlink.conf'));
  execFileSync('mkfifo', [join(customer, 'fifo.conf')]);
  writeFileSync(join(customer, 'suid'), 'x');
  chmodSync(join(customer, 'suid'), 0o4755);
  mkdirSync(join(customer, 'shared'));
  chmodSync(join(customer, 'shared'), 0o2775);
  writeFileSync(Buffer.concat([Buffer.from(`${customer}/`), Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2e, 0x63])]), 'x'); // "bad\xff.c": latin-1, not UTF-8
  return { root, customer, outside };
}

describe('reading a customer dir safely', () => {
  it('keeps regular files, odd names and links inside; refuses links out, FIFOs, hard links, setuid, bad names; never hangs', async () => {
    const { customer, outside } = hostileDir();
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(join(customer, 'control.sock'), resolve));

    const tree = await readTreeSafely(customer);
    expect([...tree.nodes.keys()].sort()).toEqual(['-rf.conf', 'inner-link.conf', 'my site.conf', 'shared', 'site.conf', 'sub', 'sub/inner.conf', 'ünïcødé.conf'].sort());
    expect(tree.nodes.get('inner-link.conf')).toMatchObject({ kind: 'symlink', target: 'sub/inner.conf' });
    expect(tree.nodes.get('shared')).toMatchObject({ kind: 'dir', mode: 0o2775 });
    const reasons = Object.fromEntries(tree.refused.map((r) => [r.path, r.reason]));
    expect(reasons['abs-link.conf']).toMatch(/absolute link target/);
    expect(reasons['rel-link.conf']).toMatch(/leads out of the tree/);
    expect(reasons['pipe-link.conf']).toMatch(/leads out of the tree/);
    expect(reasons['hardlink.conf']).toBe('has 2 hard links; one may be a file outside the config dir');
    expect(reasons['fifo.conf']).toBe('is a FIFO');
    expect(reasons['control.sock']).toBe('is a socket');
    expect(reasons.suid).toMatch(/setuid/);
    expect(Object.entries(reasons).find(([p]) => p.startsWith('bad'))?.[1]).toBe('name is not valid UTF-8');
    // Nothing outside was read into the tree.
    for (const node of tree.nodes.values()) if (node.kind === 'file') expect(node.data.toString()).not.toContain('TOP SECRET');
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('TOP SECRET\n');
  });

  it('refuses a root that is a symlink, and says what to do', async () => {
    const { root, customer } = hostileDir();
    symlinkSync(customer, join(root, 'via-link'));
    await expect(readTreeSafely(join(root, 'via-link'))).rejects.toThrow(/is a symlink/);
    await expect(readTreeSafely(`${join(root, 'via-link')}/`)).rejects.toThrow(/is a symlink/);
    await expect(readTreeSafely(join(root, 'nope'))).rejects.toMatchObject({ code: 'usage' });
  });

  it('caps file size, entry count, total bytes and depth', async () => {
    const dir = writeFiles(scratch('caps'), { 'big.conf': 'x'.repeat(2000), 'small.conf': 'x', 'a/b/c/d.conf': 'deep' });
    const tree = await readTreeSafely(dir, { maxFileBytes: 1000, maxDepth: 2 });
    expect(tree.refused).toEqual([
      { path: 'a/b/c', reason: 'nested deeper than 2 directories' },
      { path: 'big.conf', reason: 'file of 2000 bytes is over the 1000-byte limit' },
    ]);
    await expect(readTreeSafely(dir, { maxEntries: 3 })).rejects.toThrow(/more than 3 entries/);
    await expect(readTreeSafely(dir, { maxTotalBytes: 1500 })).rejects.toThrow(/more than 1500 bytes/);
  });

  it('snapshots into a fresh private dir, keeping modes and owners', async () => {
    const dir = writeFiles(scratch('snap'), { 'site.conf': 'a=1\n', 'd/x.conf': 'x\n' });
    chmodSync(join(dir, 'site.conf'), 0o640);
    chownSync(join(dir, 'd/x.conf'), 1234, 4321);
    symlinkSync('site.conf', join(dir, 'alias.conf'));
    const dest = join(scratch('snap-dest'), 'snapshot');
    const tree = await snapshotTree(dir, dest);
    expect(tree.refused).toEqual([]);
    expect(statSync(dest).mode & 0o777).toBe(0o700);
    const copy = listing(dest);
    expect(copy).toEqual({ ...listing(dir) });
    expect(copy['d/x.conf']).toMatch(/^file 644 1234:4321 /);
    await expect(snapshotTree(dir, dest)).rejects.toThrow(/already exists/);
  });
});
