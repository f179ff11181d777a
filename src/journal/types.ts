/**
 * @module journal/types
 * What the journal stores: runs, one maintenance per container per run, and the step entries of
 * each maintenance. Records are JSON values chosen by the pipeline: whatever the undo needs.
 */
export type RunKind = 'run' | 'dry-run' | 'recover' | 'daemon';
/** `interrupted`: the process died before finishing the run (closed later by closeAbandonedRuns). */
export type RunResult = 'success' | 'failed' | 'interrupted';
export type MaintenanceStatus = 'in-progress' | 'updated' | 'rolled-back' | 'failed' | 'skipped';
export type StepPhase = 'begin' | 'done' | 'failed' | 'undo-begin' | 'undone';
/** `revert`: back to the image an update replaced, decided by the watch after it (src/watch/). */
export type MaintenanceKind = 'update' | 'revert';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface StepEntry {
  /** Journal-wide sequence number: the true order of entries. */
  seq: number;
  /** As the maintenance named it when it wrote the entry (older refits used other names: see maintenance/plan-record.ts). */
  step: string;
  phase: StepPhase;
  at: Date;
  record: JsonValue | null;
  /** Why a step failed (phase `failed` only). */
  error: string | null;
}

export interface MaintenanceStart {
  container: string;
  project: string;
  service: string;
  imageBefore: string;
  imageAfter?: string;
  /** Default `update`. */
  kind?: MaintenanceKind;
  /** A revert: the watch that decided it. */
  watchId?: number;
}

export interface MaintenanceLog {
  id: number;
  kind: MaintenanceKind;
  /** A revert: the watch that decided it; null otherwise. */
  watchId: number | null;
  container: string;
  project: string;
  service: string;
  imageBefore: string;
  imageAfter: string | null;
  runId: number;
  status: MaintenanceStatus;
  reason: string | null;
  report: JsonValue | null;
  started: Date;
  finished: Date | null;
  /** Ordered by seq. */
  steps: StepEntry[];
}

export interface MaintenanceEnd {
  status: Exclude<MaintenanceStatus, 'in-progress'>;
  reason?: string;
  report?: JsonValue;
  /** Set when the image to update to was only learned after beginMaintenance. */
  imageAfter?: string;
}

export interface RunSummary {
  id: number;
  kind: RunKind;
  pid: number;
  started: Date;
  finished: Date | null;
  result: RunResult | null;
  counts: Record<MaintenanceStatus, number>;
}

export interface HistoryQuery {
  since?: Date;
  container?: string;
  limit?: number;
}

/**
 * A watch after an update (src/watch/): `waiting` for its update to finish, `watching` the new
 * version, `reverting` (decided: a revert maintenance runs), or closed: `kept`, `not-judged`
 * (too few requests), `reverted`, `revert-failed` (the revert rolled back: the new version
 * stays), `interrupted` (refit died while watching), `not-watched` (the update did not stand).
 */
export type WatchState = 'waiting' | 'watching' | 'reverting' | 'kept' | 'not-judged' | 'reverted' | 'revert-failed' | 'interrupted' | 'not-watched';

/** Responses a version answered through the proxy, and how many of them were 5xx. */
export interface ResponseCounts {
  requests: number;
  errors: number;
}

export interface WatchRules {
  windowMs: number;
  minRequests: number;
  /** The largest allowed rise of the 5xx rate over the old version's (a fraction). */
  maxIncrease: number;
}

export interface WatchStart {
  runId: number;
  container: string;
  project: string;
  service: string;
  imageBefore: string;
  imageAfter: string;
  rules: WatchRules;
}

/** The image an update went to, as a hold names it. */
export interface HeldImage {
  reference: string;
  digest: string | null;
  imageId: string | null;
}

export interface WatchRecord extends WatchStart {
  id: number;
  /** The update it watches (null before that maintenance began). */
  maintenanceId: number | null;
  state: WatchState;
  target: HeldImage | null;
  /** What the old version served from the start of the update until it was drained. */
  baseline: ResponseCounts | null;
  /** What the new version has served since the window began. */
  observed: ResponseCounts | null;
  reason: string | null;
  started: Date;
  watchFrom: Date | null;
  deadline: Date | null;
  finished: Date | null;
}

export type WatchChange = Partial<Pick<WatchRecord, 'maintenanceId' | 'state' | 'target' | 'baseline' | 'observed' | 'reason' | 'watchFrom' | 'deadline'>>;

export interface HoldRecord extends HeldImage {
  id: number;
  /** The container whose watch held it. */
  container: string;
  watchId: number | null;
  reason: string;
  created: Date;
  released: Date | null;
}
