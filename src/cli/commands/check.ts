/**
 * @module cli/commands/check
 * `refit check`: for each managed container, is a newer image available under its policy,
 * which one, and why (or why not). Asks registries and the engine; changes nothing. Exit 0
 * even when updates exist or a registry failed: the per-container report says so.
 */
import { Command } from 'commander';
import { whyTagCannotChange } from '../../maintenance/compose-files.js';
import { checkUpdates, type UpdateCheck } from '../../registry/check.js';
import { discoverSites } from '../../site/discover.js';
import { selectSites } from '../../site/select.js';
import { contextOf } from '../context.js';
import { printJson, printLines, table } from '../output.js';

export function checkCommand(): Command {
  return new Command('check')
    .description('show which managed containers have a newer image under their refit.policy (changes nothing)')
    .option('--container <name>', 'check only this container (repeatable)', (v: string, acc: string[] | undefined) => [...(acc ?? []), v])
    .option('--json', 'print the result as JSON (shape in docs/update-detection.md)')
    .addHelpText('after', '\nExamples:\n  refit check\n  refit check --container shop-web-1 --json | jq ".containers[] | select(.status == \\"update\\")"')
    .action(async (opts: { container?: string[] }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const found = await discoverSites(ctx.engine(), ctx.config.images, ctx.config.health.path);
      const sites = selectSites(found, opts.container);
      const containers = await checkUpdates(sites, { engine: ctx.engine(), config: ctx.config.registry, canNameTag: whyTagCannotChange });
      const summary = summarize(containers);
      if (ctx.json) printJson({ summary, containers });
      else printLines(renderCheck(containers, summary));
    });
}

export interface CheckSummary {
  checked: number;
  updates: number;
  current: number;
  errors: number;
}

export function summarize(results: UpdateCheck[]): CheckSummary {
  const count = (s: UpdateCheck['status']) => results.filter((r) => r.status === s).length;
  return { checked: results.length, updates: count('update'), current: count('current'), errors: count('error') };
}

export function renderCheck(results: UpdateCheck[], summary: CheckSummary): string[] {
  if (!results.length) return ['no managed container to check (see `refit status`)'];
  const rows = results.map((r) => [r.container, r.policy, r.current.reference, r.status === 'update' ? `-> ${r.candidate!.reference}` : r.status]);
  return [
    ...table([['CONTAINER', 'POLICY', 'RUNNING', 'RESULT'], ...rows]),
    '',
    ...results.map((r) => `${r.container}: ${r.reason}`),
    '',
    `${summary.checked} checked: ${summary.updates} with an update, ${summary.current} current, ${summary.errors} could not be checked`,
  ];
}
