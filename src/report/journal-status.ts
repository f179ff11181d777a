/**
 * @module report/journal-status
 * What `refit status` tells from the journal: the last runs, the container a live refit is
 * maintaining right now, and the maintenances a crash or kill left unfinished (which only
 * `refit recover`, or the next run, finishes). Pure: the command reads the journal and the
 * host lock and hands them in.
 */
import type { HoldRecord, MaintenanceLog, MaintenanceStatus, ResponseCounts, RunKind, RunSummary, StepPhase, WatchRecord, WatchState } from '../journal/types.js';
import { table } from '../cli/output.js';
import { imageText } from '../watch/holds.js';
import { windowText } from '../watch/judge.js';
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
  /** The sites the newest run skipped with a reason it journaled (the fleet's rollout rules, holds), and why. */
  skipped: { runId: number; container: string; imageAfter: string | null; reason: string }[];
  /** The watch after each update of the runs shown (or settled since), and any still open (a live refit's, or one a dead refit left for recover). */
  watches: WatchStatus[];
  /** Images held on this host until an operator releases them (`refit holds release`). */
  holds: HoldStatus[];
}

export interface WatchStatus {
  watchId: number;
  runId: number;
  container: string;
  from: string;
  to: string;
  state: WatchState;
  /** `left`: open, but its refit is gone (recover closes it). */
  live: boolean;
  windowMs: number;
  started: string;
  /** When the window ends (null before it began). */
  until: string | null;
  /** What the new version answered so far, and what the old one answered before the switch. */
  observed: ResponseCounts | null;
  baseline: ResponseCounts | null;
  reason: string | null;
}

export interface HoldStatus {
  holdId: number;
  reference: string;
  digest: string | null;
  imageId: string | null;
  container: string;
  since: string;
  reason: string;
}

export const NO_JOURNAL: JournalStatus = { runs: [], current: [], unfinished: [], skipped: [], watches: [], holds: [] };

/**
 * `lockHolderPid` is the pid of the live process holding the host lock (null: nobody). A run
 * is running only while its own process holds the lock; one not finished otherwise died.
 */
export function journalStatus(
  runs: RunSummary[],
  inProgress: MaintenanceLog[],
  lockHolderPid: number | null,
  recent: MaintenanceLog[] = [],
  watch: { open?: WatchRecord[]; recent?: WatchRecord[]; holds?: HoldRecord[] } = {},
): JournalStatus {
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
    watches: [...(watch.open ?? []), ...(watch.recent ?? []).filter((w) => isRecent(w, runs) && !watch.open?.some((o) => o.id === w.id))]
      .sort((a, b) => a.id - b.id)
      .map((w) => watchStatus(w, running.has(w.runId))),
    holds: (watch.holds ?? []).map((h) => ({ holdId: h.id, reference: h.reference, digest: h.digest, imageId: h.imageId, container: h.container, since: h.created.toISOString(), reason: h.reason })),
  };
}

const OPEN: readonly WatchState[] = ['waiting', 'watching', 'reverting'];

/** A watch of the runs shown, or one closed since the oldest of them began (a recover settles what a killed run left). */
const isRecent = (w: WatchRecord, runs: RunSummary[]) => runs.some((r) => r.id === w.runId) || (runs.length > 0 && w.finished !== null && w.finished >= runs.at(-1)!.started);

function watchStatus(w: WatchRecord, live: boolean): WatchStatus {
  return {
    watchId: w.id,
    runId: w.runId,
    container: w.container,
    from: w.imageBefore,
    to: w.imageAfter,
    state: w.state,
    live: OPEN.includes(w.state) && live,
    windowMs: w.rules.windowMs,
    started: w.started.toISOString(),
    until: w.deadline?.toISOString() ?? null,
    observed: w.observed,
    baseline: w.baseline,
    reason: w.reason,
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
  if (s.watches.length) lines.push('watch after the update:', ...s.watches.map((w) => `  ${w.container}  ${w.from} -> ${w.to}  ${watchText(w)}`));
  if (s.holds.length) lines.push('held on this host (`refit holds release ID` lets one be taken again):', ...s.holds.map((h) => `  #${h.holdId}  ${imageText(h)}  since ${utcTime(h.since)}, after the watch of ${h.container}: ${h.reason}`));
  return lines;
}

const pct = (c: ResponseCounts) => `${c.requests ? ((100 * c.errors) / c.requests).toFixed(1) : '0.0'}% 5xx of ${c.requests}`;

/** `watching until 03:20:00Z: 1.2% 5xx of 412 so far (before: 0.9% 5xx of 3100)`, or the decision and why. */
function watchText(w: WatchStatus): string {
  const numbers = `${w.observed ? pct(w.observed) : 'nothing counted'}${w.state === 'watching' ? ' so far' : ''}${w.baseline ? ` (before: ${pct(w.baseline)})` : ''}`;
  if (OPEN.includes(w.state) && !w.live) return `${w.state}, left by a refit that is gone: \`refit recover\` settles it`;
  if (w.state === 'waiting') return `${windowText(w.windowMs)} watch begins once the update is done`;
  if (w.state === 'watching') return `watching until ${w.until ? utcTime(w.until) : '?'}: ${numbers}`;
  if (w.state === 'reverting') return `reverting: ${w.reason ?? ''}`;
  return `${w.state}: ${w.reason ?? numbers}`;
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
