/**
 * @module watch/revert
 * A revert the watch decided: the update is undone by the same zero-downtime path it came by
 * (maintenance/steps.ts REVERT_STEPS), as a maintenance of its own in the journal, crash-safe
 * like any: `refit recover` finishes or rolls it back. A revert a crash rolled back is taken
 * up again (the decision stands; a crash is no reason to keep a worse version), at most
 * MAX_ATTEMPTS times; one that failed on its own leaves the new version serving, held.
 *
 * `settleWatches` is what recover does for the watch: close the watches a dead refit left
 * (not judged: interrupted), stop counting for them, and take up the reverts it was making.
 */
import { join } from 'node:path';
import { isRefitError, oneLine } from '../errors.js';
import type { MaintenanceLog, WatchRecord, WatchState } from '../journal/types.js';
import { maintainContainer, type PipelineDeps } from '../maintenance/pipeline.js';
import type { MaintenancePlan } from '../maintenance/plan.js';
import { readJournaledMaintenance } from '../maintenance/plan-record.js';
import { claimOf } from '../maintenance/schedule.js';
import type { ContainerReport } from '../maintenance/report.js';
import { siteIdOf } from '../proxy/sites.js';
import type { Discovery, Site } from '../site/discover.js';

/** Reverts of one watch's decision at most (the first, and what crashes took up again). */
export const MAX_ATTEMPTS = 3;

/** refit's files of one watch: the tree the update installed (what a revert merges against). */
export const watchDir = (stateDir: string, watchId: number) => join(stateDir, 'watch', `w${watchId}`);
export const installedTree = (stateDir: string, watchId: number) => join(watchDir(stateDir, watchId), 'installed');

export interface RevertOutcome {
  state: Extract<WatchState, 'reverted' | 'revert-failed' | 'reverting'>;
  /** Why it did not go through (revert-failed, or still reverting: recover continues it). */
  reason?: string;
  report: ContainerReport | null;
}

/**
 * Runs the revert of a watch that is `reverting` (its decision and hold journaled) and records
 * how it ended in the watch. A revert that cannot start (the update is not in the journal, the
 * container is gone or runs another image) is that outcome; only the journal failing throws.
 */
export async function runRevert(deps: PipelineDeps, discover: () => Promise<Discovery>, w: WatchRecord, runId: number): Promise<RevertOutcome> {
  const start = await revertStart(deps, discover, w).catch((err: unknown) => {
    if (isRefitError(err, 'journal')) throw err;
    return { why: `the revert could not start: ${oneLine(err)}` };
  });
  // The maintenance itself never throws for what happens to the site: its report says it.
  const outcome: RevertOutcome = 'why' in start ? { state: 'revert-failed', reason: start.why, report: null } : await revertFrom(deps, start, w, runId);
  if (outcome.state === 'reverting') return outcome;
  deps.journal.updateWatch(w.id, { state: outcome.state, ...(outcome.reason ? { reason: `${w.reason ?? ''}; ${outcome.reason}` } : {}) });
  await closeWatch(deps, w);
  return outcome;
}

interface RevertStart {
  site: Site;
  plan: MaintenancePlan;
}

/** The update to undo (from the journal) and the site as it runs now, or why there is nothing to revert. */
async function revertStart(deps: PipelineDeps, discover: () => Promise<Discovery>, w: WatchRecord): Promise<RevertStart | { why: string }> {
  const update = w.maintenanceId === null ? null : deps.journal.maintenance(w.maintenanceId);
  const journaled = update ? readJournaledMaintenance(update) : null;
  if (!journaled?.plan) return { why: 'the update it would undo is not in the journal' };
  const site = (await discover()).sites.find((s) => s.name === w.container);
  if (!site) return { why: `${w.container} is no longer a managed container` };
  if (journaled.newImageId && site.image.id !== journaled.newImageId) {
    return { why: `${w.container} no longer runs the watched image ${journaled.newImageId} (it runs ${site.image.reference}, ${site.image.id}): left as it is` };
  }
  return { site, plan: journaled.plan };
}

