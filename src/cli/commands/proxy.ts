/**
 * @module cli/commands/proxy
 * `refit proxy sync`: makes the reverse proxy serve what runs now. Discovers the managed
 * sites, maps them to proxy sites (one per Compose project + service, each healthy running
 * container a server) and applies that set, starting the proxy when it is not running. It
 * takes only the proxy's own short lock, so it works while the daemon runs; sites a
 * maintenance is moving are left alone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { checkHealth } from '../../health/check.js';
import { openJournal } from '../../journal/journal.js';
import { createProxy } from '../../proxy/adapter.js';
import { NO_PROXY_NOTE } from '../../proxy/none.js';
import { proxySitesOf } from '../../proxy/sites.js';
import { busySites, syncProxy, type SyncReport } from '../../proxy/sync.js';
import { discoverSites } from '../../site/discover.js';
import { contextOf } from '../context.js';
import { printJson, printLines, table } from '../output.js';
import type { ProxyKind } from '../../proxy/types.js';
import { doctorCommand } from './proxy-doctor.js';

export interface SyncOutput extends SyncReport {
  proxy: ProxyKind;
  applied: boolean;
}

export function proxyCommand(): Command {
  const proxy = new Command('proxy')
    .description('control the reverse proxy in front of the managed sites')
    .addHelpText('after', '\nExamples:\n  refit proxy sync\n  refit proxy doctor');
  proxy.addCommand(
    new Command('sync')
      .description('apply the running managed sites to the proxy (vhosts, healthy servers); starts the proxy when it is not running')
      .option('--json', 'print the result as JSON: { proxy, applied, sites: [{ id, vhosts, servers }], skipped: [{ container, reason }], waiting: [{ container, reason }], busy: [siteId], restarted }')
      .addHelpText('after', '\nExamples:\n  refit proxy sync\n  refit proxy sync --json | jq ".sites[].id"')
      .action(async (_opts, cmd: Command) => {
        const ctx = contextOf(cmd);
        const adapter = createProxy(ctx.config.proxy);
        const discover = () => discoverSites(ctx.engine(), ctx.config.images, ctx.config.health.path);
        let out: SyncOutput;
        if (!adapter.zeroDowntime) {
          const plan = proxySitesOf((await discover()).sites, ctx.config.proxy.network);
          out = { proxy: adapter.kind, applied: false, sites: plan.sites, skipped: plan.skipped, waiting: [], busy: [], restarted: false };
        } else {
          // Read, never create, the journal: it only says which sites a maintenance is moving.
          const journal = existsSync(join(ctx.config.stateDir, 'journal.db')) ? openJournal(ctx.config.stateDir) : null;
          try {
            const report = await syncProxy({
              proxy: adapter,
              network: ctx.config.proxy.network,
              discover,
              checkHealth: (t) => checkHealth(t, ctx.config.health),
              busySince: (since) => busySites(journal?.busySince(since) ?? []),
            });
            out = { proxy: adapter.kind, applied: true, ...report };
          } finally {
            journal?.close();
          }
        }
        if (out.waiting.length) process.exitCode = EXIT.failed;
        if (ctx.json) printJson(out);
        else printLines(renderSync(out));
      }),
  );
  proxy.addCommand(doctorCommand());
  return proxy;
}

export function renderSync(r: SyncOutput): string[] {
  if (!r.applied) return [NO_PROXY_NOTE, `${r.sites.length} site(s) would be routed by a proxy; set proxy.type to haproxy or nginx`];
  const lines = [`${r.proxy}: ${r.sites.length} site${r.sites.length === 1 ? '' : 's'} applied${r.restarted ? ' (it was not running: started again from its state)' : ''}`];
  if (r.sites.length) {
    lines.push(
      ...table([
        ['SITE', 'VHOSTS', 'SERVERS'],
        ...r.sites.map((s) => [s.id, s.vhosts.join(','), (r.busy.includes(s.id) ? '(a maintenance is moving its traffic: left as it is)' : s.servers.map((x) => `${x.name}@${x.ip}:${x.port}`).join(' ')) || '(none: answers 503)']),
      ]).map((l) => `  ${l}`),
    );
  }
  if (r.waiting.length) lines.push('not in rotation until healthy:', ...r.waiting.map((s) => `  ${s.container}: ${s.reason}`));
  if (r.skipped.length) lines.push('not routed:', ...r.skipped.map((s) => `  ${s.container}: ${s.reason}`));
  return lines;
}
