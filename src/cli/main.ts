#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * @module cli/main
 * The `refit` command line: declares the commands, maps errors to the exit codes of SPEC.md
 * (0 ok, 1 failed or unhealthy, 2 bad usage or configuration).
 */
// First: V8 settings that must precede every other module (see the module). The young
// generation's bound is in the line above, since it cannot change once node runs.
import './v8-flags.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { EXIT, RefitError, oneLine } from '../errors.js';
import { checkCommand } from './commands/check.js';
import { healthCommand } from './commands/health.js';
import { statusCommand } from './commands/status.js';
import { mergeCommand } from './commands/merge.js';
import { proxyCommand } from './commands/proxy.js';
import { runCommand } from './commands/run.js';
import { recoverCommand } from './commands/recover.js';
import { daemonCommand } from './commands/daemon.js';
import { historyCommand } from './commands/history.js';
import { fleetCommand } from './commands/fleet.js';
import { holdsCommand } from './commands/holds.js';

export function buildProgram(): Command {
  const program = new Command('refit')
    .description('keeps web containers on their newest image: merges customer configs, proves the new image in a shadow, swaps traffic with no dropped request')
    .version(process.env.npm_package_version ?? '0.1.0')
    .option('--config <file>', 'host configuration file (default /etc/refit/refit.yml, or $REFIT_CONFIG)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExamples:\n  refit status\n  refit run --dry-run\n  refit health --url http://172.18.0.5 --host example.com');
  program.addCommand(checkCommand());
  program.addCommand(runCommand());
  program.addCommand(daemonCommand());
  program.addCommand(recoverCommand());
  program.addCommand(statusCommand());
  program.addCommand(historyCommand());
  program.addCommand(holdsCommand());
  program.addCommand(mergeCommand());
  program.addCommand(healthCommand());
  program.addCommand(proxyCommand());
  program.addCommand(fleetCommand());
  // Every command and subcommand exits through run() below instead of process.exit.
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version come through here with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`refit: ${oneLine(err)}\n`);
    if (err instanceof RefitError) return err.exitCode;
    if (process.env.REFIT_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return EXIT.failed;
  }
}

// Run when executed (directly or through the npm bin symlink), not when imported by tests.
const entry = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (entry === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
