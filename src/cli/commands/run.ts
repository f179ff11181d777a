/**
 * @module cli/commands/run
 * `refit run`: one maintenance pass now, or `--dry-run`: the plan and the merge outcomes, with
 * nothing changed. Exit 0 when every container ended updated, current or skipped; 1 when one
 * was rolled back or failed.
 */
import { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { openHost } from '../../maintenance/real-world.js';
import { dryRun } from '../../maintenance/dry-run.js';
import { runPass } from '../../maintenance/pass.js';
import { passConcurrency } from '../../maintenance/schedule.js';
import { renderPass } from '../../report/text.js';
import { contextOf } from '../context.js';
import { printJson, printLines } from '../output.js';

const repeat = (v: string, acc: string[] | undefined) => [...(acc ?? []), v];

export function runCommand(): Command {
  return new Command('run')
    .description('run one maintenance pass now: update every managed container that has a newer image')
    .option('--container <name>', 'only this container (repeatable)', repeat)
    .option('--dry-run', 'show the plan and the config merge outcomes; change nothing')
    .option('--verbose', 'show every config file, health attempt and step timing')
    .option('--json', 'print the pass report as JSON (shape in docs/maintenance.md)')
    .addHelpText('after', '\nExamples:\n  refit run --dry-run\n  refit run --container shop-web-1\n  refit run --json > last-pass.json')
    .action(async (opts: { container?: string[]; dryRun?: boolean; verbose?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const host = await openHost(ctx, { command: opts.dryRun ? 'refit run --dry-run' : 'refit run', lock: !opts.dryRun });
      try {
        const report = opts.dryRun
          ? await dryRun(host, { containers: opts.container })
          : await runPass(host, { kind: 'run', containers: opts.container, concurrency: passConcurrency(ctx.config.maintenance.concurrency), onProgress: host.progress?.event });
        host.progress?.stop();
        if (ctx.json) printJson(report);
        else printLines(renderPass(report, { verbose: opts.verbose }));
        await host.announce(report);
        if (!report.ok) process.exitCode = EXIT.failed;
      } finally {
        await host.close();
      }
    });
}
