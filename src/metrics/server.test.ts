/** The /metrics endpoint over real HTTP on 127.0.0.1 (in this process, no host services). */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { isRefitError } from '../errors.js';
import { createMetrics } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './server.js';

let running: MetricsServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('startMetricsServer', () => {
  it('serves the exposition text on /metrics', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.rollbackObserved();
    running = await startMetricsServer('127.0.0.1:0', metrics);
    const res = await request(`http://127.0.0.1:${running.port}/metrics`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.body.text()).toContain('refit_rollbacks_total 1');
  });

  it('answers 404 elsewhere', async () => {
    running = await startMetricsServer('127.0.0.1:0', createMetrics({ processMetrics: false }));
    const res = await request(`http://127.0.0.1:${running.port}/`);
    expect(res.statusCode).toBe(404);
    await res.body.dump();
  });

  it('refuses a non-loopback address with a config error before listening', async () => {
    const err = await startMetricsServer('0.0.0.0:0', createMetrics({ processMetrics: false })).catch((e: unknown) => e);
    expect(isRefitError(err, 'config')).toBe(true);
  });

  it('reports a port that is taken as a config error naming the key', async () => {
    running = await startMetricsServer('127.0.0.1:0', createMetrics({ processMetrics: false }));
    const err = await startMetricsServer(`127.0.0.1:${running.port}`, createMetrics({ processMetrics: false })).catch((e: unknown) => e);
    expect(isRefitError(err, 'config')).toBe(true);
    expect((err as Error).message).toContain('EADDRINUSE');
  });
});
