/**
 * The watch after an update on the fake world, through the pass: the new version's answers as
 * the proxy counts them (the fake proxy's counters, fed by the test's traffic between two
 * looks), judged against what the old version answered during the maintenance; a worse one
 * reverted, its image held; a good one kept after the window; a quiet one not judged; and what
 * a dead refit left settled by recover.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchSchema } from '../config/schema.js';
import { inMemoryJournal, type Journal } from '../journal/journal.js';
import type { FakeWorld } from '../maintenance/fake-world.js';
import { runPass, type PassHost } from '../maintenance/pass.js';
import { maintainContainer, recoverUnfinished, type PipelineDeps } from '../maintenance/pipeline.js';
import { Crash, fakeSite, fakeWorld, mortalProcess, NEW as NEW_IMAGE, notWhole, OLD, updateCheckOf } from '../maintenance/testing/fake-site.js';
import { siteIdOf } from '../proxy/sites.js';
import type { Site } from '../site/discover.js';
import { createSiteWatch, type SiteWatch } from './watch.js';

const STATE = '/var/lib/refit';
const NEW = { ...NEW_IMAGE, digest: `sha256:${'d'.repeat(64)}` };
const site = fakeSite();
/** As the pass names the site in the proxy. */
const SITE_ID = siteIdOf(site);
const check = updateCheckOf(site, NEW.digest);

let journal: Journal;
let world: FakeWorld;
let clock: number;
/** What the site's container answers between two looks of the watch: [requests, of them 5xx]. */
let traffic: [number, number];
let watch: SiteWatch;

const deps = (): PipelineDeps => ({ world, journal, stateDir: STATE, keepBackups: 3, undoRetry: { attempts: 1, delayMs: 0 } });
/** The site as it runs now, as discovery would find it. */
const siteNow = (): Site => {
  const c = world.containers.get(site.name)!;
  return { ...site, id: c.id, image: { reference: world.composeImage, id: c.imageId, repoDigests: [] } };
};

function makeWatch(window: string): SiteWatch {
  return createSiteWatch({
    config: watchSchema.parse({ window, minRequests: 100, maxIncrease: 0.05, intervalMs: 2000 }),
    discover: async () => ({ sites: [siteNow()], unmanaged: [] }),
    now: () => new Date(clock),
    sleep: async (ms) => {
      clock += ms;
      const c = world.containers.get(site.name);
      if (c) world.proxy.serve(c.ip, ...traffic);
    },
  });
}

const host = (): PassHost => ({
  deps: deps(),
  discover: async () => ({ sites: [siteNow()], unmanaged: [] }),
  syncProxy: async () => undefined,
  checkUpdates: async () => [check],
  runHook: async () => undefined,
  watch,
});

beforeEach(() => {
  journal = inMemoryJournal();
  world = fakeWorld(site, SITE_ID);
  world.registry.set(NEW.reference, NEW.id);
  clock = Date.parse('2026-11-01T03:00:00Z');
  traffic = [0, 0];
  watch = makeWatch('10m');
  // The old version's traffic during the maintenance: 500 answers, one of them a 5xx.
  world.onCommand = (command, when) => {
    if (command === `shadow.up ${site.name}-refit-shadow` && when === 'after') world.proxy.serve('10.0.0.1', 500, 1);
  };
});
afterEach(() => journal.close());

