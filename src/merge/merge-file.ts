/**
 * @module merge/merge-file
 * Three-way text merge with `git merge-file`, run on private copies with a clean environment:
 * no system or user git config (which could change the merge, or run a driver), no GIT_*
 * variables from refit's own environment. Conflicting hunks go to the customer (`--ours`);
 * a pass without it counts them and shows what upstream wanted.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RefitError } from '../errors.js';
import { commandAtWorkPriority, notStarted } from '../priority/priority.js';
import { markerSizeFor, parseConflicts, type OverriddenHunk } from './conflicts.js';

export interface TextMergeInput {
  base: Buffer;
  customer: Buffer;
  latest: Buffer;
}

export interface TextMergeResult {
  text: Buffer;
  conflicts: number;
  overridden: OverriddenHunk[];
}

/** A private scratch area for merges: the caller creates `dir` (0700) and removes it. */
export class TextMerger {
  private count = 0;

  constructor(private readonly dir: string) {}

  async merge(input: TextMergeInput, label: string): Promise<TextMergeResult> {
    const home = join(this.dir, 'home');
    await mkdir(home, { recursive: true, mode: 0o700 });
    const n = this.count++;
    const [ours, base, theirs] = ['customer', 'base', 'latest'].map((side) => join(this.dir, `${n}.${side}`)) as [string, string, string];
    const opts = { mode: 0o600, flag: 'wx' } as const;
    await Promise.all([writeFile(ours, input.customer, opts), writeFile(base, input.base, opts), writeFile(theirs, input.latest, opts)]);
    try {
      const size = markerSizeFor(input.customer, input.base, input.latest);
      const args = ['merge-file', '-p', `--marker-size=${size}`, '-L', 'customer', '-L', 'base', '-L', 'latest', ours, base, theirs];
      const plain = await git(args, home, label);
      if (plain.status === 0) return { text: plain.stdout, conflicts: 0, overridden: [] };
      const won = await git([...args.slice(0, 2), '--ours', ...args.slice(2)], home, label);
      if (won.status !== 0) throw gitFailed(label, won.stderr, won.status);
      return { text: won.stdout, conflicts: plain.status, overridden: parseConflicts(plain.stdout, size) };
    } finally {
      await Promise.all([ours, base, theirs].map((f) => rm(f, { force: true })));
    }
  }
}

interface GitRun {
  status: number;
  stdout: Buffer;
  stderr: string;
}

/** merge-file exits with the number of conflicts (capped at 127); negative or >127 is an error. */
function git(args: string[], home: string, label: string): Promise<GitRun> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };
  return new Promise((resolve, reject) => {
    const run = commandAtWorkPriority('git', args);
    const child = spawn(run.file, run.args, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new RefitError('merge', `cannot run git to merge ${label}: ${e.message}`, 'install git (refit uses git merge-file)', { cause: e })));
    child.on('close', (status) => {
      const run = { status: status ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
      const why = notStarted(status, run.stderr);
      if (why) reject(new RefitError('merge', `cannot run git to merge ${label}: ${why}`, 'install git (refit uses git merge-file)'));
      else if (run.status < 0 || run.status > 127) reject(gitFailed(label, run.stderr, run.status));
      else resolve(run);
    });
  });
}

function gitFailed(label: string, stderr: string, status: number): RefitError {
  return new RefitError('merge', `git merge-file failed on ${label} (exit ${status}): ${stderr.trim() || 'no message'}`, 'this is a bug or a broken git install; the customer dir was not changed');
}
