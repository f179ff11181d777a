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
}

export interface MaintenanceLog {
  id: number;
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
