/**
 * @module cli/commands/recover
 * `refit recover`: finishes or rolls back every maintenance a crash or kill left unfinished,
 * from the journal alone. (`run` and `daemon` do the same first, every time they start.)
 * Exit 0 when every site was brought back to a clean state, 1 when one needs an operator.
 */
import { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { recoveryRun } from '../../maintenance/pipeline.js';
import { openHost } from '../../maintenance/real-world.js';
import { renderContainer } from '../../report/text.js';
import { contextOf } from '../context.js';
import { printJson, printLines } from '../output.js';

export function recoverCommand(): Command {
  return new Command('recover')
    .description('finish or roll back whatever the journal shows unfinished (after a crash or kill)')
    .option('--json', 'print the recovered maintenances as JSON')
    .addHelpText('after', '\nExample:\n  refit recover')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const host = await openHost(ctx, { command: 'refit recover', lock: true });
      try {
        const { runId, recovered, failed } = await recoveryRun({ ...host.deps, onProgress: host.progress?.event }, host.watch.settle);
        host.progress?.stop();
        if (ctx.json) printJson({ runId, recovered });
        else printLines(recovered.length ? recovered.flatMap((r) => renderContainer(r)) : ['nothing to recover: the journal shows no unfinished maintenance']);
        if (failed) process.exitCode = EXIT.failed;
      } finally {
        await host.close();
      }
    });
}
