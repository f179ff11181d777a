/**
 * @module cli/commands/daemon
 * `refit daemon`: holds the host lock, recovers what a crash left, then runs one pass in each
 * maintenance window (schedule in refit.yml). Serves /metrics on loopback when enabled.
 * SIGTERM/SIGINT: the container being maintained is finished or rolled back, then it exits 0.
 */
import { hostname } from 'node:os';
import { Command } from 'commander';
import { createMetrics, type Metrics } from '../../metrics/metrics.js';
import { startMetricsServer } from '../../metrics/server.js';
import { abortableSleep, runDaemon } from '../../maintenance/daemon.js';
import { runPass } from '../../maintenance/pass.js';
import { recoveryRun } from '../../maintenance/pipeline.js';
import { openHost } from '../../maintenance/real-world.js';
import type { PassReport } from '../../maintenance/report.js';
import { validateSchedule } from '../../maintenance/window.js';
import { parseReference } from '../../registry/reference.js';
import { passSummary } from '../../report/summary.js';
import { summaryLine } from '../../report/text.js';
import { createLogger } from '../../log/logger.js';
import { contextOf } from '../context.js';

export function daemonCommand(): Command {
  return new Command('daemon')
    .description('run a maintenance pass in every maintenance window (schedule in refit.yml)')
    .option('--json', 'log as JSON lines (always the case under the daemon; accepted for symmetry with every command)')
    .addHelpText('after', '\nExample:\n  refit daemon            # usually run by packaging/systemd/refit.service')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateSchedule(ctx.config.schedule);
      const log = createLogger({ daemon: true });
      const host = await openHost(ctx, { command: 'refit daemon', lock: true, daemon: true });
      const metrics = createMetrics({ processMetrics: true });
      const server = ctx.config.metrics.enabled ? await startMetricsServer(ctx.config.metrics.listen, metrics) : null;
      const stop = new AbortController();
      const onSignal = (sig: string) => {
        log.info({ signal: sig }, 'stopping: the current container is finished or rolled back first');
        stop.abort();
      };
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
      try {
        const { recovered } = await recoveryRun(host.deps);
        for (const r of recovered) log.warn({ container: r.container, result: r.result }, r.reason);
        if (server) log.info(`metrics on http://${ctx.config.metrics.listen}/metrics`);
        await runDaemon(
          {
            schedule: ctx.config.schedule,
            now: () => new Date(),
            sleep: abortableSleep,
            pass: (stopReason) =>
              runPass(host, {
                kind: 'daemon',
                concurrency: ctx.config.maintenance.concurrency,
                stopReason,
                onProgress: (e) => log.info({ container: e.container, step: e.step, phase: e.phase }, e.message ?? `${e.step} ${e.phase}`),
              }),
            onWindow: (w) => log.info({ until: w.end.toISOString() }, 'maintenance window open'),
            onPass: async (report) => {
              record(metrics, report);
              for (const r of report.containers) log[r.result === 'failed' || r.result === 'rolled-back' ? 'warn' : 'info']({ container: r.container, result: r.result }, r.reason);
              log.info({ runId: report.runId, ok: report.ok }, summaryLine(report));
              await host.announce(report);
            },
          },
          stop.signal,
        );
      } finally {
        await server?.close();
        await host.close();
      }
    });
}

function record(metrics: Metrics, report: PassReport): void {
  metrics.passFinished(passSummary(report, hostname()));
  for (const r of [...report.recovered, ...report.containers]) {
    for (const s of r.steps) if (s.outcome === 'done') metrics.stepObserved(s.step, s.ms);
    if (r.result === 'rolled-back') metrics.rollbackObserved();
    if (r.reason.startsWith('update check failed')) {
      const ref = parseReference(r.from.reference);
      metrics.registryCheckFailed(ref.ok ? ref.ref.registry : 'unknown');
    }
  }
}
