/**
 * @module report/summary
 * A pass report in the shape notifications and metrics take.
 */
import type { ContainerReport, PassReport } from '../maintenance/report.js';
import type { ContainerIncident, PassSummary, WatchOutcome } from '../notify/types.js';

export function passSummary(report: PassReport, host: string): PassSummary {
  return {
    runId: String(report.runId),
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    host,
    results: [...report.recovered, ...report.containers].map((r) => ({
      container: r.container,
      result: r.result === 'planned' ? 'current' : r.result,
      from: r.from.reference,
      ...(r.to ? { to: r.to.reference } : {}),
      reason: r.reason,
      ...(r.watch ? { watch: watchOutcome(r.watch) } : {}),
    })),
  };
}

/** The watch after an update as notifications tell it. */
export function watchOutcome(w: NonNullable<ContainerReport['watch']>): WatchOutcome {
  return { decision: w.decision, from: w.from, to: w.to, requests: w.observed.requests, errors: w.observed.errors, ...(w.baseline ? { before: w.baseline } : {}), reason: w.reason };
}

/** One incident for each container that was rolled back, failed, or reverted after its update. */
export function incidents(report: PassReport, host: string): ContainerIncident[] {
  const out: ContainerIncident[] = [];
  for (const r of [...report.recovered, ...report.containers]) {
    if (r.result !== 'rolled-back' && r.result !== 'failed' && r.result !== 'reverted') continue;
    const failed = r.steps.find((s) => s.outcome === 'failed');
    out.push({
      runId: String(report.runId),
      host,
      at: report.finishedAt,
      container: r.container,
      result: r.result,
      reason: r.reason,
      from: r.from.reference,
      ...(r.to ? { to: r.to.reference } : {}),
      ...(failed ? { step: failed.step } : {}),
    });
  }
  return out;
}
