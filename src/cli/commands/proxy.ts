/**
 * @module cli/commands/proxy
 * `refit proxy sync`: makes the reverse proxy serve what runs now. Discovers the managed
 * sites, maps them to proxy sites (one per Compose project + service, each running container a
 * server) and applies that set, starting the proxy when it is not running.
 */
import { Command } from 'commander';
import { acquireHostLock } from '../../journal/lock.js';
import { createProxy, proxySitesOf, type ProxyPlan } from '../../proxy/adapter.js';
import { NO_PROXY_NOTE } from '../../proxy/none.js';
import { discoverSites } from '../../site/discover.js';
import { contextOf } from '../context.js';
import { printJson, printLines, table } from '../output.js';
import type { ProxyKind } from '../../proxy/types.js';
import { doctorCommand } from './proxy-doctor.js';

export interface SyncReport extends ProxyPlan {
  proxy: ProxyKind;
  applied: boolean;
}

export function proxyCommand(): Command {
  const proxy = new Command('proxy')
    .description('control the reverse proxy in front of the managed sites')
    .addHelpText('after', '\nExamples:\n  refit proxy sync\n  refit proxy doctor');
  proxy.addCommand(
    new Command('sync')
      .description('apply the running managed sites to the proxy (vhosts, servers); starts the proxy when it is not running')
      .option('--json', 'print the result as JSON: { proxy, applied, sites: [{ id, vhosts, servers: [{ name, ip, port }] }], skipped: [{ container, reason }] }')
      .addHelpText('after', '\nExamples:\n  refit proxy sync\n  refit proxy sync --json | jq ".sites[].id"')
      .action(async (_opts, cmd: Command) => {
        const ctx = contextOf(cmd);
        // A sync during a maintenance could put a drained server back: one refit per host.
        const lock = acquireHostLock(ctx.config.stateDir, { command: 'refit proxy sync' });
        const adapter = createProxy(ctx.config.proxy);
        let plan: ReturnType<typeof proxySitesOf>;
        try {
          const found = await discoverSites(ctx.engine(), ctx.config.images, ctx.config.health.path);
          plan = proxySitesOf(found.sites, ctx.config.proxy.network);
          if (adapter.zeroDowntime) await adapter.apply(plan.sites);
        } finally {
          lock.release();
        }
        const report: SyncReport = { proxy: adapter.kind, applied: adapter.zeroDowntime, ...plan };
        if (ctx.json) printJson(report);
        else printLines(renderSync(report));
      }),
  );
  proxy.addCommand(doctorCommand());
  return proxy;
}

export function renderSync(r: SyncReport): string[] {
  if (!r.applied) return [NO_PROXY_NOTE, `${r.sites.length} site(s) would be routed by a proxy; set proxy.type to haproxy or nginx`];
  const lines = [`${r.proxy}: ${r.sites.length} site${r.sites.length === 1 ? '' : 's'} applied`];
  if (r.sites.length) {
    lines.push(
      ...table([
        ['SITE', 'VHOSTS', 'SERVERS'],
        ...r.sites.map((s) => [s.id, s.vhosts.join(','), s.servers.map((x) => `${x.name}@${x.ip}:${x.port}`).join(' ') || '(none: answers 503)']),
      ]).map((l) => `  ${l}`),
    );
  }
  if (r.skipped.length) lines.push('not routed:', ...r.skipped.map((s) => `  ${s.container}: ${s.reason}`));
  return lines;
}
