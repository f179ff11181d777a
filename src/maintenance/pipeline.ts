/**
 * @module maintenance/pipeline
 * One container's maintenance from start to report, journaled: plan it, run the steps (undoing
 * them on failure), write the outcome. And `recoverUnfinished`: what a crash left half done is
 * finished or rolled back from the journal alone, before anything new starts.
 */
import type { Journal } from '../journal/journal.js';
import type { ProgressEvent } from '../log/progress-model.js';
import { recoveryPlan } from '../journal/recover.js';
import type { JsonValue, MaintenanceLog } from '../journal/types.js';
import type { Site } from '../site/discover.js';
import { faultAfterEntry, withFailure, type Fault } from './faults.js';
import { planMaintenance, type MaintenancePlan } from './plan.js';
import { reportWithoutSteps, type ContainerReport, type ContainerResult } from './report.js';
import { runSteps, undoSteps, type RunOutcome, type StepRecorder } from './runner.js';
import { STEPS, type MaintenanceCtx } from './steps.js';
import type { World } from './world.js';

export type { ProgressEvent };

export interface PipelineDeps {
  world: World;
  journal: Journal;
  stateDir: string;
  keepBackups: number;
  onProgress?: (e: ProgressEvent) => void;
  now?: () => Date;
  /** Fault injection for refit's own tests ($REFIT_FAULT). */
  fault?: Fault | null;
}

export interface Candidate {
  reference: string;
  digest: string | null;
}

export async function maintainContainer(deps: PipelineDeps, runId: number, site: Site, proxySiteId: string, candidate: Candidate): Promise<ContainerReport> {
  const started = performance.now();
  const mid = deps.journal.beginMaintenance(runId, {
    container: site.name,
    project: site.compose.project,
    service: site.compose.service,
    imageBefore: site.image.reference,
    imageAfter: candidate.reference,
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
  });
  const ctx = contextFor(plan, deps);
  if (!deps.world.proxy.zeroDowntime) ctx.seen.notes.push(`proxy.type is ${deps.world.proxy.kind}: no traffic is moved, ${site.name} is down while it is recreated`);
  else if (!plan.zeroDowntime) ctx.seen.notes.push(`${site.name} has no refit.vhosts, so the proxy does not route it: it is recreated in place`);
  const outcome = await runSteps(withFailure(deps.fault ?? null, STEPS), ctx, recorder(deps, mid, plan));
  return finish(deps, mid, ctx, outcome, started);
}

/** Finishes or rolls back every maintenance the journal shows unfinished. */
export async function recoverUnfinished(deps: PipelineDeps): Promise<ContainerReport[]> {
  const reports: ContainerReport[] = [];
  for (const log of deps.journal.unfinished()) reports.push(await recoverOne(deps, log));
  return reports;
}

/** `refit recover` and the start of the daemon: recovery as a run of its own in the journal. */
export async function recoveryRun(deps: PipelineDeps): Promise<{ runId: number; recovered: ContainerReport[]; failed: boolean }> {
  const runId = deps.journal.beginRun('recover');
  deps.journal.closeAbandonedRuns(runId);
  const recovered = await recoverUnfinished(deps);
  const failed = recovered.some((r) => r.result === 'failed');
  deps.journal.finishRun(runId, failed ? 'failed' : 'success');
  return { runId, recovered, failed };
}

