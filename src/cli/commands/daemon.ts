/**
 * @module cli/commands/daemon
 * `refit daemon`: recovers what a crash left, keeps the proxy up and in step with the host's
 * containers all week (proxy/keeper.ts), and runs one pass in each maintenance window
 * (schedule in refit.yml). The host lock is held for recovery and each pass only, so
 * `refit run` and `refit recover` work between windows. Serves /metrics on loopback when
 * enabled. SIGTERM/SIGINT: the container being maintained is finished or rolled back, the
 * proxy is left serving, and it exits 0.
 */
import { hostname } from 'node:os';
import { Command } from 'commander';
import { watchEngineEvents } from '../../docker/events.js';
import { oneLine } from '../../errors.js';
import { checkHealth } from '../../health/check.js';
import { acquireHostLock } from '../../journal/lock.js';
import type { Metrics } from '../../metrics/metrics.js';
import { startKeeper, type Keeper } from '../../proxy/keeper.js';
import { startMetricsServer } from '../../metrics/server.js';
import { abortableSleep, runDaemon } from '../../maintenance/daemon.js';
import { runPass } from '../../maintenance/pass.js';
import { passConcurrency } from '../../maintenance/schedule.js';
import { recoveryRun } from '../../maintenance/pipeline.js';
import { openHost } from '../../maintenance/real-world.js';
import type { PassReport } from '../../maintenance/report.js';
import { validateSchedule } from '../../maintenance/window.js';
import { parseReference } from '../../registry/reference.js';
import { passSummary, watchOutcome } from '../../report/summary.js';
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
      const host = await openHost(ctx, { command: 'refit daemon', lock: false, daemon: true });
      const underHostLock = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
        const lock = acquireHostLock(ctx.config.stateDir, { command: `refit daemon (${what})` });
        try {
          return await fn();
        } finally {
          lock.release();
        }
      };
      // prom-client is loaded only when /metrics is served: no one else reads the numbers.
      const metrics = ctx.config.metrics.enabled ? (await import('../../metrics/metrics.js')).createMetrics({ processMetrics: true }) : null;
      const server = metrics ? await startMetricsServer(ctx.config.metrics.listen, metrics) : null;
      const stop = new AbortController();
      const onSignal = (sig: string) => {
        log.info({ signal: sig }, 'stopping: the current container is finished or rolled back first, and watches end (not judged)');
        stop.abort();
        host.watch.stop();
      };
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
      let keeper: Keeper | null = null;
      try {
        try {
          const { recovered } = await underHostLock('recover', () => recoveryRun(host.deps, host.watch.settle));
          for (const r of recovered) log.warn({ container: r.container, result: r.result }, r.reason);
        } catch (err) {
          // Another refit holds the host: it recovers at its own start.
          log.warn(`recovery left to the refit holding the host: ${oneLine(err)}`);
        }
        if (host.deps.world.proxy.zeroDowntime) {
          const { proxy } = ctx.config;
          keeper = startKeeper({
            ...host.sync,
            // One attempt per sync: the keeper asks again every retryMs until the container is healthy.
            checkHealth: (t) => checkHealth(t, { ...ctx.config.health, attempts: ctx.config.health.successThreshold }),
            watch: (onChange, signal) => watchEngineEvents(ctx.engine(), onChange, signal, (line) => log.warn(line)),
            log: { info: (m) => log.info(m), warn: (m) => log.warn(m), debug: (m) => log.debug(m) },
            debounceMs: proxy.keeper.debounceMs,
            reconcileMs: proxy.keeper.reconcileMs,
            superviseMs: proxy.keeper.superviseMs,
            retryMs: proxy.keeper.retryMs,
          });
          keeper.onSync((r) => {
            if (r.waiting.length) log.warn({ waiting: r.waiting }, `${r.waiting.length} container(s) not in rotation until healthy`);
          });
          void keeper.ready.then((r) => log.info({ sites: r.sites.length, busy: r.busy.length }, `${proxy.type} serving ${r.sites.length} site(s)`));
        }
        if (server) log.info(`metrics on http://${ctx.config.metrics.listen}/metrics`);
        await runDaemon(
          {
            schedule: ctx.config.schedule,
            now: () => new Date(),
            sleep: abortableSleep,
            pass: (stopReason) =>
              underHostLock('pass', () =>
                runPass(host, {
                  kind: 'daemon',
                  concurrency: passConcurrency(ctx.config.maintenance.concurrency),
                  stopReason,
                  onProgress: (e) => log.info({ container: e.container, step: e.step, phase: e.phase }, e.message ?? `${e.step} ${e.phase}`),
                }),
              ),
            onPassError: (err) => log.warn(`the pass did not run: ${oneLine(err)}; trying again in a minute`),
            onWindow: (w) => log.info({ until: w.end.toISOString() }, 'maintenance window open'),
            onPass: async (report) => {
              if (metrics) record(metrics, report);
              for (const r of report.containers) log[r.result === 'failed' || r.result === 'rolled-back' || r.result === 'reverted' ? 'warn' : 'info']({ container: r.container, result: r.result, ...(r.watch ? { watch: r.watch.decision } : {}) }, r.reason);
              for (const image of report.images?.removed ?? []) log.info({ image: image.imageId, references: image.references, deleted: image.deleted }, 'removed a replaced image');
              for (const note of report.images?.notes ?? []) log.warn(note);
              log.info({ runId: report.runId, ok: report.ok }, summaryLine(report));
              await host.announce(report);
            },
          },
          stop.signal,
        );
      } finally {
        // The proxy keeps serving: it is a process of its own.
        await keeper?.stop();
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
    if (r.watch) metrics.watchObserved(r.container, watchOutcome(r.watch));
    if (r.reason.startsWith('update check failed')) {
      const ref = parseReference(r.from.reference);
      metrics.registryCheckFailed(ref.ok ? ref.ref.registry : 'unknown');
    }
  }
}
