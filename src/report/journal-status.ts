/**
 * @module report/journal-status
 * What `refit status` tells from the journal: the last runs, the container a live refit is
 * maintaining right now, and the maintenances a crash or kill left unfinished (which only
 * `refit recover`, or the next run, finishes). Pure: the command reads the journal and the
 * host lock and hands them in.
 */
import type { MaintenanceLog, MaintenanceStatus, RunKind, RunSummary, StepPhase } from '../journal/types.js';
import { table } from '../cli/output.js';
import { utcTime } from './text.js';

/** `running`: its process holds the host lock now; `interrupted`: its process is gone before it finished. */
export type RunState = 'success' | 'failed' | 'interrupted' | 'running';

export interface RunStatus {
  id: number;
  kind: RunKind;
  pid: number;
  started: string;
  finished: string | null;
  result: RunState;
  /** How many containers ended in each status in this run. */
  counts: Record<MaintenanceStatus, number>;
}

export interface MaintenanceInProgress {
  maintenanceId: number;
  runId: number;
  container: string;
  project: string;
  service: string;
  imageBefore: string;
  imageAfter: string | null;
  started: string;
  /** The last journal entry: how far it got. null when it had not begun its first step. */
  lastStep: { step: string; phase: StepPhase; at: string } | null;
}

export interface JournalStatus {
  runs: RunStatus[];
  /** Maintained right now by the refit holding the host lock. */
  current: MaintenanceInProgress[];
  /** Left in progress by a process that is gone: `refit recover` finishes or rolls them back. */
  unfinished: MaintenanceInProgress[];
  /** The sites the newest run skipped with a reason it journaled (the fleet's rollout rules), and why. */
  skipped: { runId: number; container: string; imageAfter: string | null; reason: string }[];
}

export const NO_JOURNAL: JournalStatus = { runs: [], current: [], unfinished: [], skipped: [] };

/**
 * `lockHolderPid` is the pid of the live process holding the host lock (null: nobody). A run
 * is running only while its own process holds the lock; one not finished otherwise died.
 */
export function journalStatus(runs: RunSummary[], inProgress: MaintenanceLog[], lockHolderPid: number | null, recent: MaintenanceLog[] = []): JournalStatus {
  const isRunning = (r: RunSummary) => r.finished === null && r.pid === lockHolderPid;
  const running = new Set(runs.filter(isRunning).map((r) => r.id));
  const view = inProgress.map(inProgressOf);
  return {
    runs: runs.map((r) => ({
      id: r.id,
      kind: r.kind,
      pid: r.pid,
      started: r.started.toISOString(),
      finished: r.finished?.toISOString() ?? null,
      result: r.result ?? (isRunning(r) ? 'running' : 'interrupted'),
      counts: r.counts,
    })),
    current: view.filter((m) => running.has(m.runId)),
    unfinished: view.filter((m) => !running.has(m.runId)),
    skipped: recent
      .filter((m) => m.runId === runs[0]?.id && m.status === 'skipped')
      .map((m) => ({ runId: m.runId, container: m.container, imageAfter: m.imageAfter, reason: m.reason ?? '' })),
  };
}

function inProgressOf(m: MaintenanceLog): MaintenanceInProgress {
  const last = m.steps.at(-1);
  return {
    maintenanceId: m.id,
    runId: m.runId,
    container: m.container,
    project: m.project,
    service: m.service,
    imageBefore: m.imageBefore,
    imageAfter: m.imageAfter,
    started: m.started.toISOString(),
    lastStep: last ? { step: last.step, phase: last.phase, at: last.at.toISOString() } : null,
  };
}

export function renderJournalStatus(s: JournalStatus): string[] {
  const lines: string[] = [];
  for (const m of s.current) lines.push(`maintaining now (run #${m.runId}): ${m.container}  ${versions(m)}  ${progress(m)}`);
  if (s.unfinished.length) {
    lines.push(`${s.unfinished.length} maintenance${s.unfinished.length === 1 ? '' : 's'} left unfinished by a crash or kill; run \`refit recover\` to finish or roll back:`);
    for (const m of s.unfinished) lines.push(`  ${m.container}  ${versions(m)}  run #${m.runId}, ${progress(m)}`);
  }
  if (!s.runs.length) return [...lines, 'no run in the journal yet'];
  lines.push('last runs:');
  lines.push(
    ...table([
      ['RUN', 'KIND', 'STARTED', 'FINISHED', 'RESULT', 'CONTAINERS'],
      ...s.runs.map((r) => [`#${r.id}`, r.kind, utcTime(r.started), r.finished ? utcTime(r.finished) : '-', r.result, countsText(r.counts)]),
    ]).map((l) => `  ${l}`),
  );
  if (s.skipped.length) lines.push(`skipped in run #${s.skipped[0]!.runId}:`, ...s.skipped.map((m) => `  ${m.container}${m.imageAfter ? ` (${m.imageAfter})` : ''}: ${m.reason}`));
  return lines;
}

function versions(m: MaintenanceInProgress): string {
  return m.imageAfter ? `${m.imageBefore} -> ${m.imageAfter}` : m.imageBefore;
}

function progress(m: MaintenanceInProgress): string {
  return m.lastStep ? `last step ${m.lastStep.step} ${m.lastStep.phase} at ${utcTime(m.lastStep.at)}` : `begun at ${utcTime(m.started)}, before its first step`;
}

function countsText(counts: Record<MaintenanceStatus, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`);
  return parts.length ? parts.join(', ') : 'nothing maintained';
}
