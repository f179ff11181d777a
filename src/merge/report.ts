/**
 * @module merge/report
 * What a merge did, per path, for operators (text) and machines (JSON: the object itself).
 */
import type { OverriddenHunk } from './conflicts.js';
import type { Outcome } from './plan.js';
import type { NodeKind, Refusal } from './tree.js';

export type { OverriddenHunk } from './conflicts.js';
export type { Outcome } from './plan.js';

export interface MergeItem {
  path: string;
  kind: NodeKind;
  outcome: Outcome;
  note?: string;
  /** For `conflict`: how many hunks the customer won (whole-entry conflicts count as one). */
  conflicts?: number;
  /** For `conflict`: each hunk the customer won and the upstream text that was not applied. */
  overridden?: OverriddenHunk[];
}

export type Side = 'base' | 'latest' | 'customer';

export interface MergeReport {
  base: string;
  latest: string;
  customer: string;
  out: string;
  /** Every path of the three trees, depth-first. */
  items: MergeItem[];
  /** Everything a reader refused to copy, per side. Customer ones are also items (`refused`). */
  refused: (Refusal & { side: Side })[];
  notes: string[];
  summary: Record<Outcome, number>;
  /** Which customer tree was merged (merge/fingerprint.ts): tells whether it changed since. */
  customerFingerprint: string;
}

export const OUTCOMES: readonly Outcome[] = ['unchanged', 'took-latest', 'kept-customer', 'merged', 'conflict', 'added', 'deleted', 'kept-deleted', 'refused'];

export function summarize(items: MergeItem[]): Record<Outcome, number> {
  const summary = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const item of items) summary[item.outcome]++;
  return summary;
}

/** Operator text: one line per path that did not stay as it was, conflicts with what upstream wanted. */
export function renderMergeText(report: MergeReport): string[] {
  const lines: string[] = [`merged ${report.customer} with ${report.base} -> ${report.latest} into ${report.out}`];
  const width = Math.max(...OUTCOMES.map((o) => o.length));
  for (const item of report.items) {
    if (item.outcome === 'unchanged') continue;
    const name = item.kind === 'dir' ? `${item.path}/` : item.path;
    const hunks = item.conflicts ? ` (you won ${item.conflicts} conflicting hunk${item.conflicts === 1 ? '' : 's'})` : '';
    lines.push(`  ${item.outcome.padEnd(width)}  ${JSON.stringify(name).slice(1, -1)}${hunks}${item.note ? `: ${item.note}` : ''}`);
    for (const hunk of item.overridden ?? []) {
      lines.push(`      at line ${hunk.line}, upstream wanted:`);
      lines.push(...indent(hunk.upstream || '(nothing: upstream removed these lines)'));
    }
  }
  for (const r of report.refused.filter((r) => r.side !== 'customer')) lines.push(`  ${'refused'.padEnd(width)}  ${r.path} in ${r.side}: ${r.reason}`);
  for (const note of report.notes) lines.push(`  note: ${note}`);
  const counts = OUTCOMES.filter((o) => report.summary[o] > 0).map((o) => `${report.summary[o]} ${o}`);
  lines.push(counts.length ? counts.join(', ') : 'no config files on any side');
  return lines;
}

function indent(text: string): string[] {
  return text.replace(/\r?\n$/, '').split(/\r?\n/).map((l) => `        | ${l}`);
}
