/**
 * @module watch/report
 * What the watch after an update reports (plain data): in the pass report under each watched
 * container, in `refit status`, metrics and notifications.
 */
import type { ResponseCounts } from '../journal/types.js';
import type { ContainerReport } from '../maintenance/report.js';

/**
 * kept: the window passed with enough requests and no rise of the 5xx rate over the threshold;
 * reverted: the new version was worse and refit went back; revert-failed: it was worse, but the
 * revert rolled back (the new version serves, held); not-judged: too few requests, or refit
 * stopped watching early (stopping, the proxy could not be read).
 */
export type WatchDecision = 'kept' | 'reverted' | 'revert-failed' | 'not-judged';

export interface WatchReport {
  /** The journal's id of the watch. */
  watchId: number;
  decision: WatchDecision;
  /** Why, with the numbers. */
  reason: string;
  from: string;
  to: string;
  windowMs: number;
  /** What the old version answered before the switch (null: the proxy could not count it). */
  baseline: ResponseCounts | null;
  /** What the new version answered while it was watched. */
  observed: ResponseCounts;
  /** The hold put on the new image (a revert was decided). */
  holdId?: number;
  /** The revert's own report. */
  revert?: ContainerReport;
}