async function recoverOne(deps: PipelineDeps, log: MaintenanceLog): Promise<ContainerReport> {
  const started = performance.now();
  const plan = log.steps.find((e) => e.step === 'pull' && e.phase === 'begin')?.record as unknown as MaintenancePlan | undefined;
  if (!plan) {
    // Interrupted before its first step: nothing was changed.
    deps.journal.finishMaintenance(log.id, { status: 'rolled-back', reason: 'interrupted before its first step; nothing had changed' });
    const to = log.imageAfter ? { reference: log.imageAfter, digest: null } : null;
    const c = { container: log.container, project: log.project, service: log.service, from: { reference: log.imageBefore, imageId: '' } };
    return reportWithoutSteps(c, 'rolled-back', 'interrupted before its first step; nothing had changed', to);
  }
  const ctx = contextFor(plan, deps);
  const pulled = log.steps.find((e) => e.step === 'pull' && e.phase === 'done')?.record as { imageId?: string } | null | undefined;
  if (pulled?.imageId) ctx.seen.newImageId = pulled.imageId;
  const rec = recorder(deps, log.id, plan);
  const decision = recoveryPlan(log);
  ctx.seen.notes.push(`recover: ${decision.reason}`);
  let outcome: RunOutcome;
  if (decision.action === 'finish') {
    outcome = await runSteps(
      STEPS.filter((s) => decision.steps.includes(s.name)),
      ctx,
      rec,
    );
  } else {
    const byName = new Map(STEPS.map((s) => [s.name, s]));
    // recoveryPlan lists the undos last step first; undoSteps takes steps in the order they ran.
    const ran = [...decision.undo].reverse();
    const undo = await undoSteps(
      ran.map((u) => ({ step: byName.get(u.step)!, record: u.completed ? u.record : undefined })),
      ctx,
      rec,
    );
    outcome = undo.ok
      ? { result: 'rolled-back', failedStep: 'recover', reason: decision.reason, timings: [], records: {} }
      : { result: 'failed', committed: false, failedStep: undo.failedAt, reason: `${decision.reason}; rollback failed at ${undo.failedAt}: ${undo.error}`, timings: [], records: {} };
  }
  return finish(deps, log.id, ctx, outcome, started);
}

function contextFor(plan: MaintenancePlan, deps: PipelineDeps): MaintenanceCtx {
  return { plan, world: deps.world, keepBackups: deps.keepBackups, seen: { drains: [], notes: [], publicChecks: [] } };
}

function recorder(deps: PipelineDeps, mid: number, plan: MaintenancePlan): StepRecorder {
  const { journal } = deps;
  const progress = (step: string, phase: ProgressEvent['phase'], message?: string) =>
    deps.onProgress?.({ container: plan.site.name, step, phase, at: Date.now(), ...(message ? { message } : {}) });
  const step = (s: string) => s as Parameters<Journal['stepBegin']>[1];
  return {
    begin(s) {
      // The first step carries the whole plan: recovery rebuilds the maintenance from it.
      journal.stepBegin(mid, step(s), s === 'pull' ? (plan as unknown as JsonValue) : undefined);
      faultAfterEntry(deps.fault ?? null, s, 'begin');
      progress(s, 'begin');
    },
    done(s, record) {
      journal.stepDone(mid, step(s), (record ?? null) as JsonValue);
      faultAfterEntry(deps.fault ?? null, s, 'done');
      progress(s, 'done');
    },
    failed(s, error) {
      journal.stepFailed(mid, step(s), error);
      progress(s, 'failed', error);
    },
    undoBegin(s) {
      journal.undoBegin(mid, step(s));
      progress(s, 'undo');
    },
    undone(s) {
      journal.undoDone(mid, step(s));
    },
    undoFailed(s, error) {
      journal.stepFailed(mid, step(s), `undo failed: ${error}`);
      progress(s, 'failed', `undo failed: ${error}`);
    },
  };
}

function finish(deps: PipelineDeps, mid: number, ctx: MaintenanceCtx, outcome: RunOutcome, started: number): ContainerReport {
  const { plan, seen } = ctx;
  const result: ContainerResult = outcome.result === 'done' ? 'updated' : outcome.result;
  const reason =
    outcome.result === 'done'
      ? `updated ${plan.from.reference} -> ${plan.to.reference}`
      : outcome.result === 'rolled-back'
        ? `rolled back: ${outcome.reason}`
        : outcome.committed
          ? `the update stands but did not finish: ${outcome.reason}; \`refit recover\` (or the next run) finishes it`
          : `needs an operator: ${outcome.reason}`;
  const report: ContainerReport = {
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
    notes: seen.notes,
    durationMs: Math.round(performance.now() - started),
  };
  // A committed update that could not finish stays in progress: recovery finishes it forward.
  if (outcome.result === 'failed' && outcome.committed) return report;
  deps.journal.finishMaintenance(mid, {
    status: result === 'updated' ? 'updated' : result === 'rolled-back' ? 'rolled-back' : 'failed',
    reason,
    report: report as unknown as JsonValue,
  });
  return report;
}
