/**
 * @module cli/commands/merge
 * `refit merge`: the config merge of a maintenance run, on directories the operator names.
 * base, latest and customer are only read; the result goes to --out.
 */
import { Command } from 'commander';
import { mergeConfigTrees } from '../../merge/merge.js';
import { renderMergeText } from '../../merge/report.js';
import { printJson, printLines } from '../output.js';

interface MergeFlags {
  base: string;
  latest: string;
  customer: string;
  out: string;
  json?: boolean;
}

export function mergeCommand(): Command {
  return new Command('merge')
    .description("carry a customer's config edits into a new image's stock configs (three-way, the customer wins conflicts)")
    .requiredOption('--base <dir>', 'stock configs of the image the site runs now')
    .requiredOption('--latest <dir>', 'stock configs of the new image')
    .requiredOption('--customer <dir>', "the customer's config dir (never modified)")
    .requiredOption('--out <dir>', 'where the merged tree goes: a new path, or an empty directory')
    .option('--json', 'print the report as JSON (shape in docs/merge.md)')
    .addHelpText('after', '\nExample:\n  refit merge --base stock-1.0 --latest stock-1.1 --customer /srv/sites/a/config --out /tmp/a-merged')
    .action(async (_opts, cmd: Command) => {
      const flags = cmd.optsWithGlobals<MergeFlags>();
      const report = await mergeConfigTrees({ base: flags.base, latest: flags.latest, customer: flags.customer, out: flags.out });
      if (flags.json) printJson(report);
      else printLines(renderMergeText(report));
    });
}
