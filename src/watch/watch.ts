/**
 * @module watch/watch
 * After the switch: a health check proves that a site starts, not that every page works. So
 * after a site's update, refit watches the new version through the proxy for a window
 * (maintenance.watch, a site's `refit.watch`): the proxy's own counters per server (HAProxy's
 * response classes per slot, nginx's log of the site) say how many requests the new container
 * answered and how many with a 5xx, against what the old version answered from the start of
 * the maintenance until it was drained. A version worse by more than the rules allow, on
 * enough requests, is reverted (revert.ts) and its image held on this host; a quiet site is
 * not judged. The pass runs each watch beside the next maintenances and ends when the last
 * watch does.
 *
 * Every watch is a row in the journal (`waiting` for its update, `watching`, `reverting`, then
 * closed), so `refit status` shows it and recover settles what a dead refit left.
 */
import { oneLine } from '../errors.js';
import type { WatchConfig } from '../config/schema.js';
import type { HoldRecord, ResponseCounts, WatchRecord, WatchRules } from '../journal/types.js';
import { abortableSleep } from '../maintenance/daemon.js';
import type { Candidate, PipelineDeps } from '../maintenance/pipeline.js';
import type { ContainerReport } from '../maintenance/report.js';
import { siteIdOf } from '../proxy/sites.js';
import type { ServerCounters } from '../proxy/types.js';
import type { Discovery, Site } from '../site/discover.js';
import { CounterTally } from './counters.js';
import { holdOn } from './holds.js';
import { judge, type Judgment } from './judge.js';
import type { WatchDecision, WatchReport } from './report.js';
import { closeWatch, installedTree, runRevert, settleWatches } from './revert.js';
import { watchRulesFor } from './rules.js';

export interface SiteWatchDeps {
  config: WatchConfig;
  /** The managed sites as they run now (a revert starts from the site as it is). */
  discover(): Promise<Discovery>;
  now?: () => Date;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  log?: { info(msg: string): void; warn(msg: string): void };
}

export interface SiteWatch {
  /** The hold on this host that stops a candidate, if any. */
  held(deps: PipelineDeps, candidate: Candidate): HoldRecord | undefined;
  /**
   * Before a site's update: a watch row, and the proxy counting the site (the old version's
   * numbers come from the maintenance). null when the site is not watched.
   */
  begin(deps: PipelineDeps, site: Site, candidate: Candidate, runId: number): Promise<WatchSession | null>;
  /** After recover: the watches a dead refit left are closed, the reverts it was making taken up. */
  settle(deps: PipelineDeps, runId: number): Promise<ContainerReport[]>;
  /** Ends every running watch at its next look (not judged): refit is stopping. */
  stop(): void;
}

export interface WatchSession {
  /** The proxy's counters as the maintenance begins (undefined: the proxy could not be read). */
  countersAtStart?: ServerCounters[];
  /** Watches the updated site for its window (reverting a worse version) and writes the outcome into the report. */
  follow(report: ContainerReport): Promise<void>;
}

/** Reads of the counters that may fail in a row before the watch gives up (not judged). */
const READ_FAILURES = 3;

