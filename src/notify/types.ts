/**
 * @module notify/types
 * What the maintenance engine tells the notifier: a summary at the end of every pass, and an
 * incident as soon as one container is rolled back or fails. These shapes are also the JSON
 * that generic webhooks receive (docs/operations.md), so they only grow, never change.
 */

/** `reverted`: updated, then the watch after the update found the new version worse and went back. */
export type ContainerResult = 'updated' | 'reverted' | 'rolled-back' | 'failed' | 'skipped' | 'current';

export interface ContainerOutcome {
  container: string;
  result: ContainerResult;
  /** Image reference before the pass. */
  from?: string;
  /** Image reference refit moved to (or tried to). */
  to?: string;
  /** Why it was rolled back, failed or skipped. */
  reason?: string;
  /** The watch after its update (when one ran). */
  watch?: WatchOutcome;
}

/** The watch after an update, as notifications tell it: from → to, rate, requests, decision. */
export interface WatchOutcome {
  decision: 'kept' | 'reverted' | 'revert-failed' | 'not-judged';
  from: string;
  to: string;
  /** What the new version answered while watched, and its 5xx. */
  requests: number;
  errors: number;
  /** What the old version answered before the switch (absent: not counted). */
  before?: { requests: number; errors: number };
  reason: string;
}

export interface PassSummary {
  runId: string;
  /** ISO 8601 timestamps. */
  startedAt: string;
  finishedAt: string;
  /** The Docker host's name, so one channel can serve many hosts. */
  host: string;
  results: ContainerOutcome[];
}

/** One container needs an operator now: it was rolled back, could not even be rolled back, or was reverted after its update. */
export interface ContainerIncident {
  runId: string;
  host: string;
  /** ISO 8601. */
  at: string;
  container: string;
  result: 'rolled-back' | 'failed' | 'reverted';
  /** The maintenance step that failed (`shadow-health`, `swap`, ...). */
  step?: string;
  from?: string;
  to?: string;
  reason: string;
}

/** A rollout stopped everywhere (docs/fleet.md): an image held by an operator, or by itself when its failure rate went over the threshold. */
export interface HoldNotice {
  /** The host that saw it happen (the one whose report tipped the rate, or where the operator ran `refit fleet hold`). */
  host: string;
  /** ISO 8601. */
  at: string;
  repository: string;
  /** null: every digest of the repository. */
  digest: string | null;
  auto: boolean;
  by: string;
  reason: string;
}

export type NotifyEvent = { kind: 'pass'; summary: PassSummary } | { kind: 'incident'; incident: ContainerIncident } | { kind: 'hold'; hold: HoldNotice };

/** A pass with a rolled-back or failed container is a problem pass: the CLI exits 1 for it. */
export function isProblem(result: ContainerResult): boolean {
  return result === 'rolled-back' || result === 'failed' || result === 'reverted';
}
