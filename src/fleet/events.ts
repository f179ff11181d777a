/**
 * @module fleet/events
 * What a host publishes to the fleet database, one event per outbox row: a run, a maintenance
 * (with its report) and the versions its sites run after a pass. Each carries the outbox seq:
 * the database keeps a row's newest state only (a row is never overwritten by an older seq).
 */
import type { RunRow } from '../journal/journal.js';
import type { MaintenanceLog } from '../journal/types.js';

/** A run as the journal has it. */
export type RunEvent = RunRow;

/** A maintenance as the journal has it, with times as ISO text and its target. */
export type MaintenanceEvent = Pick<MaintenanceLog, 'id' | 'runId' | 'container' | 'project' | 'service' | 'imageBefore' | 'imageAfter' | 'reason' | 'report'> & {
  status: string;
  /** The target's repository (`registry/path`) and digest, which the waves gate on. */
  repository: string | null;
  digest: string | null;
  started: string;
  finished: string | null;
};

/** A site as a pass left it. */
export interface SiteVersion {
  container: string;
  project: string;
  service: string;
  /** The image reference it runs now, its repository, image ID and (when refit learned it) registry digest. */
  image: string;
  repository: string | null;
  imageId: string;
  digest: string | null;
  /** The pass's result for it (updated, current, skipped, rolled-back, failed) and why. */
  result: string;
  reason: string;
}

export type FleetEvent =
  | { topic: 'run'; seq: number; run: RunEvent }
  | { topic: 'maintenance'; seq: number; maintenance: MaintenanceEvent }
  | { topic: 'sites'; seq: number; runId: number; sites: SiteVersion[] };
