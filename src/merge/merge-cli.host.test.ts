/** `refit merge` as an operator runs it (dist/): exit codes, nothing written on bad usage, JSON and text. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listing, scratch, writeFiles } from '../../test/fixtures/merge/dirs.js';
import { refit } from '../../test/support/refit-cli.js';
import type { MergeReport } from './report.js';

function sides() {
  const root = scratch('cli');
  return {
    root,
    base: writeFiles(join(root, 'base'), { 'site.conf': 'workers=2\ntimeout=30\n', 'old.conf': 'x\n' }),
    latest: writeFiles(join(root, 'latest'), { 'site.conf': 'workers=4\ntimeout=30\n', 'new.conf': 'y\n' }),
    customer: writeFiles(join(root, 'customer'), { 'site.conf': 'workers=8\ntimeout=30\n', 'old.conf': 'x\n' }),
    out: join(root, 'out'),
  };
}
const args = (s: ReturnType<typeof sides>) => ['merge', '--base', s.base, '--latest', s.latest, '--customer', s.customer, '--out', s.out];

describe('refit merge', () => {
  it('merges and prints a JSON report; exit 0', () => {
    const s = sides();
    const r = refit([...args(s), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = r.json<MergeReport>();
    expect(report.summary).toMatchObject({ conflict: 1, added: 1, deleted: 1 });
    expect(report.items.find((i) => i.path === 'site.conf')).toMatchObject({ outcome: 'conflict', overridden: [{ line: 1, customer: 'workers=8\n', upstream: 'workers=4\n' }] });
    expect(Object.keys(listing(s.out)).sort()).toEqual(['new.conf', 'site.conf']);
  });

  it('prints a text report naming what upstream wanted', () => {
    const s = sides();
    const r = refit(args(s));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('conflict       site.conf (you won 1 conflicting hunk)');
    expect(r.stdout).toContain('| workers=4');
    expect(r.stdout).toMatch(/1 conflict, 1 added, 1 deleted$/m);
  });

  it('exits 2 with one line and writes nothing on bad usage', () => {
    const s = sides();
    const before = listing(s.root);
    const missingFlag = refit(['merge', '--base', s.base, '--latest', s.latest, '--out', s.out]);
    expect(missingFlag.code).toBe(2);
    expect(missingFlag.stderr).toMatch(/--customer/);
    const missingDir = refit(['merge', '--base', join(s.root, 'nope'), '--latest', s.latest, '--customer', s.customer, '--out', s.out]);
    expect(missingDir.code).toBe(2);
    expect(missingDir.stderr).toMatch(/^refit: --base .*nope does not exist \(give an existing directory\)\n$/);
    writeFiles(s.out, { 'keep.txt': 'precious' });
    const notEmpty = refit(args(s));
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.stderr).toMatch(/--out .* is not empty/);
    expect(listing(s.root)).toEqual({ ...before, 'out': expect.any(String), 'out/keep.txt': expect.any(String) });
  });
});
