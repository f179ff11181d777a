/**
 * @module maintenance/pass
 * One maintenance pass over the host (`refit run`, each daemon window): take the host lock,
 * finish what a crash left, bring the proxy in line with what runs, find the updates, then
 * maintain the containers, `concurrency` at a time where they cannot clash (schedule.ts),
 * sharing their pulls (shared-work.ts), each with its report, and watch each updated one for
 * its window after the switch (watch/), then remove the images its updates replaced when asked
 * to (replaced-images.ts). A failing container is recorded and the pass goes on.
 */
import type { JsonValue } from '../journal/types.js';
import { siteIdOf } from '../proxy/sites.js';
import type { UpdateCheck } from '../registry/check.js';
import type { Discovery, Site } from '../site/discover.js';
import { selectSites } from '../site/select.js';
import { heldReason } from '../watch/holds.js';
import type { SiteWatch } from '../watch/watch.js';
import { maintainContainer, recoverUnfinished, type Candidate, type PipelineDeps, type ProgressEvent } from './pipeline.js';
import { removeReplacedImages } from './replaced-images.js';
import { passOk, reportWithoutSteps, siteReportHead, type ContainerReport, type PassReport } from './report.js';
import { ClaimBoard, claimOf, inPool, NO_CLAIM } from './schedule.js';
import { withSharedPulls } from './shared-work.js';

/** The host as a pass sees it; real-world.ts binds it to Docker, the registry and the proxy. */
export interface PassHost {
  deps: PipelineDeps;
  discover(): Promise<Discovery>;
  /** Makes the proxy serve what runs now (healthy containers only); sites a maintenance owns are left alone. */
  syncProxy(): Promise<unknown>;
  checkUpdates(sites: Site[]): Promise<UpdateCheck[]>;
  /** Runs a label hook command inside the container; rejects when it fails. */
  runHook(container: string, command: string): Promise<void>;
  /** Set when the host is part of a fleet (fleet/): asked before each maintenance. */
  fleet?: FleetGate;
  /** The watch after each update (watch/): held images are skipped, updated sites watched and reverted when worse. */
  watch?: SiteWatch;
  /** After the pass, remove the images its updates replaced that no container uses (`images.removeReplaced`). */
  removeReplacedImages?: boolean;
}

export type FleetVerdict = { admit: true } | { admit: false; reason: string };

/** Whether the fleet's rollout lets this site take its candidate now. Never throws: an unanswerable question is a skip. */
export interface FleetGate {
  admit(site: Site, candidate: Candidate): Promise<FleetVerdict>;
}

export interface PassOptions {
  kind: 'run' | 'daemon';
  /** Only these containers (by name); every name must be a managed container. */
  containers?: string[];
  concurrency: number;
  /** Asked before each container starts: why no further container may start (window closed, stopping), or null. */
  stopReason?: () => string | null;
  onProgress?: (e: ProgressEvent) => void;
  now?: () => Date;
}

export async function runPass(host: PassHost, opts: PassOptions): Promise<PassReport> {
  const { journal } = host.deps;
  const startedAt = (opts.now ?? (() => new Date()))().toISOString();
  const runId = journal.beginRun(opts.kind);
  journal.closeAbandonedRuns(runId);
  const deps: PipelineDeps = { ...host.deps, world: withSharedPulls(host.deps.world), onProgress: opts.onProgress, claims: new ClaimBoard() };
  try {
    const recovered = await recoverUnfinished(deps);
    if (host.watch) recovered.push(...(await host.watch.settle(deps, runId)));
    const found = await host.discover();
    const sites = selectSites(found, opts.containers);

    // The proxy must route every site as it runs now before servers are added and drained.
    if (deps.world.proxy.zeroDowntime) await host.syncProxy();

    const checks = await host.checkUpdates(sites);
    // A site whose last maintenance recovery could not finish is left alone until it is.
    const unfinished = new Set(journal.unfinished().map((m) => m.container));
    const queue = sites.map((site, i) => ({ site, check: checks[i]! }));
    // Each updated site's watch runs beside the next maintenances; the pass ends with the last.
    const watching: Promise<void>[] = [];
    const claim = ({ site, check }: (typeof queue)[number]) => (check.status === 'update' && check.candidate ? claimOf(site, check.candidate) : NO_CLAIM);
    const containers = await inPool(queue, opts.concurrency, claim, ({ site, check }) => maintainOne(host, deps, runId, site, check, { ...opts, unfinished, watching }), deps.claims);
    await Promise.all(watching);
    const images = host.removeReplacedImages ? await removeReplacedImages(deps.world, [...recovered, ...containers], journal.unfinished().length) : null;
    const report: PassReport = {
      runId,
      kind: opts.kind,
      startedAt,
      finishedAt: new Date().toISOString(),
      recovered,
      containers,
      ...(images ? { images } : {}),
      ok: passOk([...recovered, ...containers]),
    };
    journal.finishRun(runId, report.ok ? 'success' : 'failed');
    return report;
  } catch (err) {
    journal.finishRun(runId, 'failed');
    throw err;
  }
}

async function maintainOne(host: PassHost, deps: PipelineDeps, runId: number, site: Site, check: UpdateCheck, opts: PassOptions & { unfinished: Set<string>; watching: Promise<void>[] }): Promise<ContainerReport> {
  const base = (result: ContainerReport['result'], reason: string) => reportWithoutSteps(siteReportHead(site), result, reason, check.candidate);
  if (opts.unfinished.has(site.name)) return base('skipped', 'its previous maintenance is unfinished (see `refit status`); `refit recover` takes it up first');
  if (check.status === 'current') return base('current', check.reason);
  if (check.status === 'error' || !check.candidate) return base('failed', `update check failed: ${check.reason}`);
  const stop = opts.stopReason?.();
  if (stop) return base('skipped', `not started: ${stop}`);
  const hold = host.watch?.held(deps, check.candidate);
  if (hold) return journaledSkip(deps, runId, base('skipped', heldReason(hold)));
  const fleet = await host.fleet?.admit(site, check.candidate);
  if (fleet && !fleet.admit) return journaledSkip(deps, runId, base('skipped', fleet.reason));
  if (site.hooks.preUpdate) {
    try {
      await host.runHook(site.name, site.hooks.preUpdate);
    } catch (err) {
      return base('skipped', `pre-update hook failed: ${(err as Error).message}`);
    }
  }
  const watch = await host.watch?.begin(deps, site, check.candidate, runId);
  const report = await maintainContainer(deps, runId, site, siteIdOf(site), check.candidate, watch?.countersAtStart ? { countersAtStart: watch.countersAtStart } : {});
  if (watch) opts.watching.push(watch.follow(report));
  if (report.result === 'updated' && site.hooks.postUpdate) {
    await host.runHook(site.name, site.hooks.postUpdate).catch((err: Error) => report.notes.push(`post-update hook failed: ${err.message}`));
  }
  return report;
}

/** A skip the fleet decided is kept in the journal, so `refit history` and the fleet see it with its reason. */
function journaledSkip(deps: PipelineDeps, runId: number, report: ContainerReport): ContainerReport {
  const { container, project, service, from, to } = report;
  const id = deps.journal.beginMaintenance(runId, { container, project, service, imageBefore: from.reference, imageAfter: to?.reference });
  deps.journal.finishMaintenance(id, { status: 'skipped', reason: report.reason, report: report as unknown as JsonValue });
  return report;
}
