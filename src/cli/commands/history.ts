/**
 * @module cli/commands/history
 * `refit history`: what happened to each container in past passes, newest first, from the
 * journal: versions before and after, config outcomes with the upstream hunks the customer's
 * edits overrode, health attempts, step timings, result and the reason for any rollback.
 */
import { Command } from 'commander';
import { RefitError } from '../../errors.js';
import { openJournal } from '../../journal/journal.js';
import { historyEntry, renderHistory } from '../../report/history.js';
import { contextOf } from '../context.js';
import { printJson, printLines } from '../output.js';

export function historyCommand(): Command {
  return new Command('history')
    .description('show past maintenances, newest first')
    .option('--since <when>', 'only those started since: an ISO date or date-time (UTC unless it names a zone), or a duration like 7d, 12h, 30m')
    .option('--container <name>', 'only this container')
    .option('--limit <n>', 'at most this many maintenances', '50')
    .option('--verbose', 'every health attempt with its requests, and each step on its own line')
    .option('--json', 'print the maintenances (with their reports and journal entries) as JSON')
    .addHelpText('after', '\nExamples:\n  refit history --since 7d\n  refit history --container shop-web-1 --json | jq ".maintenances[0].report.merge"')
    .action((opts: { since?: string; container?: string; limit: string; verbose?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const since = opts.since === undefined ? undefined : parseSince(opts.since, new Date());
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new RefitError('usage', `--limit ${JSON.stringify(opts.limit)} must be a whole number from 1`);
      const journal = openJournal(ctx.config.stateDir);
      try {
        const entries = journal.history({ since, container: opts.container, limit }).map(historyEntry);
        if (ctx.json) printJson({ maintenances: entries });
        else printLines(renderHistory(entries, { verbose: opts.verbose }));
      } finally {
        journal.close();
      }
    });
}

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?(Z|[+-]\d{2}:\d{2})?$/i;

/** `7d`, `12h`, `30m` before `now`, or an ISO date/time: UTC unless it names an offset, as history prints times. */
export function parseSince(value: string, now: Date): Date {
  const text = value.trim();
  const ago = /^(\d+)([dhm])$/.exec(text);
  if (ago) return new Date(now.getTime() - Number(ago[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[ago[2] as 'd' | 'h' | 'm']);
  // Only ISO forms: Date.parse alone takes "1" or "May 5" and guesses.
  const iso = ISO.exec(text);
  const d = iso ? new Date(`${iso[1]}T${iso[2] ?? '00:00'}${iso[3] ?? 'Z'}`) : null;
  if (!d || Number.isNaN(d.getTime())) throw new RefitError('usage', `--since ${JSON.stringify(value)} is neither an ISO date nor a duration`, 'use e.g. 2026-11-01, 2026-11-01T03:00Z or 7d, 12h, 30m');
  return d;
}
