/**
 * @module maintenance/pipeline
 * One container's maintenance from start to report, journaled: plan it, run the steps (undoing
 * them on failure), write the outcome. And `recoverUnfinished`: what a crash left half done is
 * finished or rolled back from the journal alone, before anything new starts. A maintenance is
 * closed in the journal only once the site is whole (updated, rolled back, or nothing to do);
 * until then it stays unfinished, and every recover takes it up again.
 */
import { isRefitError, oneLine } from '../errors.js';
import type { Journal } from '../journal/journal.js';
import { recoveryPlan } from '../journal/recover.js';
import type { MaintenanceKind, MaintenanceLog, MaintenanceStatus } from '../journal/types.js';
import type { ProgressEvent } from '../log/progress-model.js';
import type { Site } from '../site/discover.js';
import { faultAfterEntry, withFailures, type Fault } from './faults.js';
import { asJson, planRecord, readJournaledMaintenance } from './plan-record.js';
import type { ServerCounters } from '../proxy/types.js';
import { CounterTally } from '../watch/counters.js';
import { planMaintenance, type MaintenancePlan, type RevertInput } from './plan.js';
import { reportWithoutSteps, type ContainerReport, type ContainerResult } from './report.js';
import { runSteps, undoSteps, type RunOutcome, type StepRecorder, type UndoRetry } from './runner.js';
import type { ClaimBoard } from './schedule.js';
import { orderFor, stepsFor, type MaintenanceCtx } from './steps.js';
import type { World } from './world.js';

export type { ProgressEvent };

export interface PipelineDeps {
  world: World;
  journal: Journal;
  stateDir: string;
  keepBackups: number;
  onProgress?: (e: ProgressEvent) => void;
  now?: () => Date;
  /** How often a failing undo is tried before the rollback is left for the next recover. */
  undoRetry?: UndoRetry;
  /** Fault injection for refit's own tests ($REFIT_FAULT). */
  faults?: readonly Fault[];
  /** The claims of what runs in this pass (schedule.ts): a revert beside the pass's maintenances waits on them. */
  claims?: ClaimBoard;
}

export interface Candidate {
  reference: string;
  digest: string | null;
}

export interface MaintainOptions {
  /** A revert of an update (the watch after it decided): its reason and the update's trees. */
  revert?: RevertInput;
  /** The proxy's counters now (the watch asked): the report says what the original served until it was drained. */
  countersAtStart?: ServerCounters[];
}

export async function maintainContainer(deps: PipelineDeps, runId: number, site: Site, proxySiteId: string, candidate: Candidate, opts: MaintainOptions = {}): Promise<ContainerReport> {
  const started = performance.now();
  const mid = deps.journal.beginMaintenance(runId, {
    container: site.name,
    project: site.compose.project,
    service: site.compose.service,
    imageBefore: site.image.reference,
    imageAfter: candidate.reference,
    ...(opts.revert ? { kind: 'revert' as const, watchId: opts.revert.plan.watchId } : {}),
  });
  const plan = planMaintenance({
    maintenanceId: mid,
    site,
    proxySiteId,
    candidate,
    stateDir: deps.stateDir,
    // A site without vhosts gets no public traffic through the proxy: nothing to move.
    zeroDowntime: deps.world.proxy.zeroDowntime && site.vhosts.length > 0,
    now: (deps.now ?? (() => new Date()))(),
    ...(opts.revert ? { revert: opts.revert } : {}),
  });
  const ctx = contextFor(plan, deps);
  if (opts.countersAtStart) ctx.seen.counters = new CounterTally(opts.countersAtStart);
  if (plan.revert) ctx.seen.notes.push(`revert: ${plan.revert.reason}`);
  if (!deps.world.proxy.zeroDowntime) ctx.seen.notes.push(`proxy.type is ${deps.world.proxy.kind}: no traffic is moved, ${site.name} is down while it is recreated`);
  else if (!plan.zeroDowntime) ctx.seen.notes.push(`${site.name} has no refit.vhosts, so the proxy does not route it: it is recreated in place`);
  const outcome = await runSteps(withFailures(deps.faults ?? [], stepsFor(plan), kindOf(plan)), ctx, recorder(deps, mid, plan), { undoRetry: deps.undoRetry });
  return finish(deps, mid, ctx, outcome, started);
}

