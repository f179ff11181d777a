/**
 * @module report/text
 * Pass and container reports as text for operators: the outcome of every container on one
 * line, then what matters about it: config outcomes (with the upstream changes the customer's
 * edits overrode), health attempts, drains, notes, step timings (one line; each step with
 * --verbose).
 */
import { renderVerdict } from '../health/render.js';
import { renderMergeText } from '../merge/report.js';
import type { ContainerReport, PassReport } from '../maintenance/report.js';
import type { StepTiming } from '../maintenance/runner.js';
import { windowText } from '../watch/judge.js';

const MARK: Record<ContainerReport['result'], string> = {
  updated: 'updated',
  reverted: 'REVERTED',
  current: 'current',
  planned: 'planned',
  skipped: 'skipped',
  'rolled-back': 'ROLLED BACK',
  failed: 'FAILED',
};

export function renderPass(p: PassReport, opts: { verbose?: boolean } = {}): string[] {
  const lines: string[] = [];
  if (p.recovered.length) {
    lines.push(`recovered ${p.recovered.length} maintenance(s) a crash had left unfinished:`);
    for (const r of p.recovered) lines.push(...renderContainer(r, opts).map((l) => `  ${l}`));
  }
  if (!p.containers.length) lines.push('no managed container on this host');
  for (const r of p.containers) lines.push(...renderContainer(r, opts));
  for (const image of p.images?.removed ?? []) {
    const tags = image.references.length ? ` (${image.references.join(', ')})` : '';
    lines.push(image.deleted ? `removed the replaced image ${image.imageId.slice(0, 19)}${tags}` : `untagged the replaced image ${image.imageId.slice(0, 19)}${tags}: another tag keeps it`);
  }
  for (const note of p.images?.notes ?? []) lines.push(note);
  lines.push(summaryLine(p));
  return lines;
}

export function summaryLine(p: Pick<PassReport, 'containers' | 'runId' | 'kind'>): string {
  const counts = new Map<string, number>();
  for (const r of p.containers) counts.set(r.result, (counts.get(r.result) ?? 0) + 1);
  const parts = [...counts].map(([k, n]) => `${n} ${k}`);
  return `${p.kind} #${p.runId}: ${parts.length ? parts.join(', ') : 'nothing to do'}`;
}

export function renderContainer(r: ContainerReport, opts: { verbose?: boolean } = {}): string[] {
  const to = r.to && r.to.reference !== r.from.reference ? ` -> ${r.to.reference}` : r.to?.digest ? ` (new digest ${r.to.digest.slice(0, 19)})` : '';
  const lines = [`${MARK[r.result]}  ${r.container}  ${r.from.reference}${to}${r.durationMs ? `  ${(r.durationMs / 1000).toFixed(1)} s` : ''}`];
  const detail = (s: string) => lines.push(`    ${s}`);
  if (r.result !== 'updated' && r.result !== 'current') detail(r.reason);
  // The merge's own rendering, without its header (the paths are refit's scratch dirs).
  if (r.merge) {
    detail('configs:');
    renderMergeText(r.merge).slice(1).forEach(detail);
  }
  for (const [who, v] of [['shadow', r.health.shadow], ['original', r.health.original]] as const) {
    if (!v) continue;
    if (opts.verbose || !v.healthy) renderVerdict(v).forEach((l, i) => detail(i === 0 ? `health of the ${who}: ${l}` : l));
    else detail(`health of the ${who}: ${renderVerdict(v)[0]}`);
  }
  for (const d of r.drains) detail(`drained ${d.server} in ${d.result.waitedMs} ms${d.result.drained ? '' : ` (bound hit, ${d.result.remainingSessions} in flight)`}`);
  if (r.served) detail(`before the switch ${r.from.reference} answered ${r.served.requests} request(s) through the proxy, ${r.served.errors} with a 5xx`);
  if (r.watch) {
    detail(`watched ${windowText(r.watch.windowMs)}: ${r.watch.decision}: ${r.watch.reason}`);
    if (r.watch.holdId !== undefined) detail(`${r.watch.to} is held on this host (hold #${r.watch.holdId}; \`refit holds release ${r.watch.holdId}\` lets it be taken again)`);
    if (r.watch.revert) renderContainer(r.watch.revert, opts).forEach((l, i) => detail(i === 0 ? `the revert: ${l}` : l));
  }
  for (const n of r.notes) detail(`note: ${n}`);
  if (opts.verbose) for (const s of r.steps) detail(`step ${s.step}: ${s.outcome} in ${Math.round(s.ms)} ms${s.error ? ` (${s.error})` : ''}`);
  else if (r.steps.length) detail(`steps: ${r.steps.map(stepTiming).join(', ')}`);
  return lines;
}

/** `pull 1.2 s`; a step that did not simply finish says how it ended: `shadow-health failed 1.1 s`. */
function stepTiming(s: StepTiming): string {
  return `${s.step}${s.outcome === 'done' ? '' : ` ${s.outcome}`} ${s.ms < 1000 ? `${Math.round(s.ms)} ms` : `${(s.ms / 1000).toFixed(1)} s`}`;
}

/** `2026-11-01 03:00:12Z`: a journal time as operators read it, UTC, to the second. */
export function utcTime(iso: string): string {
  return `${iso.replace('T', ' ').slice(0, 19)}Z`;
}
