/**
 * @module cli/commands/proxy-doctor
 * `refit proxy doctor`: reads the operator's proxy (guest modes) and says, site by site,
 * whether refit can manage it and what is missing (proxy/doctor.ts); changes nothing of theirs.
 */
import { Command } from 'commander';
import { createProxy, proxySitesOf } from '../../proxy/adapter.js';
import { doctorExitCode, ok, renderDoctor, type DoctorReport } from '../../proxy/doctor.js';
import { NO_PROXY_NOTE } from '../../proxy/none.js';
import { discoverSites } from '../../site/discover.js';
import { contextOf } from '../context.js';
import { printJson, printLines } from '../output.js';

/** `refit proxy doctor`: what the operator's proxy needs before refit can manage each site (guest modes); changes nothing of theirs. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description("read the operator's proxy (guest modes) and say, site by site, whether refit can manage it and what is missing; exit 0 fine, 1 problems found")
    .option('--json', 'print the report as JSON: { proxy, prepared, findings: [{ level, what, fix }], sites: [{ id, route, manageable, findings }], skipped }')
    .addHelpText('after', '\nExamples:\n  refit proxy doctor\n  refit proxy doctor --json | jq ".sites[] | select(.manageable | not)"')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const adapter = createProxy(ctx.config.proxy);
      const found = await discoverSites(ctx.engine(), ctx.config.images, ctx.config.health.path);
      const plan = proxySitesOf(found.sites, ctx.config.proxy.network);
      const report: DoctorReport = adapter.doctor
        ? { ...(await adapter.doctor(plan.sites)), skipped: plan.skipped }
        : { proxy: adapter.kind, prepared: [], findings: [ok(adapter.zeroDowntime ? `refit runs this ${adapter.kind} itself: there is no operator config to check` : NO_PROXY_NOTE)], sites: [], skipped: plan.skipped };
      if (ctx.json) printJson(report);
      else printLines(renderDoctor(report));
      process.exitCode = doctorExitCode(report);
    });
}
