import { describe, expect, it } from 'vitest';
import type { PassSummary } from '../notify/types.js';
import { createMetrics } from './metrics.js';

const pass = (finishedAt: string, results: PassSummary['results']): PassSummary => ({ runId: '1', startedAt: finishedAt, finishedAt, host: 'h', results });

describe('metrics', () => {
  it('starts with zeroed series so the first scrape has them', async () => {
    const text = await createMetrics({ processMetrics: false }).exposition();
    expect(text).toContain('refit_passes_total{outcome="ok"} 0');
    expect(text).toContain('refit_updates_total{result="rolled-back"} 0');
    expect(text).toContain('refit_last_successful_pass_timestamp_seconds 0');
  });

  it('exposes passes, results, steps, rollbacks, success time and check errors', async () => {
    const m = createMetrics({ processMetrics: false });
    m.passFinished(
      pass('2026-11-01T03:10:00.000Z', [
        { container: 'a', result: 'updated' },
        { container: 'b', result: 'updated' },
        { container: 'c', result: 'current' },
      ]),
    );
    m.passFinished(pass('2026-11-08T03:10:00.000Z', [{ container: 'a', result: 'rolled-back' }]));
    m.rollbackObserved();
    m.stepObserved('merge', 120);
    m.stepObserved('merge', 3_000);
    m.registryCheckFailed('registry.example.com:5000');
    const text = await m.exposition();
    expect(text).toContain('refit_passes_total{outcome="ok"} 1');
    expect(text).toContain('refit_passes_total{outcome="problems"} 1');
    expect(text).toContain('refit_updates_total{result="updated"} 2');
    expect(text).toContain('refit_updates_total{result="rolled-back"} 1');
    expect(text).toContain('refit_updates_total{result="current"} 1');
    expect(text).toContain('refit_rollbacks_total 1');
    // The second pass had a rollback: the success time stays at the first pass.
    expect(text).toContain(`refit_last_successful_pass_timestamp_seconds ${Date.parse('2026-11-01T03:10:00.000Z') / 1000}`);
    expect(text).toContain('refit_step_duration_seconds_bucket{le="0.25",step="merge"} 1');
    expect(text).toContain('refit_step_duration_seconds_bucket{le="5",step="merge"} 2');
    expect(text).toContain('refit_step_duration_seconds_sum{step="merge"} 3.12');
    expect(text).toContain('refit_registry_check_errors_total{registry="registry.example.com:5000"} 1');
  });

  it("exposes each watch's decision, and its container's last numbers", async () => {
    const m = createMetrics({ processMetrics: false });
    expect(await m.exposition()).toContain('refit_watch_decisions_total{decision="reverted"} 0');
    m.watchObserved('shop-web-1', { decision: 'kept', from: 'web:1.0.0', to: 'web:1.1.0', requests: 400, errors: 2, before: { requests: 1000, errors: 1 }, reason: '…' });
    m.watchObserved('shop-web-1', { decision: 'reverted', from: 'web:1.1.0', to: 'web:1.2.0', requests: 200, errors: 50, before: { requests: 1000, errors: 0 }, reason: '…' });
    const text = await m.exposition();
    expect(text).toContain('refit_watch_decisions_total{decision="kept"} 1');
    expect(text).toContain('refit_watch_decisions_total{decision="reverted"} 1');
    expect(text).toContain('refit_watch_requests{container="shop-web-1",decision="reverted"} 200');
    expect(text).toContain('refit_watch_error_ratio{container="shop-web-1",decision="reverted"} 0.25');
    expect(text).toContain('refit_watch_baseline_error_ratio{container="shop-web-1",decision="reverted"} 0');
    expect(text).not.toContain('refit_watch_requests{container="shop-web-1",decision="kept"}');
  });

  it('adds process metrics under the refit_ prefix by default', async () => {
    expect(await createMetrics().exposition()).toContain('refit_process_cpu_seconds_total');
  });
});