const kindOf = (plan: MaintenancePlan): MaintenanceKind => (plan.revert ? 'revert' : 'update');

/**
 * Finishes or rolls back every maintenance the journal shows unfinished, after sweeping what a
 * killed refit leaves outside the journal.
 */
export async function recoverUnfinished(deps: PipelineDeps): Promise<ContainerReport[]> {
  await deps.world.sweepLeftovers();
  const reports: ContainerReport[] = [];
  for (const log of deps.journal.unfinished()) {
    try {
      reports.push(await recoverOne(deps, log));
    } catch (err) {
      // A journal this refit cannot read is left as it is, for an operator; the others still recover.
      if (!isRefitError(err, 'journal')) throw err;
      reports.push(reportWithoutSteps(headOf(log), 'failed', oneLine(err), log.imageAfter ? { reference: log.imageAfter, digest: null } : null));
    }
  }
  return reports;
}

const headOf = (log: MaintenanceLog) => ({ container: log.container, project: log.project, service: log.service, from: { reference: log.imageBefore, imageId: '' } });

/**
 * `refit recover` and the start of the daemon: recovery as a run of its own in the journal.
 * `settle`: what else a dead refit left (the watch after an update), once its maintenances are whole.
 */
export async function recoveryRun(deps: PipelineDeps, settle?: (deps: PipelineDeps, runId: number) => Promise<ContainerReport[]>): Promise<{ runId: number; recovered: ContainerReport[]; failed: boolean }> {
  const runId = deps.journal.beginRun('recover');
  deps.journal.closeAbandonedRuns(runId);
  const recovered = await recoverUnfinished(deps);
  if (settle) recovered.push(...(await settle(deps, runId)));
  const failed = recovered.some((r) => r.result === 'failed');
  deps.journal.finishRun(runId, failed ? 'failed' : 'success');
  return { runId, recovered, failed };
}

async function recoverOne(deps: PipelineDeps, log: MaintenanceLog): Promise<ContainerReport> {
  const started = performance.now();
  const journaled = readJournaledMaintenance(log);
  if (!journaled.plan) {
    const reason = 'interrupted before its first step; nothing had changed';
    deps.journal.finishMaintenance(log.id, { status: 'rolled-back', reason });
    const to = log.imageAfter ? { reference: log.imageAfter, digest: null } : null;
    return reportWithoutSteps(headOf(log), 'rolled-back', reason, to);
  }
  const { plan } = journaled;
  const ctx = contextFor(plan, deps);
  if (journaled.newImageId) ctx.seen.newImageId = journaled.newImageId;
  const rec = recorder(deps, log.id, plan);
  const decision = recoveryPlan({ ...log, steps: journaled.steps }, orderFor(plan));
  ctx.seen.notes.push(`recover: ${decision.reason}`);
  const steps = withFailures(deps.faults ?? [], stepsFor(plan), kindOf(plan));
  let outcome: RunOutcome;
  if (decision.action === 'finish') {
    // The runner sees the commit step done: whatever fails now, nothing is undone.
    outcome = await runSteps(steps, ctx, rec, { done: new Map(decision.done.map((s) => [s, null])), undoRetry: deps.undoRetry });
  } else {
    const ran = steps.filter((s) => decision.undo.includes(s.name));
    const undo = await undoSteps(ran, ctx, rec, deps.undoRetry);
    outcome = undo.ok
      ? { result: 'rolled-back', failedStep: 'recover', reason: decision.reason, timings: [], records: {} }
      : { result: 'unfinished', committed: false, failedStep: undo.failedAt, reason: `${decision.reason}; rollback did not finish: ${undo.failedAt}: ${undo.error}`, timings: [], records: {} };
  }
  return finish(deps, log.id, ctx, outcome, started);
}

