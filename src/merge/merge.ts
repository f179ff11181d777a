/**
 * @module merge/merge
 * The entry point of a config merge (SPEC.md step 4): read three trees, plan, apply into
 * `out`, report. base, latest and customer are only ever read; the customer's tree (and the
 * two others, which may be operator-given) go through the safe reader of snapshotTree, so a
 * live customer dir can be passed directly, as can an existing snapshot.
 */
import { lstat, mkdtemp, readdir, realpath, rm, chmod, lchown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { RefitError } from '../errors.js';
import { applyPlan } from './apply.js';
import { treeFingerprint } from './fingerprint.js';
import { withDefaults, type TreeLimits } from './limits.js';
import { TextMerger } from './merge-file.js';
import { planMerge } from './plan.js';
import { readTreeSafely } from './read-tree.js';
import { summarize, type MergeReport, type Side } from './report.js';
import { isWithin, type Tree } from './tree.js';
import { createPrivateDir } from './write-tree.js';

export interface MergeTreesOptions {
  /** Stock configs of the image the site runs now. */
  base: string;
  /** Stock configs of the new image. */
  latest: string;
  /** The customer's config dir (or a snapshot of it). Never modified. */
  customer: string;
  /** Where the merged tree goes: must not exist (its parent must) or be an empty directory. */
  out: string;
  limits?: Partial<TreeLimits>;
}

export async function mergeConfigTrees(options: MergeTreesOptions): Promise<MergeReport> {
  const limits = withDefaults(options.limits);
  const out = resolve(options.out);
  const outExists = await checkPaths(options, out);
  const trees: Record<Side, Tree> = {
    base: await readTreeSafely(options.base, limits),
    latest: await readTreeSafely(options.latest, limits),
    customer: await readTreeSafely(options.customer, limits),
  };
  const plan = planMerge({ ...trees, maxTextMergeBytes: limits.maxTextMergeBytes });
  const owners = process.getuid?.() === 0;
  const work = await mkdtemp(join(tmpdir(), 'refit-merge-'));
  try {
    if (!outExists) await createPrivateDir(out);
    try {
      const items = await applyPlan(plan, out, new TextMerger(work), { owners });
      // The merged dir replaces the customer's, so its root looks like the customer's root.
      if (owners) await lchown(out, trees.customer.root.uid, trees.customer.root.gid);
      await chmod(out, trees.customer.root.mode);
      return {
        base: options.base,
        latest: options.latest,
        customer: options.customer,
        out: options.out,
        items,
        refused: (['base', 'latest', 'customer'] as const).flatMap((side) => trees[side].refused.map((r) => ({ side, ...r }))),
        notes: [...trees.base.notes, ...trees.latest.notes, ...trees.customer.notes],
        summary: summarize(items),
        customerFingerprint: treeFingerprint(trees.customer),
      };
    } catch (err) {
      // Leave `out` as it was found: a half-written merge must not be mistaken for a result.
      if (outExists) await Promise.all((await readdir(out)).map((n) => rm(join(out, n), { recursive: true, force: true })));
      else await rm(out, { recursive: true, force: true });
      throw err;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Usage problems, found before anything is read or written. Returns whether `out` exists. */
async function checkPaths(options: MergeTreesOptions, out: string): Promise<boolean> {
  const inputs: [string, string][] = [
    ['--base', options.base],
    ['--latest', options.latest],
    ['--customer', options.customer],
  ];
  const real: string[] = [];
  for (const [flag, dir] of inputs) {
    const st = await lstat(dir).catch(() => null);
    if (!st) throw new RefitError('usage', `${flag} ${dir} does not exist`, 'give an existing directory');
    if (!st.isDirectory()) throw new RefitError('usage', `${flag} ${dir} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}`, 'give the real path of a directory');
    real.push(await realpath(dir));
  }
  const st = await lstat(out).catch(() => null);
  let outReal: string;
  if (st) {
    if (!st.isDirectory()) throw new RefitError('usage', `--out ${options.out} exists and is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}`, 'give a new path or an empty directory');
    if ((await readdir(out)).length) throw new RefitError('usage', `--out ${options.out} is not empty`, 'give a new path or an empty directory; refit never merges over existing files');
    if (st.uid !== process.getuid?.() || st.mode & 0o022) {
      throw new RefitError('usage', `--out ${options.out} is writable by others`, 'give a new path: refit creates it private');
    }
    outReal = await realpath(out);
  } else {
    const parent = await realpath(dirname(out)).catch(() => null);
    if (!parent) throw new RefitError('usage', `--out ${options.out}: its parent directory does not exist`, 'create the parent first');
    outReal = join(parent, basename(out));
  }
  for (const [k, dir] of real.entries()) {
    if (isWithin(outReal.slice(1), dir.slice(1)) || isWithin(dir.slice(1), outReal.slice(1))) {
      throw new RefitError('usage', `--out ${options.out} overlaps ${inputs[k]![0]} ${inputs[k]![1]}`, 'the output must be a separate directory: refit never writes into its inputs');
    }
  }
  return Boolean(st);
}
