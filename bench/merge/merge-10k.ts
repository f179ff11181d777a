/**
 * Time and peak memory of one config merge: a 10,000-file tree (100 directories of 100 files)
 * where the customer changed 1% of the files and upstream changed another 1%, 10 of them the
 * same files (real three-way merges, half of them conflicting).
 *
 *   npx tsx bench/merge/merge-10k.ts                    # on disk: bench/results/merge-10k-disk.json
 *   TMPDIR=/dev/shm npx tsx bench/merge/merge-10k.ts    # on tmpfs: bench/results/merge-10k-tmpfs.json
 *
 * The disk run depends on whatever else the host is writing at the time; tmpfs shows refit's own cost.
 */
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeConfigTrees } from '../../src/merge/merge.js';

const FILES = 10_000;
const PER_DIR = 100;
const CHANGED = FILES / 100;
const OVERLAP = 10;

const content = (i: number, edit?: string, at = 3) => Array.from({ length: 20 }, (_, l) => (l === at && edit ? edit : `key${l}=value ${i}.${l}`)).join('\n') + '\n';
const pathOf = (i: number) => `dir${String(Math.floor(i / PER_DIR)).padStart(3, '0')}/file${i}.conf`;

function writeTree(dir: string, edit: (i: number) => string): void {
  for (let d = 0; d < FILES / PER_DIR; d++) mkdirSync(join(dir, `dir${String(d).padStart(3, '0')}`), { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(join(dir, pathOf(i)), edit(i));
}

const TMPFS_MAGIC = 0x01021994;
const root = mkdtempSync(join(tmpdir(), 'refit-bench-merge-'));
const storage = statfsSync(root).type === TMPFS_MAGIC ? 'tmpfs' : 'disk';
try {
  // Customer edits files 0..99 (every 100th of the tree), upstream edits 90..189: 90..99 overlap.
  const customerEdits = new Set(Array.from({ length: CHANGED }, (_, k) => k * 97 % FILES));
  const latestEdits = new Set([...[...customerEdits].slice(0, OVERLAP), ...Array.from({ length: CHANGED - OVERLAP }, (_, k) => (k * 97 + 13) % FILES)]);
  writeTree(join(root, 'base'), (i) => content(i));
  // Even overlapping files conflict (same line edited), odd ones merge cleanly (different lines).
  writeTree(join(root, 'customer'), (i) => (customerEdits.has(i) ? content(i, 'customer edit', 3) : content(i)));
  writeTree(join(root, 'latest'), (i) => (latestEdits.has(i) ? content(i, 'upstream edit', customerEdits.has(i) && i % 2 ? 15 : 3) : content(i)));

  const rssBefore = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  const report = await mergeConfigTrees({ base: join(root, 'base'), latest: join(root, 'latest'), customer: join(root, 'customer'), out: join(root, 'out') });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result = {
    command: `${storage === 'tmpfs' ? `TMPDIR=${tmpdir()} ` : ''}npx tsx bench/merge/merge-10k.ts`,
    storage,
    when: new Date().toISOString(),
    host: { cpus: cpus().length, node: process.version },
    tree: { files: FILES, directories: FILES / PER_DIR, customerChanged: customerEdits.size, latestChanged: latestEdits.size, bothChanged: OVERLAP },
    seconds: Math.round(seconds * 1000) / 1000,
    rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    summary: report.summary,
  };
  console.log(JSON.stringify(result, null, 2));
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', `merge-10k-${storage}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
