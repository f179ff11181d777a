/**
 * @module merge/apply
 * Carries out a merge plan into the output directory: runs the text merges (a few `git
 * merge-file` at once: each is a process start, mostly waiting), then writes every entry the
 * plan keeps. Returns the per-path report items.
 */
import type { MergeItem } from './report.js';
import type { TextMergeResult, TextMerger } from './merge-file.js';
import type { PlanItem } from './plan.js';
import type { TreeNode } from './tree.js';
import { writeNodes } from './write-tree.js';

/** Text merges running at once. */
const MERGES_AT_ONCE = 4;

export async function applyPlan(plan: PlanItem[], out: string, merger: TextMerger, options: { owners: boolean }): Promise<MergeItem[]> {
  const merged = await textMerges(plan, merger);
  const writes = new Map<string, TreeNode>();
  const items: MergeItem[] = [];
  for (const step of plan) {
    const item: MergeItem = { path: step.path, kind: step.kind, outcome: step.outcome, ...(step.note ? { note: step.note } : {}) };
    let write = step.write;
    const text = merged.get(step);
    if (text && write?.kind === 'file') {
      write = { ...write, data: text.text };
      if (text.conflicts) Object.assign(item, { outcome: 'conflict', conflicts: text.conflicts, overridden: text.overridden });
    } else if (step.outcome === 'conflict') {
      item.conflicts = 1;
      item.overridden = [{ line: 1, customer: step.customer ?? '', upstream: step.upstream ?? '' }];
    }
    if (write) writes.set(step.path, write);
    items.push(item);
  }
  await writeNodes(out, writes, options);
  return items;
}

async function textMerges(plan: PlanItem[], merger: TextMerger): Promise<Map<PlanItem, TextMergeResult>> {
  const queue = plan.filter((step) => step.textMerge && step.write?.kind === 'file');
  const results = new Map<PlanItem, TextMergeResult>();
  const worker = async () => {
    for (let step = queue.shift(); step; step = queue.shift()) results.set(step, await merger.merge(step.textMerge!, step.path));
  };
  // Every merge has ended before this returns (the caller removes their scratch dir): the first failure then counts.
  const ended = await Promise.allSettled(Array.from({ length: MERGES_AT_ONCE }, worker));
  const failed = ended.find((e) => e.status === 'rejected');
  if (failed) throw failed.reason;
  return results;
}