function contextFor(plan: MaintenancePlan, deps: PipelineDeps): MaintenanceCtx {
  return { plan, world: deps.world, keepBackups: deps.keepBackups, seen: { drains: [], notes: [], publicChecks: [] } };
}

function recorder(deps: PipelineDeps, mid: number, plan: MaintenancePlan): StepRecorder {
  const { journal } = deps;
  const faults = deps.faults ?? [];
  const progress = (step: string, phase: ProgressEvent['phase'], message?: string) =>
    deps.onProgress?.({ container: plan.site.name, step, phase, at: Date.now(), ...(message ? { message } : {}) });
  const first = orderFor(plan).names[0];
  const kind = kindOf(plan);
  return {
    begin(s) {
      // The first step carries the plan: recovery rebuilds the maintenance from it.
      journal.stepBegin(mid, s, s === first ? planRecord(plan) : undefined);
      faultAfterEntry(faults, s, 'begin', kind);
      progress(s, 'begin');
    },
    done(s, record) {
      journal.stepDone(mid, s, asJson(record));
      faultAfterEntry(faults, s, 'done', kind);
      progress(s, 'done');
    },
    failed(s, error) {
      journal.stepFailed(mid, s, error);
      progress(s, 'failed', error);
    },
    undoBegin(s) {
      journal.undoBegin(mid, s);
      faultAfterEntry(faults, s, 'undo', kind);
      progress(s, 'undo');
    },
    undone(s) {
      journal.undoDone(mid, s);
    },
    undoFailed(s, error) {
      journal.stepFailed(mid, s, `undo failed: ${error}`);
      progress(s, 'failed', `undo failed: ${error}`);
    },
  };
}

function finish(deps: PipelineDeps, mid: number, ctx: MaintenanceCtx, outcome: RunOutcome, started: number): ContainerReport {
  const { plan, seen } = ctx;
  const { result, reason } = resultOf(plan, outcome);
  const report: ContainerReport = {
    maintenanceId: mid,
    ...(plan.revert ? { kind: 'revert' as const } : {}),
    container: plan.site.name,
    project: plan.site.compose.project,
    service: plan.site.compose.service,
    result,
    reason,
    from: plan.from,
    to: { ...plan.to, ...(seen.newImageId ? { imageId: seen.newImageId } : {}) },
    steps: outcome.timings,
    merge: seen.merge ?? null,
    health: { shadow: seen.shadowHealth ?? null, original: seen.originalHealth ?? null, public: seen.publicChecks },
    drains: seen.drains,
    ...(seen.served ? { served: seen.served } : {}),
    notes: seen.notes,
    durationMs: Math.round(performance.now() - started),
  };
  // Left open: the next recover finishes it forward or continues the rollback.
  if (outcome.result === 'unfinished') return report;
  const status: Record<Exclude<RunOutcome['result'], 'unfinished'>, Exclude<MaintenanceStatus, 'in-progress'>> = { done: 'updated', 'rolled-back': 'rolled-back', 'nothing-to-do': 'skipped' };
  deps.journal.finishMaintenance(mid, { status: status[outcome.result], reason, report: asJson(report) });
  return report;
}

function resultOf(plan: MaintenancePlan, outcome: RunOutcome): { result: ContainerResult; reason: string } {
  switch (outcome.result) {
    case 'done':
      return { result: 'updated', reason: plan.revert ? `reverted ${plan.from.reference} -> ${plan.to.reference}` : `updated ${plan.from.reference} -> ${plan.to.reference}` };
    case 'nothing-to-do':
      return { result: 'current', reason: outcome.reason };
    case 'rolled-back':
      return { result: 'rolled-back', reason: `rolled back: ${outcome.reason}` };
    case 'unfinished':
      return {
        result: 'failed',
        reason: outcome.committed
          ? `the update stands but did not finish: ${outcome.reason}; \`refit recover\` (or the next run) finishes it`
          : `${outcome.reason}; the site is not back as it was: \`refit recover\` (or the next run) continues the rollback`,
      };
  }
}
