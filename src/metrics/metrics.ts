/**
 * @module metrics/metrics
 * The numbers refit exports (prom-client) and the small typed API the engine records them
 * through. One instance per process; each owns its own registry so tests do not share state.
 * Names follow Prometheus conventions (`_total`, `_seconds`); docs/operations.md lists them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ContainerResult, PassSummary, WatchOutcome } from '../notify/types.js';
import { isProblem } from '../notify/types.js';

export interface Metrics {
  readonly registry: Registry;
  /** Once per finished pass: counts the pass, every container's result, and the success time. */
  passFinished(summary: PassSummary): void;
  /** A maintenance step's duration (`pull`, `merge`, `shadow-health`, `swap`, ...). */
  stepObserved(step: string, ms: number): void;
  /** Every rollback, whether in a pass or by `refit recover`. */
  rollbackObserved(): void;
  /** A registry check that ended in an error (after its retries). */
  registryCheckFailed(registry: string): void;
  /** The watch after an update ended: its decision, and what the new version answered. */
  watchObserved(container: string, w: WatchOutcome): void;
  /** The exposition text served on /metrics. */
  exposition(): Promise<string>;
}

const RESULTS: ContainerResult[] = ['updated', 'reverted', 'rolled-back', 'failed', 'skipped', 'current'];
const WATCH_DECISIONS: WatchOutcome['decision'][] = ['kept', 'reverted', 'revert-failed', 'not-judged'];

export function createMetrics(opts: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'refit_' });

  const passes = new Counter({
    name: 'refit_passes_total',
    help: 'Maintenance passes finished, by outcome (ok: no container failed or was rolled back).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const updates = new Counter({
    name: 'refit_updates_total',
    help: 'Containers handled by maintenance passes, by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const steps = new Histogram({
    name: 'refit_step_duration_seconds',
    help: 'Duration of maintenance steps.',
    labelNames: ['step'] as const,
    // From a config merge (well under a second) to a slow pull or a long drain (minutes).
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const rollbacks = new Counter({ name: 'refit_rollbacks_total', help: 'Rollbacks performed (in passes and by recover).', registers: [registry] });
  const lastSuccess = new Gauge({
    name: 'refit_last_successful_pass_timestamp_seconds',
    help: 'When the last pass with no failed or rolled-back container finished (unix seconds; 0 = never since start).',
    registers: [registry],
  });
  const checkErrors = new Counter({
    name: 'refit_registry_check_errors_total',
    help: 'Registry checks that ended in an error, by registry host.',
    labelNames: ['registry'] as const,
    registers: [registry],
  });

  const watches = new Counter({
    name: 'refit_watch_decisions_total',
    help: 'Watches after an update, by decision (kept, reverted, revert-failed, not-judged).',
    labelNames: ['decision'] as const,
    registers: [registry],
  });
  const watchRequests = new Gauge({
    name: 'refit_watch_requests',
    help: "Requests the new version answered in its site's last watch, by container and decision.",
    labelNames: ['container', 'decision'] as const,
    registers: [registry],
  });
  const watchErrorRatio = new Gauge({
    name: 'refit_watch_error_ratio',
    help: "Share of 5xx among them (0 to 1); refit_watch_baseline_error_ratio: the old version's before the switch.",
    labelNames: ['container', 'decision'] as const,
    registers: [registry],
  });
  const baselineErrorRatio = new Gauge({
    name: 'refit_watch_baseline_error_ratio',
    help: "Share of 5xx the old version answered before the switch, in the site's last watch.",
    labelNames: ['container', 'decision'] as const,
    registers: [registry],
  });

  // Zero-initialise the labelled series so rate() and absence alerts work from the first scrape.
  passes.inc({ outcome: 'ok' }, 0);
  passes.inc({ outcome: 'problems' }, 0);
  for (const result of RESULTS) updates.inc({ result }, 0);
  for (const decision of WATCH_DECISIONS) watches.inc({ decision }, 0);
  lastSuccess.set(0);

  return {
    registry,
    passFinished(summary) {
      const problems = summary.results.some((r) => isProblem(r.result));
      passes.inc({ outcome: problems ? 'problems' : 'ok' });
      for (const r of summary.results) updates.inc({ result: r.result });
      const finished = Date.parse(summary.finishedAt);
      if (!problems && !Number.isNaN(finished)) lastSuccess.set(finished / 1000);
    },
    stepObserved: (step, ms) => steps.observe({ step }, ms / 1000),
    rollbackObserved: () => rollbacks.inc(),
    registryCheckFailed: (host) => checkErrors.inc({ registry: host }),
    watchObserved(container, w) {
      watches.inc({ decision: w.decision });
      // One series per container: its last watch (an earlier decision's series is dropped).
      for (const g of [watchRequests, watchErrorRatio, baselineErrorRatio]) for (const d of WATCH_DECISIONS) g.remove({ container, decision: d });
      const labels = { container, decision: w.decision };
      watchRequests.set(labels, w.requests);
      watchErrorRatio.set(labels, w.requests ? w.errors / w.requests : 0);
      if (w.before) baselineErrorRatio.set(labels, w.before.requests ? w.before.errors / w.before.requests : 0);
    },
    exposition: () => registry.metrics(),
  };
}
