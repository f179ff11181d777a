/**
 * mergeConfigTrees end to end on real directories with the real git: text merges of every
 * shape, binaries, big files, odd names, hostile customer entries, idempotence, and inputs
 * that are never changed.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listing, scratch, writeFiles } from '../../test/fixtures/merge/dirs.js';
import { mergeConfigTrees } from './merge.js';
import type { MergeItem, MergeReport } from './report.js';

interface Sides {
  base: Record<string, string | Buffer>;
  customer: Record<string, string | Buffer>;
  latest: Record<string, string | Buffer>;
}

function dirs(label: string, sides: Sides) {
  const root = scratch(label);
  return {
    root,
    base: writeFiles(join(root, 'base'), sides.base),
    latest: writeFiles(join(root, 'latest'), sides.latest),
    customer: writeFiles(join(root, 'customer'), sides.customer),
    out: join(root, 'out'),
  };
}

const item = (r: MergeReport, path: string): MergeItem => r.items.find((i) => i.path === path)!;
const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');
const lines = (n: number, edit: Record<number, string> = {}, eol = '\n') => Array.from({ length: n }, (_, i) => `${edit[i] ?? `line ${i}`}${eol}`).join('');

describe('mergeConfigTrees', () => {
  it('merges edits on separate lines, and the customer wins conflicting and adjacent ones, with what upstream wanted', async () => {
    const d = dirs('text', {
      base: { 'far.conf': lines(10), 'clash.conf': lines(10), 'adjacent.conf': lines(10) },
      customer: { 'far.conf': lines(10, { 1: 'mine' }), 'clash.conf': lines(10, { 5: 'workers=8' }), 'adjacent.conf': lines(10, { 4: 'mine' }) },
      latest: { 'far.conf': lines(10, { 8: 'theirs' }), 'clash.conf': lines(10, { 5: 'workers=4' }), 'adjacent.conf': lines(10, { 5: 'theirs' }) },
    });
    const r = await mergeConfigTrees(d);
    expect(item(r, 'far.conf')).toEqual({ path: 'far.conf', kind: 'file', outcome: 'merged' });
    expect(read(d.out, 'far.conf')).toBe(lines(10, { 1: 'mine', 8: 'theirs' }));
    expect(item(r, 'clash.conf')).toMatchObject({ outcome: 'conflict', conflicts: 1, overridden: [{ line: 6, customer: 'workers=8\n', upstream: 'workers=4\n' }] });
    expect(read(d.out, 'clash.conf')).toBe(lines(10, { 5: 'workers=8' }));
    // git treats edits to neighbouring lines as one hunk: the customer's side of it wins, upstream's is reported.
    expect(item(r, 'adjacent.conf')).toMatchObject({ outcome: 'conflict', conflicts: 1, overridden: [{ line: 5, customer: 'mine\nline 5\n', upstream: 'line 4\ntheirs\n' }] });
    expect(read(d.out, 'adjacent.conf')).toBe(lines(10, { 4: 'mine' }));
  });

  it('takes identical edits once, keeps CRLF and a missing final newline, tells empty from absent', async () => {
    const d = dirs('shapes', {
      base: { 'same.conf': lines(6), 'crlf.conf': lines(8, {}, '\r\n'), 'nonl.conf': 'a\nb\nc\nd\ne\nf', 'emptied.conf': 'x\n', 'gone.conf': 'x\n' },
      customer: { 'same.conf': lines(6, { 2: 'both' }), 'crlf.conf': lines(8, { 0: 'mine' }, '\r\n'), 'nonl.conf': 'A\nb\nc\nd\ne\nf', 'emptied.conf': '' },
      latest: { 'same.conf': lines(6, { 2: 'both' }), 'crlf.conf': lines(8, { 7: 'theirs' }, '\r\n'), 'nonl.conf': 'a\nb\nc\nd\ne\nF', 'emptied.conf': 'x\n', 'gone.conf': 'x\n' },
    });
    const r = await mergeConfigTrees(d);
    expect(item(r, 'same.conf').outcome).toBe('merged');
    expect(read(d.out, 'same.conf')).toBe(lines(6, { 2: 'both' }));
    expect(read(d.out, 'crlf.conf')).toBe(lines(8, { 0: 'mine', 7: 'theirs' }, '\r\n'));
    expect(read(d.out, 'nonl.conf')).toBe('A\nb\nc\nd\ne\nF');
    expect(item(r, 'emptied.conf').outcome).toBe('kept-customer');
    expect(read(d.out, 'emptied.conf')).toBe('');
    expect(item(r, 'gone.conf').outcome).toBe('kept-deleted');
  });

  it('keeps the customer binary when both changed it, merges 2 MB text files, handles odd names', async () => {
    const big = (edit: Record<number, string>) => lines(190_000, edit);
    const d = dirs('binary', {
      base: { 'logo.png': Buffer.from([0x89, 0x50, 0, 1]), 'big.conf': big({}), 'my site.conf': lines(5), 'ünï.conf': lines(5), '-rf.conf': lines(5) },
      customer: { 'logo.png': Buffer.from([0x89, 0x50, 0, 2]), 'big.conf': big({ 10: 'mine' }), 'my site.conf': lines(5, { 0: 'mine' }), 'ünï.conf': lines(5, { 0: 'mine' }), '-rf.conf': lines(5, { 0: 'mine' }) },
      latest: { 'logo.png': Buffer.from([0x89, 0x50, 0, 3]), 'big.conf': big({ 189_990: 'theirs' }), 'my site.conf': lines(5, { 4: 'theirs' }), 'ünï.conf': lines(5, { 4: 'theirs' }), '-rf.conf': lines(5, { 4: 'theirs' }) },
    });
    expect(statSync(join(d.base, 'big.conf')).size).toBeGreaterThan(2_000_000);
    const r = await mergeConfigTrees(d);
    expect(item(r, 'logo.png')).toMatchObject({ outcome: 'conflict', conflicts: 1, overridden: [{ upstream: expect.stringMatching(/^a binary file of 4 bytes/) }] });
    expect(readFileSync(join(d.out, 'logo.png'))).toEqual(Buffer.from([0x89, 0x50, 0, 2]));
    expect(item(r, 'big.conf').outcome).toBe('merged');
    expect(read(d.out, 'big.conf')).toBe(big({ 10: 'mine', 189_990: 'theirs' }));
    for (const name of ['my site.conf', 'ünï.conf', '-rf.conf']) {
      expect(item(r, name).outcome).toBe('merged');
      expect(read(d.out, name)).toBe(lines(5, { 0: 'mine', 4: 'theirs' }));
    }
  });

  it('refuses a link out, a FIFO and a hard link in the customer dir: never read, never written, reported', async () => {
    const d = dirs('hostile', {
      base: { 'evil.conf': 'stock\n', 'pipe.conf': 'stock\n', 'hard.conf': 'stock\n', 'ok.conf': 'a\n' },
      customer: { 'ok.conf': 'a\n' },
      latest: { 'evil.conf': 'stock v2\n', 'pipe.conf': 'stock v2\n', 'hard.conf': 'stock v2\n', 'ok.conf': 'b\n' },
    });
    const outside = writeFiles(join(d.root, 'outside'), { 'target': 'OUTSIDE\n' });
    execFileSync('mkfifo', [join(outside, 'fifo')]);
    symlinkSync(join(outside, 'target'), join(d.customer, 'evil.conf'));
    symlinkSync('../outside/fifo', join(d.customer, 'evil-fifo.conf'));
    execFileSync('mkfifo', [join(d.customer, 'pipe.conf')]);
    linkSync(join(outside, 'target'), join(d.customer, 'hard.conf'));
    const before = { outside: listing(outside), customer: listing(d.customer) };

    const r = await mergeConfigTrees(d);
    for (const path of ['evil.conf', 'evil-fifo.conf', 'pipe.conf', 'hard.conf']) {
      expect(item(r, path)).toMatchObject({ outcome: 'refused' });
      expect(r.refused).toContainEqual(expect.objectContaining({ side: 'customer', path }));
    }
    expect(listing(d.out)).toEqual({ 'ok.conf': expect.stringMatching(/^file 644 0:0 /) });
    expect(read(d.out, 'ok.conf')).toBe('b\n');
    expect({ outside: listing(outside), customer: listing(d.customer) }).toEqual(before);
  });

  it('never changes its inputs, gives the same output for the same inputs, and a second merge of the result changes nothing', async () => {
    const d = dirs('stable', {
      base: { 'a.conf': lines(10), 'b.conf': 'b\n', 'dir/c.conf': 'c\n', 'old.conf': 'old\n' },
      customer: { 'a.conf': lines(10, { 1: 'mine', 5: 'clash-mine' }), 'b.conf': 'b\n', 'dir/c.conf': 'c mine\n', 'mine.conf': 'mine\n' },
      latest: { 'a.conf': lines(10, { 8: 'theirs', 5: 'clash-theirs' }), 'b.conf': 'b2\n', 'dir/c.conf': 'c\n', 'dir/new.conf': 'new\n', 'old.conf': 'old\n' },
    });
    chmodSync(join(d.customer, 'b.conf'), 0o600);
    chownSync(join(d.customer, 'dir'), 1234, 1234);
    const inputs = () => [d.base, d.latest, d.customer].map(listing);
    const before = inputs();
    const first = await mergeConfigTrees(d);
    expect(inputs()).toEqual(before);
    const again = await mergeConfigTrees({ ...d, out: join(d.root, 'again') });
    expect(listing(join(d.root, 'again'))).toEqual(listing(d.out));
    expect(again.items).toEqual(first.items);
    const twice = await mergeConfigTrees({ ...d, customer: d.out, out: join(d.root, 'twice') });
    expect(listing(join(d.root, 'twice'))).toEqual(listing(d.out));
    expect(twice.items.find((i) => i.path === 'a.conf')!.outcome).toBe('conflict');

    const out = listing(d.out);
    expect(out['b.conf']).toMatch(/^file 600 0:0 /); // customer's mode, upstream's content
    expect(read(d.out, 'b.conf')).toBe('b2\n');
    expect(out['dir/new.conf']).toMatch(/^file 644 1234:1234 /); // owner follows the customer's directory
    expect(out['old.conf']).toBeUndefined();
  });

  it("ignores the caller's git configuration and GIT_* environment", async () => {
    const home = scratch('home');
    writeFileSync(join(home, '.gitconfig'), '[merge]\n\tconflictStyle = diff3\n');
    const saved = { HOME: process.env.HOME, GIT_CONFIG_PARAMETERS: process.env.GIT_CONFIG_PARAMETERS };
    Object.assign(process.env, { HOME: home, GIT_CONFIG_PARAMETERS: "'merge.conflictstyle'='diff3'" });
    try {
      const d = dirs('gitenv', { base: { 'x.conf': 'v=1\n' }, customer: { 'x.conf': 'v=2\n' }, latest: { 'x.conf': 'v=3\n' } });
      const r = await mergeConfigTrees(d);
      expect(item(r, 'x.conf').overridden).toEqual([{ line: 1, customer: 'v=2\n', upstream: 'v=3\n' }]);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('refuses bad output paths before writing anything', async () => {
    const d = dirs('usage', { base: { 'a.conf': 'a\n' }, customer: { 'a.conf': 'a\n' }, latest: { 'a.conf': 'b\n' } });
    mkdirSync(d.out);
    writeFileSync(join(d.out, 'keep.txt'), 'precious');
    const customerBefore = listing(d.customer);
    await expect(mergeConfigTrees(d)).rejects.toMatchObject({ code: 'usage', message: expect.stringMatching(/is not empty/) });
    expect(listing(d.out)).toEqual({ 'keep.txt': expect.any(String) });
    await expect(mergeConfigTrees({ ...d, out: join(d.customer, 'merged') })).rejects.toMatchObject({ code: 'usage', message: expect.stringMatching(/overlaps --customer/) });
    await expect(mergeConfigTrees({ ...d, base: join(d.root, 'missing'), out: join(d.root, 'o2') })).rejects.toMatchObject({ code: 'usage', message: expect.stringMatching(/does not exist/) });
    expect(listing(d.customer)).toEqual(customerBefore);
  });
});
