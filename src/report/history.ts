/**
 * @module report/history
 * Past maintenances from the journal, as `refit history` shows them: when, which run, the
 * container's versions before and after, and its full report (config outcomes with the
 * overridden upstream hunks, health attempts, drains, step timings, the reason for a rollback).
 * A maintenance still in progress has no report yet: its last journal entry says how far it got.
 */
import type { MaintenanceLog } from '../journal/types.js';
import type { ContainerReport } from '../maintenance/report.js';
import { renderContainer, utcTime } from './text.js';

export interface HistoryEntry {
  id: number;
  runId: number;
  container: string;
  project: string;
  service: string;
  status: MaintenanceLog['status'];
  imageBefore: string;
  /** The image the maintenance updated to, or meant to. */
  imageAfter: string | null;
  /** The image the container was left on: imageAfter when updated, imageBefore when rolled back, null when unknown (failed, in progress). */
  endedOn: string | null;
  reason: string | null;
  started: string;
  finished: string | null;
  /** The container report kept in the journal (same shape as in `refit run --json`); null while in progress. */
  report: ContainerReport | null;
  /** The journal's step entries, in order, with the records undo works from. */
  steps: { seq: number; step: string; phase: string; at: string; record: unknown; error: string | null }[];
}

export function historyEntry(l: MaintenanceLog): HistoryEntry {
  return {
    id: l.id,
    runId: l.runId,
    container: l.container,
    project: l.project,
    service: l.service,
    status: l.status,
    imageBefore: l.imageBefore,
    imageAfter: l.imageAfter,
    endedOn: l.status === 'updated' ? l.imageAfter : l.status === 'rolled-back' || l.status === 'skipped' ? l.imageBefore : null,
    reason: l.reason,
    started: l.started.toISOString(),
    finished: l.finished?.toISOString() ?? null,
    report: l.report as unknown as ContainerReport | null,
    steps: l.steps.map((s) => ({ ...s, at: s.at.toISOString() })),
  };
}

export function renderHistory(entries: HistoryEntry[], opts: { verbose?: boolean } = {}): string[] {
  if (!entries.length) return ['no maintenance in the journal matches'];
  return entries.flatMap((e, i) => [...(i ? [''] : []), ...renderEntry(e, opts)]);
}

function renderEntry(e: HistoryEntry, opts: { verbose?: boolean }): string[] {
  const head = `${utcTime(e.started)}  run #${e.runId}`;
  if (e.report) return [head, ...renderContainer(e.report, opts).map((l) => `  ${l}`)];
  const to = e.imageAfter ? ` -> ${e.imageAfter}` : '';
  if (e.status !== 'in-progress') return [head, `  ${e.status}  ${e.container}  ${e.imageBefore}${to}`, ...(e.reason ? [`      ${e.reason}`] : [])];
  const last = e.steps.at(-1);
  return [
    head,
    `  IN PROGRESS  ${e.container}  ${e.imageBefore}${to}`,
    `      ${last ? `last step ${last.step} ${last.phase} at ${utcTime(last.at)}` : 'before its first step'}; if no refit is running (see \`refit status\`), \`refit recover\` finishes or rolls it back`,
  ];
}