async function revertFrom(deps: PipelineDeps, { site, plan }: RevertStart, w: WatchRecord, runId: number): Promise<RevertOutcome> {
  const candidate = { reference: plan.from.reference, digest: null };
  // It clashes as the update it undoes would: it waits for the pass's maintenances that share its config dir or move its tag.
  const release = (await deps.claims?.take(claimOf(site, candidate))) ?? (() => {});
  const report = await maintainContainer(deps, runId, site, plan.proxySiteId, candidate, {
    revert: {
      plan: { watchId: w.id, imageId: plan.from.imageId, reason: w.reason ?? 'the watch decided it' },
      installed: site.config ? installedTree(deps.stateDir, w.id) : null,
      backup: site.config ? plan.paths.backup : null,
    },
  }).finally(release);
  if (report.result === 'updated') return { state: 'reverted', report };
  // Left unfinished (an undo kept failing, or a step after its commit point): recover continues it.
  if (report.result === 'failed') return { state: 'reverting', reason: report.reason, report };
  return { state: 'revert-failed', reason: `the revert rolled back, ${plan.to.reference} stays: ${report.reason}`, report };
}

/** The watch is over: its files go, and the proxy stops counting the site unless another watch of it runs. */
export async function closeWatch(deps: PipelineDeps, w: Pick<WatchRecord, 'id' | 'project' | 'service'>): Promise<void> {
  await deps.world.removeDir(watchDir(deps.stateDir, w.id));
  const others = deps.journal.watchesIn(['waiting', 'watching', 'reverting']).filter((o) => o.id !== w.id && o.project === w.project && o.service === w.service);
  if (others.length) return;
  await deps.world.proxy.observe?.(siteIdOf({ compose: w }), false).catch((err: unknown) => {
    // A site that left the proxy has nothing to stop; anything else is worth retrying at the next recover.
    if (!isRefitError(err, 'proxy')) throw err;
  });
}

/**
 * After recover (maintenances a crash left are finished or rolled back): the watches the dead
 * refit left open are settled. Returns the reports of the reverts taken up again.
 */
export async function settleWatches(deps: PipelineDeps, discover: () => Promise<Discovery>, runId: number): Promise<ContainerReport[]> {
  const { journal } = deps;
  const reports: ContainerReport[] = [];
  for (const w of journal.watchesIn(['waiting', 'watching', 'reverting'])) {
    if (w.state === 'reverting') {
      const report = await settleRevert(deps, discover, w, journal.revertsOf(w.id), runId);
      if (report) reports.push(report);
      continue;
    }
    const update = w.maintenanceId === null ? null : journal.maintenance(w.maintenanceId);
    // Its update is still unfinished: the watch waits for the recover that finishes it.
    if (w.state === 'waiting' && update?.status === 'in-progress') continue;
    journal.updateWatch(w.id, {
      state: w.state === 'waiting' ? 'not-watched' : 'interrupted',
      reason: w.state === 'waiting' ? 'refit stopped before the update finished: not watched' : 'refit stopped while it watched: not judged',
    });
    await closeWatch(deps, w);
  }
  return reports;
}

async function settleRevert(deps: PipelineDeps, discover: () => Promise<Discovery>, w: WatchRecord, reverts: MaintenanceLog[], runId: number): Promise<ContainerReport | null> {
  const last = reverts.at(-1);
  if (last?.status === 'in-progress') return null; // recover could not finish it: the next one continues
  if (last?.status === 'updated') {
    deps.journal.updateWatch(w.id, { state: 'reverted' });
    await closeWatch(deps, w);
    return null;
  }
  if (reverts.length >= MAX_ATTEMPTS) {
    deps.journal.updateWatch(w.id, { state: 'revert-failed', reason: `${w.reason ?? ''}; the revert did not go through in ${reverts.length} attempts (the last: ${last?.reason ?? 'none'})` });
    await closeWatch(deps, w);
    return null;
  }
  // The decision stands: the revert a crash cut short (or never began) is made again.
  return (await runRevert(deps, discover, w, runId)).report;
}
