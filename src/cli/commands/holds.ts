/**
 * @module cli/commands/holds
 * `refit holds [list]` and `refit holds release ID`: the images the watch after an update held
 * on this host (it reverted them), which no pass takes again until an operator releases them.
 * (Fleet-wide holds are `refit fleet hold|release`.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { EXIT, RefitError } from '../../errors.js';
import { openJournal } from '../../journal/journal.js';
import type { HoldRecord } from '../../journal/types.js';
import { utcTime } from '../../report/text.js';
import { imageText } from '../../watch/holds.js';
import { contextOf } from '../context.js';
import { printJson, printLines, table } from '../output.js';

export function holdsCommand(): Command {
  const holds = new Command('holds')
    .description('the images held on this host after the watch reverted them: list them, release one')
    .addHelpText('after', '\nExamples:\n  refit holds\n  refit holds release 3');
  holds.addCommand(
    new Command('list')
      .description('the images held on this host (with --all: released ones too), newest first')
      .option('--all', 'also the holds released before')
      .option('--json', 'print the holds as JSON')
      .addHelpText('after', '\nExample:\n  refit holds list --all')
      .action((opts: { all?: boolean }, cmd: Command) => {
        const ctx = contextOf(cmd);
        const found = readHolds(ctx.config.stateDir, opts.all ?? false);
        if (ctx.json) printJson({ holds: found.map(holdJson) });
        else printLines(found.length ? renderHolds(found) : ['no image is held on this host']);
      }),
    { isDefault: true },
  );
  holds.addCommand(
    new Command('release')
      .description('let the passes take a held image again')
      .argument('<id>', 'the hold, as `refit holds` numbers it')
      .option('--json', 'print the released hold as JSON')
      .addHelpText('after', '\nExample:\n  refit holds release 3')
      .action((arg: string, _opts, cmd: Command) => {
        const ctx = contextOf(cmd);
        const id = Number(arg);
        if (!/^\d+$/.test(arg) || id < 1) throw new RefitError('usage', `hold id ${JSON.stringify(arg)} is not a number`, 'see the ids with `refit holds`');
        const journal = existsSync(join(ctx.config.stateDir, 'journal.db')) ? openJournal(ctx.config.stateDir) : null;
        try {
          const released = journal?.releaseHold(id) ?? null;
          if (ctx.json) printJson({ released: released ? holdJson(released) : null });
          else printLines([released ? `released hold #${id}: ${imageText(released)} may be taken again by the next pass` : `no active hold #${id} on this host (see \`refit holds --all\`)`]);
          if (!released) process.exitCode = EXIT.failed;
        } finally {
          journal?.close();
        }
      }),
  );
  return holds;
}

/** Reads without creating a journal: a host where refit never ran holds nothing. */
function readHolds(stateDir: string, all: boolean): HoldRecord[] {
  if (!existsSync(join(stateDir, 'journal.db'))) return [];
  const journal = openJournal(stateDir);
  try {
    return journal.holds({ all });
  } finally {
    journal.close();
  }
}

function holdJson(h: HoldRecord) {
  return { holdId: h.id, reference: h.reference, digest: h.digest, imageId: h.imageId, container: h.container, watchId: h.watchId, reason: h.reason, since: h.created.toISOString(), released: h.released?.toISOString() ?? null };
}

export function renderHolds(holds: HoldRecord[]): string[] {
  return table([
    ['HOLD', 'IMAGE', 'SINCE', 'RELEASED', 'AFTER THE WATCH OF', 'WHY'],
    ...holds.map((h) => [`#${h.id}`, imageText(h), utcTime(h.created.toISOString()), h.released ? utcTime(h.released.toISOString()) : '-', h.container, h.reason]),
  ]);
}
