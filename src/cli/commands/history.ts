/**
 * @module cli/commands/history
 * `refit history`: what happened to each container in past passes, newest first, from the
 * journal: versions before and after, result and reason, and with --json the full report
 * (config outcomes with the upstream hunks the customer's edits overrode, health attempts,
 * step timings).
 */
import { Command } from 'commander';
import { RefitError } from '../../errors.js';
import { openJournal } from '../../journal/journal.js';
import type { MaintenanceLog } from '../../journal/types.js';
import type { ContainerReport } from '../../maintenance/report.js';
import { renderContainer } from '../../report/text.js';
import { contextOf } from '../context.js';
import { printJson, printLines } from '../output.js';

export function historyCommand(): Command {
  return new Command('history')
    .description('show past maintenances, newest first')
    .option('--since <when>', 'only since this time: an ISO date/time, or a duration like 7d, 12h, 30m')
    .option('--container <name>', 'only this container')
    .option('--limit <n>', 'at most this many maintenances', '50')
    .option('--verbose', 'every config file, health attempt and step timing')
    .option('--json', 'print the maintenances (with their reports) as JSON')
    .addHelpText('after', '\nExamples:\n  refit history --since 7d\n  refit history --container shop-web-1 --json')
    .action((opts: { since?: string; container?: string; limit: string; verbose?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const since = opts.since === undefined ? undefined : parseSince(opts.since, new Date());
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new RefitError('usage', `--limit ${JSON.stringify(opts.limit)} must be a whole number from 1`);
      const journal = openJournal(ctx.config.stateDir);
      try {
        const logs = journal.history({ since, container: opts.container, limit });
        if (ctx.json) printJson({ maintenances: logs.map(toJson), runs: journal.lastRuns(10) });
        else printLines(logs.length ? logs.flatMap((l) => renderLog(l, opts.verbose)) : ['no maintenance in the journal matches']);
      } finally {
        journal.close();
      }
    });
}

/** `7d`, `12h`, `30m` before `now`, or an ISO date/time. */
export function parseSince(value: string, now: Date): Date {
  const m = /^(\d+)([dhm])$/.exec(value.trim());
  if (m) return new Date(now.getTime() - Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm']);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new RefitError('usage', `--since ${JSON.stringify(value)} is neither a date nor a duration`, 'use e.g. 2026-11-01, 2026-11-01T03:00Z or 7d, 12h, 30m');
  return d;
}

function toJson(l: MaintenanceLog) {
  return { ...l, steps: l.steps.map((s) => ({ ...s, at: s.at.toISOString() })) };
}

function renderLog(l: MaintenanceLog, verbose?: boolean): string[] {
  const when = `${l.started.toISOString().replace('T', ' ').slice(0, 19)}`;
  const report = l.report as unknown as ContainerReport | null;
  if (report) return [`${when}  run #${l.runId}`, ...renderContainer(report, { verbose }).map((x) => `  ${x}`)];
  return [`${when}  run #${l.runId}`, `  ${l.status}  ${l.container}  ${l.imageBefore}${l.imageAfter ? ` -> ${l.imageAfter}` : ''}${l.reason ? `: ${l.reason}` : ''}`];
}
