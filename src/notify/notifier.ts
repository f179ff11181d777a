/**
 * @module notify/notifier
 * The notifier maintenance talks to: `pass()` and `incident()` return at once and never throw;
 * deliveries run in the background. The process awaits `flush(timeoutMs)` before it exits, so
 * a slow or dead receiver delays the exit by a bounded time and never delays maintenance.
 */
import type { Logger } from 'pino';
import { body, type HookKind } from './format.js';
import { deliver, type Delivery } from './deliver.js';
import { isProblem, type ContainerIncident, type HoldNotice, type NotifyEvent, type PassSummary } from './types.js';

/** Which pass summaries a hook receives; incidents go to every hook. */
export type PassFilter = 'all' | 'changes' | 'problems';

export interface Webhook {
  url: string;
  kind: HookKind;
  passes: PassFilter;
}

export interface NotifierOptions {
  webhooks: readonly Webhook[];
  attempts: number;
  timeoutMs: number;
  deadlineMs: number;
  /** First retry delay; doubles after that. */
  baseDelayMs?: number;
  logger: Logger;
}

export interface FlushResult {
  delivered: number;
  failed: number;
  /** Still in flight when the timeout ran out; they were abandoned. */
  abandoned: number;
}

export interface Notifier {
  pass(summary: PassSummary): void;
  incident(incident: ContainerIncident): void;
  /** A fleet rollout held: goes to every hook, like an incident. */
  hold(notice: HoldNotice): void;
  flush(timeoutMs: number): Promise<FlushResult>;
}

export function wants(filter: PassFilter, event: NotifyEvent): boolean {
  if (event.kind !== 'pass' || filter === 'all') return true;
  const results = event.summary.results.map((r) => r.result);
  return filter === 'problems' ? results.some(isProblem) : results.some((r) => r !== 'current' && r !== 'skipped');
}

export function createNotifier(opts: NotifierOptions): Notifier {
  const pending = new Set<Promise<Delivery>>();
  const stop = new AbortController();
  const tally = { delivered: 0, failed: 0 };

  const send = (event: NotifyEvent) => {
    for (const hook of opts.webhooks) {
      if (!wants(hook.passes, event)) continue;
      const where = redact(hook.url);
      const job = deliver(hook.url, body(hook.kind, event), {
        attempts: opts.attempts,
        baseDelayMs: opts.baseDelayMs ?? 1000,
        deadlineMs: opts.deadlineMs,
        timeoutMs: opts.timeoutMs,
        signal: stop.signal,
      }).then((d) => {
        pending.delete(job);
        if (d.delivered) {
          tally.delivered++;
          opts.logger.debug({ webhook: where, event: event.kind, tries: d.tries }, 'notification delivered');
        } else {
          tally.failed++;
          opts.logger.warn({ webhook: where, event: event.kind, tries: d.tries, reason: d.reason }, `notification to ${where} not delivered: ${d.reason}`);
        }
        return d;
      });
      pending.add(job);
    }
  };

  return {
    pass: (summary) => send({ kind: 'pass', summary }),
    incident: (incident) => send({ kind: 'incident', incident }),
    hold: (hold) => send({ kind: 'hold', hold }),
    async flush(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, timeoutMs, 'timeout')));
      const outcome = await Promise.race([Promise.all([...pending]), timedOut]);
      clearTimeout(timer);
      const abandoned = pending.size;
      if (outcome === 'timeout' && abandoned) {
        stop.abort();
        opts.logger.warn({ abandoned }, `${abandoned} notification(s) still unsent after ${timeoutMs} ms at exit; giving up on them`);
      }
      return { ...tally, abandoned };
    },
  };
}

/** Webhook URLs carry their secret in the path (Slack) or query: log only scheme, host and port. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(bad url)';
  }
}
