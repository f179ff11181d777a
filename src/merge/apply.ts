/**
 * @module merge/apply
 * Carries out a merge plan into the output directory: runs the text merges, then writes every
 * entry the plan keeps. Returns the per-path report items.
 */
import type { MergeItem } from './report.js';
import type { TextMerger } from './merge-file.js';
import type { PlanItem } from './plan.js';
import type { TreeNode } from './tree.js';
import { writeNodes } from './write-tree.js';

export async function applyPlan(plan: PlanItem[], out: string, merger: TextMerger, options: { owners: boolean }): Promise<MergeItem[]> {
  const writes = new Map<string, TreeNode>();
  const items: MergeItem[] = [];
  for (const step of plan) {
    const item: MergeItem = { path: step.path, kind: step.kind, outcome: step.outcome, ...(step.note ? { note: step.note } : {}) };
    let write = step.write;
    if (step.textMerge && write?.kind === 'file') {
      const merged = await merger.merge(step.textMerge, step.path);
      write = { ...write, data: merged.text };
      if (merged.conflicts) Object.assign(item, { outcome: 'conflict', conflicts: merged.conflicts, overridden: merged.overridden });
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
