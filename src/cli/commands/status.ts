/**
 * @module cli/commands/status
 * `refit status`: what refit sees on this host — managed sites with every detail, and the
 * containers that ask to be managed but cannot be, each with its reason.
 */
import { Command } from 'commander';
import { discoverSites, type Discovery } from '../../site/discover.js';
import { contextOf } from '../context.js';
import { printJson, printLines, table } from '../output.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('list the managed sites on this host and the containers refit cannot manage')
    .option('--json', 'print the result as JSON (shape in README.md)')
    .addHelpText('after', '\nExample:\n  refit status --json | jq ".sites[].name"')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const found = await discoverSites(ctx.engine(), ctx.config.images, ctx.config.health.path);
      if (ctx.json) printJson(found);
      else printLines(renderStatus(found));
    });
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
