/**
 * @module maintenance/report
 * What one container's maintenance and one pass report: kept in the journal, printed as text
 * or JSON, sent to notifications. Plain data only.
 */
import type { Verdict } from '../health/types.js';
import type { Site } from '../site/discover.js';
import type { DrainResult } from '../proxy/types.js';
import type { StepTiming } from './runner.js';
import type { MergeReport } from '../merge/report.js';
import type { ResponseCounts } from '../journal/types.js';
import type { WatchReport } from '../watch/report.js';

/** `reverted`: updated, then the watch after it found the new version worse and went back. */
export type ContainerResult = 'updated' | 'reverted' | 'rolled-back' | 'failed' | 'skipped' | 'current' | 'planned';

export interface ContainerReport {
  /** The journal's id of this maintenance (absent when none ran: current, skipped, a failed check). */
  maintenanceId?: number;
  /** `revert`: back to the image an update replaced (absent: an update). */
  kind?: 'revert';
  container: string;
  project: string;
  service: string;
  result: ContainerResult;
  /** Why it was skipped, rolled back or failed; what an update or plan means otherwise. */
  reason: string;
  from: { reference: string; imageId: string };
  to: { reference: string; digest: string | null; imageId?: string } | null;
  steps: StepTiming[];
  merge: MergeReport | null;
  /** `public`: each check through the proxy's public listener after traffic moved (absent in reports of older refits). */
  health: { shadow: Verdict | null; original: Verdict | null; public?: PublicCheck[] };
  drains: { server: string; result: DrainResult }[];
  /** What the old version answered through the proxy from the start of the maintenance until it was drained (when the watch asked). */
  served?: ResponseCounts;
  /** The watch after the update: what the new version answered, and what refit decided. */
  watch?: WatchReport;
  notes: string[];
  durationMs: number;
}

/** An image a pass's updates replaced: its tags in the site's repository removed, and the image with them unless another name keeps it. */
export interface RemovedImage {
  imageId: string;
  /** The tags removed. */
  references: string[];
  /** false: another repository's tag still names it, so the engine keeps it. */
  deleted: boolean;
}

/** The site checked from outside, through the proxy, pinned to the server traffic just moved to. */
export interface PublicCheck {
  server: string;
  verdict: Verdict;
}

export interface PassReport {
  runId: number;
  kind: 'run' | 'dry-run' | 'recover' | 'daemon';
  startedAt: string;
  finishedAt: string;
  /** Maintenances a crash had left unfinished, finished or rolled back before this pass. */
  recovered: ContainerReport[];
  containers: ContainerReport[];
  /** The images the pass's updates replaced, removed once no container used them (`images.removeReplaced`; absent when off). */
  images?: { removed: RemovedImage[]; notes: string[] };
  /** true when every container ended updated, current, skipped or planned. */
  ok: boolean;
}

export function passOk(reports: ContainerReport[]): boolean {
  return reports.every((r) => r.result !== 'failed' && r.result !== 'rolled-back' && r.result !== 'reverted');
}

/** A report for a container on which no step ran (current, skipped, failed check, planned). */
export function reportWithoutSteps(
  c: { container: string; project: string; service: string; from: ContainerReport['from'] },
  result: ContainerResult,
  reason: string,
  to: ContainerReport['to'],
): ContainerReport {
  return { ...c, result, reason, to, steps: [], merge: null, health: { shadow: null, original: null }, drains: [], notes: [], durationMs: 0 };
}

export function siteReportHead(site: Site): Pick<ContainerReport, 'container' | 'project' | 'service' | 'from'> {
  return { container: site.name, project: site.compose.project, service: site.compose.service, from: { reference: site.image.reference, imageId: site.image.id } };
}