describe('the watch after an update', () => {
  it('reverts a release that answers 5xx once enough requests show it, holds its image, and says why with the numbers', async () => {
    traffic = [60, 30];
    const report = await runPass(host(), { kind: 'run', concurrency: 1 });
    const [r] = report.containers;
    expect(r!.result).toBe('reverted');
    expect(r!.reason).toBe(
      `reverted to ${OLD.reference} after its update: 5xx rate 50.0% (60 of 120 requests) on ${NEW.reference}, against 0.2% (1 of 500 requests) on ${OLD.reference} before the switch: more than 5.0 points worse`,
    );
    expect(r!.served).toEqual({ requests: 500, errors: 1 });
    expect(r!.watch).toMatchObject({ decision: 'reverted', observed: { requests: 120, errors: 60 }, baseline: { requests: 500, errors: 1 }, from: OLD.reference, to: NEW.reference, holdId: 1 });
    expect(r!.watch!.revert).toMatchObject({ kind: 'revert', result: 'updated', reason: `reverted ${NEW.reference} -> ${OLD.reference}` });
    expect(report.ok).toBe(false);
    // Back on the old image with the customer's own configs, nothing of the update or the watch left.
    expect(notWhole(world, site, 'old', { stateDir: STATE })).toEqual([]);
    expect(world.pathsUnder(`${STATE}/watch`)).toEqual([]);
    expect(world.proxy.observedSites.size).toBe(0);
    expect(journal.watch(1)).toMatchObject({ state: 'reverted', target: { reference: NEW.reference, digest: NEW.digest, imageId: NEW.id } });
    expect(journal.holds()).toMatchObject([{ id: 1, reference: NEW.reference, digest: NEW.digest, container: site.name, watchId: 1 }]);
    expect(journal.revertsOf(1).map((m) => [m.kind, m.status])).toEqual([['revert', 'updated']]);

    // The next pass leaves the held image alone; once released, it is taken again.
    const again = await runPass(host(), { kind: 'run', concurrency: 1 });
    expect(again.containers.map((c) => [c.result, c.reason])).toEqual([['skipped', expect.stringMatching(/is held on this host since .* \(hold #1, after the watch of shop-web-1\): 5xx rate 50\.0%/)]]);
    expect(journal.releaseHold(1)).toMatchObject({ id: 1, released: expect.any(Date) });
    traffic = [100, 0];
    watch = makeWatch('off');
    expect((await runPass(host(), { kind: 'run', concurrency: 1 })).containers.map((c) => c.result)).toEqual(['updated']);
  });

  it('keeps a release whose 5xx rate stays within the allowed rise, only once the whole window has passed', async () => {
    traffic = [50, 1];
    const report = await runPass(host(), { kind: 'run', concurrency: 1 });
    const [r] = report.containers;
    expect(r!.result).toBe('updated');
    expect(r!.watch).toMatchObject({ decision: 'kept', observed: { requests: 300 * 50, errors: 300 } });
    expect(r!.watch!.reason).toMatch(/^5xx rate 2\.0% \(300 of 15000 requests\) .*: within 5\.0 points over the 10m watch$/);
    expect(clock - Date.parse('2026-11-01T03:00:00Z')).toBe(600_000);
    expect(report.ok).toBe(true);
    expect(notWhole(world, site, 'new', { stateDir: STATE })).toEqual([]);
    expect(journal.holds()).toEqual([]);
    expect(journal.watch(1)).toMatchObject({ state: 'kept', observed: { requests: 15000, errors: 300 } });
    expect(world.proxy.observedSites.size).toBe(0);
  });

  it('does not judge a quiet site on a handful of requests', async () => {
    traffic = [0, 0];
    world.proxy.serve = () => undefined; // not even the old version answered anything
    const [r] = (await runPass(host(), { kind: 'run', concurrency: 1 })).containers;
    expect(r!.result).toBe('updated');
    expect(r!.watch).toMatchObject({ decision: 'not-judged', reason: `${NEW.reference} answered 0 request(s) in the 10m watch, fewer than the 100 needed to judge it`, baseline: { requests: 0, errors: 0 } });
    expect(journal.watch(1)?.state).toBe('not-judged');
  });

  it('does not watch a site whose label says off, nor an update that rolled back', async () => {
    world.unhealthyImages.add(NEW.id);
    const [rolledBack] = (await runPass(host(), { kind: 'run', concurrency: 1 })).containers;
    expect(rolledBack!.result).toBe('rolled-back');
    expect(rolledBack!.watch).toBeUndefined();
    expect(journal.watch(1)).toMatchObject({ state: 'not-watched', reason: 'the update did not stand (rolled-back)' });
    expect(world.proxy.observedSites.size).toBe(0);

    world.unhealthyImages.clear();
    const quietHost = { ...host(), discover: async () => ({ sites: [{ ...siteNow(), watchMs: 0 }], unmanaged: [] }) };
    const [updated] = (await runPass(quietHost, { kind: 'run', concurrency: 1 })).containers;
    expect(updated!.result).toBe('updated');
    expect(updated!.watch).toBeUndefined();
    expect(journal.watch(2)).toBeNull();
  });
});

describe('recover and the watch', () => {
  /** An update done, its watch decided to revert, and the revert not made (the process died). */
  async function decidedRevert(): Promise<number> {
    const runId = journal.beginRun('run');
    const id = journal.beginWatch({ runId, container: site.name, project: 'shop', service: 'web', imageBefore: OLD.reference, imageAfter: NEW.reference, rules: { windowMs: 600_000, minRequests: 100, maxIncrease: 0.05 } });
    const update = await maintainContainer(deps(), runId, site, SITE_ID, check.candidate!);
    expect(update.result).toBe('updated');
    journal.updateWatch(id, { maintenanceId: update.maintenanceId!, state: 'watching' });
    await world.backupConfigs(site.config!.hostPath, `${STATE}/watch/w${id}/installed`);
    journal.decideRevert(id, '5xx rate 50.0% …', { requests: 120, errors: 60 }, { reference: NEW.reference, digest: NEW.digest, imageId: NEW.id, container: site.name });
    return id;
  }

  it('closes a watch a dead refit left, and stops counting the site', async () => {
    const id = journal.beginWatch({ runId: journal.beginRun('run'), container: site.name, project: 'shop', service: 'web', imageBefore: OLD.reference, imageAfter: NEW.reference, rules: { windowMs: 600_000, minRequests: 100, maxIncrease: 0.05 } });
    journal.updateWatch(id, { state: 'watching' });
    world.proxy.observedSites.add(SITE_ID);
    expect(await watch.settle(deps(), journal.beginRun('recover'))).toEqual([]);
    expect(journal.watch(id)).toMatchObject({ state: 'interrupted', reason: 'refit stopped while it watched: not judged', finished: expect.any(Date) });
    expect(world.proxy.observedSites.size).toBe(0);
  });

  it('makes a revert that was decided but never began', async () => {
    const id = await decidedRevert();
    const reports = await watch.settle(deps(), journal.beginRun('recover'));
    expect(reports.map((r) => [r.kind, r.result])).toEqual([['revert', 'updated']]);
    expect(journal.watch(id)?.state).toBe('reverted');
    expect(notWhole(world, site, 'old', { stateDir: STATE })).toEqual([]);
  });

  it('takes up a revert a kill cut short: recover rolls the cut one back, then the revert is made again', async () => {
    const id = await decidedRevert();
    // The revert's process is killed once its shadow serves beside the new version.
    const proc = mortalProcess(world, journal, (p) => 'command' in p && p.command === 'proxy.set-ready shop-web-1-refit-shadow' && p.when === 'after');
    await expect(watch.settle({ ...deps(), journal: proc.journal }, journal.beginRun('recover'))).rejects.toThrow(Crash);
    world.onCommand = null;
    world.generation++;
    const recovered = await recoverUnfinished(deps());
    expect(recovered.map((r) => [r.kind, r.result])).toEqual([['revert', 'rolled-back']]);
    expect(journal.watch(id)?.state).toBe('reverting');
    const reports = await watch.settle(deps(), journal.beginRun('recover'));
    expect(reports.map((r) => [r.kind, r.result])).toEqual([['revert', 'updated']]);
    expect(journal.revertsOf(id).map((m) => m.status)).toEqual(['rolled-back', 'updated']);
    expect(journal.watch(id)?.state).toBe('reverted');
    expect(notWhole(world, site, 'old', { stateDir: STATE })).toEqual([]);
  });
});
