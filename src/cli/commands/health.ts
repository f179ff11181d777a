/**
 * @module cli/commands/health
 * `refit health`: checks a container exactly as the maintenance run would before it gets
 * traffic, either a managed container by name or any address given with --url.
 */
import { Command, Option } from 'commander';
import { checkHealth } from '../../health/check.js';
import { parseHealthFlags, type HealthFlags } from '../../health/flags.js';
import { renderVerdict } from '../../health/render.js';
import { containerTarget } from '../../health/target.js';
import { preferredHost } from '../../health/verdict.js';
import { EXIT } from '../../errors.js';
import { contextOf } from '../context.js';
import { printJson, printLines } from '../output.js';

export function healthCommand(): Command {
  return new Command('health')
    .description('check a container as the proxy would reach it: custom endpoint, else GET / with the site Host (exit 0 healthy, 1 unhealthy)')
    .argument('[container]', 'a container refit manages (address, hosts and health path come from its labels)')
    .option('--url <url>', 'check this address instead: http://IP[:PORT]')
    .addOption(new Option('--host <name>', 'a hostname of the site, repeatable; the first is sent as Host').argParser(collect))
    .option('--path <path>', 'custom health endpoint (default: health.path in refit.yml, /refit/health)')
    .option('--attempts <n>', 'attempts before giving up (default: health.attempts, 10)')
    .option('--interval-ms <ms>', 'pause between attempts (default: health.intervalMs, 1000)')
    .option('--timeout-ms <ms>', 'per request: connect timeout and whole-response timeout (default: health.connectTimeoutMs / responseTimeoutMs)')
    .option('--json', 'print the verdict as JSON (shape in docs/health.md)')
    .addHelpText(
      'after',
      '\nExamples:\n  refit health mysite-web-1\n  refit health --url http://172.18.0.5 --host example.com --host www.example.com\n  refit health --url http://172.18.0.5:8080 --path /status --attempts 3 --interval-ms 500 --json',
    )
    .action(async (container: string | undefined, flags: HealthFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { subject, options } = parseHealthFlags(container, flags, ctx.config.health);
      const target =
        subject.kind === 'url'
          ? subject.target
          : { ...(await containerTarget(ctx.engine(), subject.name, ctx.config)).target, ...(subject.healthPath ? { healthPath: subject.healthPath } : {}) };
      const verdict = await checkHealth(target, options);
      if (ctx.json) {
        printJson({ ...(subject.kind === 'container' ? { container: subject.name } : {}), target, ...verdict });
      } else {
        const hosts = target.vhosts.length ? target.vhosts.join(', ') : 'none, so Host is the IP';
        printLines([`checking ${target.ip}:${target.port} as Host ${preferredHost(target)} (site hosts: ${hosts}; custom endpoint ${target.healthPath})`, ...renderVerdict(verdict)]);
      }
      if (!verdict.healthy) process.exitCode = EXIT.failed;
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