export function createSiteWatch(d: SiteWatchDeps): SiteWatch {
  const stopping = new AbortController();
  const now = d.now ?? (() => new Date());
  const sleep = d.sleep ?? abortableSleep;

  async function begin(deps: PipelineDeps, site: Site, candidate: Candidate, runId: number): Promise<WatchSession | null> {
    const rules = watchRulesFor(site, d.config);
    if (!rules) return null;
    const { journal, world } = deps;
    const id = journal.beginWatch({ runId, container: site.name, project: site.compose.project, service: site.compose.service, imageBefore: site.image.reference, imageAfter: candidate.reference, rules });
    const siteId = siteIdOf(site);
    const unable = world.proxy.zeroDowntime && site.vhosts.length && world.proxy.counters ? null : `proxy.type ${world.proxy.kind} cannot count a server's responses${world.proxy.zeroDowntime && !site.vhosts.length ? ' (the site has no refit.vhosts: the proxy does not route it)' : ''}`;
    let countersAtStart: ServerCounters[] | undefined;
    let broken = unable;
    if (!broken) {
      try {
        await world.proxy.observe?.(siteId, true);
        countersAtStart = await world.proxy.counters!(siteId);
      } catch (err) {
        broken = `the proxy's counters could not be read: ${oneLine(err)}`;
      }
    }
    const watch = { id, rules, site, siteId, from: site.image.reference, to: candidate.reference };
    return { ...(countersAtStart ? { countersAtStart } : {}), follow: (report) => follow(deps, watch, report, runId, broken) };
  }

  async function follow(deps: PipelineDeps, w: Watched, report: ContainerReport, runId: number, broken: string | null): Promise<void> {
    const { journal } = deps;
    journal.updateWatch(w.id, { maintenanceId: report.maintenanceId ?? null });
    if (report.result !== 'updated') {
      journal.updateWatch(w.id, { state: 'not-watched', reason: `the update did not stand (${report.result})` });
      await closeWatch(deps, { id: w.id, project: w.site.compose.project, service: w.site.compose.service }).catch(() => undefined);
      return;
    }
    const to = report.to!;
    const target = { reference: to.reference, digest: to.digest, imageId: to.imageId ?? null };
    const baseline = report.served ?? null;
    const watched: Omit<WatchReport, 'decision' | 'reason' | 'observed'> = { watchId: w.id, from: w.from, to: w.to, windowMs: w.rules.windowMs, baseline };
    let observed: ResponseCounts = { requests: 0, errors: 0 };
    let judgment: Exclude<Judgment, { verdict: 'wait' }>;
    try {
      if (broken) throw new Error(broken);
      // What a revert would merge against: the tree the update installed, as it is now.
      if (w.site.config) await deps.world.backupConfigs(w.site.config.hostPath, installedTree(deps.stateDir, w.id));
      ({ judgment, observed } = await watchWindow(deps, w, { target, baseline }, (o) => (observed = o)));
    } catch (err) {
      judgment = { verdict: 'not-judged', reason: `not judged: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (judgment.verdict !== 'revert') {
      journal.updateWatch(w.id, { state: judgment.verdict, reason: judgment.reason, observed, target });
      await closeWatch(deps, { id: w.id, project: w.site.compose.project, service: w.site.compose.service }).catch((err: unknown) => d.log?.warn(`the watch of ${w.site.name} could not stop counting: ${oneLine(err)}`));
      report.watch = { ...watched, decision: judgment.verdict, reason: judgment.reason, observed };
      return;
    }
    const holdId = journal.decideRevert(w.id, judgment.reason, observed, { ...target, container: w.site.name });
    d.log?.warn(`${w.site.name}: reverting ${w.to} -> ${w.from}: ${judgment.reason}`);
    const outcome = await runRevert(deps, d.discover, journal.watch(w.id)!, runId);
    const decision: WatchDecision = outcome.state === 'reverted' ? 'reverted' : 'revert-failed';
    report.watch = { ...watched, decision, reason: judgment.reason, observed, holdId, ...(outcome.report ? { revert: outcome.report } : {}) };
    if (outcome.state === 'reverted') {
      report.result = 'reverted';
      report.reason = `reverted to ${w.from} after its update: ${judgment.reason}`;
    } else {
      report.result = 'failed';
      report.reason = `the watch found ${w.to} worse (${judgment.reason}) and held it, but the revert did not go through: ${outcome.reason}`;
    }
  }

  /** The window: reads the counters every intervalMs until the judgment is in (or refit stops). */
  async function watchWindow(deps: PipelineDeps, w: Watched, o: { target: WatchRecord['target']; baseline: ResponseCounts | null }, progress: (observed: ResponseCounts) => void): Promise<{ judgment: Exclude<Judgment, { verdict: 'wait' }>; observed: ResponseCounts }> {
    const { proxy } = deps.world;
    const server = (await proxy.list(w.siteId)).find((s) => s.name === w.site.name && s.state === 'ready');
    if (!server) throw new Error(`${w.site.name} is not in rotation after its update`);
    const tally = new CounterTally(await proxy.counters!(w.siteId));
    const from = now();
    const deadline = new Date(from.getTime() + w.rules.windowMs);
    let observed: ResponseCounts = { requests: 0, errors: 0 };
    deps.journal.updateWatch(w.id, { state: 'watching', target: o.target, baseline: o.baseline, observed, watchFrom: from, deadline });
    let failures = 0;
    for (;;) {
      await sleep(Math.max(0, Math.min(d.config.intervalMs, deadline.getTime() - now().getTime())), stopping.signal);
      if (stopping.signal.aborted) return { judgment: { verdict: 'not-judged', reason: `refit stopped while it watched ${w.to} (${observed.errors} 5xx in ${observed.requests} requests so far): not judged` }, observed };
      try {
        tally.add(await proxy.counters!(w.siteId));
        failures = 0;
      } catch (err) {
        if (++failures >= READ_FAILURES) throw new Error(`the proxy's counters could not be read ${failures} times in a row: ${oneLine(err)}`);
        continue;
      }
      observed = tally.servedBy(server);
      progress(observed);
      deps.journal.updateWatch(w.id, { observed });
      const judgment = judge({ observed, baseline: o.baseline, rules: w.rules, over: now() >= deadline, from: w.from, to: w.to });
      if (judgment.verdict !== 'wait') return { judgment, observed };
    }
  }

  return {
    held: (deps, candidate) => holdOn(deps.journal.holds(), candidate),
    begin,
    settle: (deps, runId) => settleWatches(deps, d.discover, runId),
    stop: () => stopping.abort(),
  };
}

interface Watched {
  id: number;
  rules: WatchRules;
  site: Site;
  siteId: string;
  from: string;
  to: string;
}
