/**
 * @module cli/commands/status
 * `refit status`: what refit sees on this host — managed sites with every detail, the
 * containers that ask to be managed but cannot be, each with its reason — and what the journal
 * says: the last runs, the container being maintained right now, any maintenance a crash
 * left unfinished (exit 1 then: `refit recover` must finish it), the watch after each update
 * and the images held on this host.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { fleetMembership, renderFleetMembership } from '../../fleet/membership.js';
import { openOutbox } from '../../fleet/outbox.js';
import { openJournal } from '../../journal/journal.js';
import { liveHolder } from '../../journal/lock.js';
import { journalStatus, NO_JOURNAL, renderJournalStatus, type JournalStatus } from '../../report/journal-status.js';
import { discoverSites, type Discovery } from '../../site/discover.js';
import { contextOf } from '../context.js';
import { printJson, printLines, table } from '../output.js';

const RUNS_SHOWN = 5;

export function statusCommand(): Command {
  return new Command('status')
    .description('list the managed sites on this host, the containers refit cannot manage, the last runs and any unfinished maintenance')
    .option('--json', 'print the result as JSON (shape in README.md)')
    .addHelpText('after', '\nExit code 1 when a crash left a maintenance unfinished (run `refit recover`).\n\nExample:\n  refit status --json | jq ".sites[].name, .unfinished"')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const found = await discoverSites(ctx.engine(), ctx.config.images, ctx.config.health.path);
      const { journal, queued } = readJournalStatus(ctx.config.stateDir);
      const fleet = fleetMembership(ctx.config.fleet, queued);
      if (journal.unfinished.length) process.exitCode = 1;
      if (ctx.json) printJson({ ...found, ...journal, fleet });
      else printLines([...renderStatus(found), ...renderJournalStatus(journal), ...(fleet ? [renderFleetMembership(fleet)] : [])]);
    });
}

/** Reads without creating: a host where refit never ran has no journal, and status must not make one. */
function readJournalStatus(stateDir: string): { journal: JournalStatus; queued: number } {
  if (!existsSync(join(stateDir, 'journal.db'))) return { journal: NO_JOURNAL, queued: 0 };
  const journal = openJournal(stateDir);
  const outbox = openOutbox(journal.file);
  try {
    const runs = journal.lastRuns(RUNS_SHOWN);
    const recent = runs[0] ? journal.history({ since: runs[0].started, limit: 1000 }) : [];
    const watch = { open: journal.watchesIn(['waiting', 'watching', 'reverting']), recent: runs.length ? journal.recentWatches(runs.at(-1)!.started, 100) : [], holds: journal.holds() };
    return { journal: journalStatus(runs, journal.unfinished(), liveHolder(stateDir)?.pid ?? null, recent, watch), queued: outbox.size() };
  } finally {
    outbox.close();
    journal.close();
  }
}

export function renderStatus({ sites, unmanaged }: Discovery): string[] {
  const lines: string[] = [];
  if (!sites.length && !unmanaged.length) return ['no container on this host carries refit.enable=true'];
  if (sites.length) {
    lines.push(`${sites.length} managed site${sites.length === 1 ? '' : 's'}:`);
    lines.push(
      ...table([
        ['CONTAINER', 'PROJECT/SERVICE', 'IMAGE', 'POLICY', 'VHOSTS', 'CONFIG'],
        ...sites.map((s) => [
          s.name,
          `${s.compose.project}/${s.compose.service}`,
          s.image.reference,
          s.policy,
          s.vhosts.join(',') || '(ip)',
          s.config ? `${s.config.hostPath} -> ${s.config.containerPath}` : '-',
        ]),
      ]).map((l) => `  ${l}`),
    );
  }
  if (unmanaged.length) {
    lines.push(`${unmanaged.length} container${unmanaged.length === 1 ? '' : 's'} asking to be managed that refit cannot manage:`);
    lines.push(...unmanaged.map((u) => `  ${u.name} (${u.image}): ${u.reason}`));
  }
  return lines;
}
