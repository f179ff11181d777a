/**
 * @module maintenance/dry-run
 * `refit run --dry-run`: for every container with an update, what the pass would do and what
 * the config merge would give, computed in a throwaway scratch dir. No site, config dir,
 * compose file, tag or proxy entry changes; new images are pulled by digest, which moves no tag.
 */
import { join } from 'node:path';
import { oneLine } from '../errors.js';
import { splitTag } from '../docker/ops.js';
import { selectSites } from '../site/select.js';
import type { PassHost } from './pass.js';
import { reportWithoutSteps, siteReportHead, type ContainerReport, type PassReport } from './report.js';

export async function dryRun(host: PassHost, opts: { containers?: string[] }): Promise<PassReport> {
  const startedAt = new Date().toISOString();
  const { world, journal, stateDir } = host.deps;
  const found = await host.discover();
  const sites = selectSites(found, opts.containers);
  const checks = await host.checkUpdates(sites);
  const unfinished = journal.unfinished();
  const containers: ContainerReport[] = [];
  for (const [i, site] of sites.entries()) {
    const check = checks[i]!;
    const report = reportWithoutSteps(siteReportHead(site), 'current', check.reason, check.candidate);
    containers.push(report);
    if (check.status === 'error' || !check.candidate) {
      if (check.status === 'error') Object.assign(report, { result: 'failed', reason: `update check failed: ${check.reason}` });
      continue;
    }
    report.result = 'planned';
    report.reason = `would update ${site.image.reference} -> ${check.candidate.reference}${check.candidate.reference === site.image.reference ? ' (new digest)' : ''}`;
    if (unfinished.some((m) => m.container === site.name)) report.notes.push('a maintenance of this container is unfinished: `refit recover` (or the next run) finishes or rolls it back first');
    if (!world.proxy.zeroDowntime) report.notes.push(`proxy.type is ${world.proxy.kind}: the recreate would cost downtime`);
    if (!site.config) {
      report.notes.push('no refit.config label: no config merge');
      continue;
    }
    const scratch = join(stateDir, 'scratch', `dry-run-${process.pid}-${i}`);
    try {
      const pinned = check.candidate.digest ? `${splitTag(check.candidate.reference).repo}@${check.candidate.digest}` : check.candidate.reference;
      if (!check.candidate.digest && check.candidate.reference === site.image.reference) {
        report.notes.push('the registry gave no digest to pull without moving the tag: merge preview skipped');
        continue;
      }
      await world.makePrivateDir(scratch);
      const { imageId } = await world.pull(pinned);
      await world.extractConfigs(site.image.id, site.config.containerPath, join(scratch, 'base'), 'dry-run');
      await world.extractConfigs(imageId, site.config.containerPath, join(scratch, 'latest'), 'dry-run');
      report.merge = await world.mergeConfigs({ base: join(scratch, 'base'), latest: join(scratch, 'latest'), customer: site.config.hostPath, out: join(scratch, 'merged') });
    } catch (err) {
      report.notes.push(`merge preview failed: ${oneLine(err)}`);
    } finally {
      await world.removeDir(scratch);
    }
  }
  const runId = journal.beginRun('dry-run');
  journal.finishRun(runId, 'success');
  return { runId, kind: 'dry-run', startedAt, finishedAt: new Date().toISOString(), recovered: [], containers, ok: true };
}
