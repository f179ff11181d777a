/**
 * @module maintenance/testing/fake-site
 * One site on a FakeWorld for the pipeline's unit tests: its images, its Site record, and what
 * "whole" means for it (old or new, served, nothing of a maintenance left), as a list of what is
 * wrong so that tests can print it (with a seed) instead of stopping at the first mismatch.
 */
import { dirname } from 'node:path';
import type { Journal } from '../../journal/journal.js';
import type { MaintenanceLog } from '../../journal/types.js';
import type { UpdateCheck } from '../../registry/check.js';
import type { Site } from '../../site/discover.js';
import { swapNames } from '../../site-config/swap.js';
import { FakeWorld, mergedTree } from '../fake-world.js';
import { STEP_ORDER } from '../steps.js';
import type { World } from '../world.js';
import type { ScheduleTarget } from './schedules.js';

export const OLD = { reference: 'reg.example/web:1.0.0', id: 'sha256:old' };
export const NEW = { reference: 'reg.example/web:1.1.0', id: 'sha256:new' };
/** The site's id in the fake proxy (journals of older refits carry it); a pass names it `shop.web` (fakeWorld's siteId). */
export const SITE_ID = 'shop_web';
export const CONFIG_DIR = '/srv/shop/conf';

export function fakeSite(o: { config?: boolean } = {}): Site {
  return {
    name: 'shop-web-1',
    id: 'c0',
    state: 'running',
    compose: { project: 'shop', workingDir: '/srv/shop', configFiles: ['/srv/shop/docker-compose.yml'], service: 'web', version: '2.26.1' },
    networks: [{ name: 'shop_front', ip: '10.0.0.1' }],
    image: { reference: OLD.reference, id: OLD.id, repoDigests: [] },
    vhosts: ['shop.example'],
    port: 80,
    policy: 'minor',
    healthPath: '/refit/health',
    hooks: { preUpdate: null, postUpdate: null },
    config: o.config === false ? null : { containerPath: '/etc/site', hostPath: CONFIG_DIR },
  };
}

/** The registry's answer for the fake site: NEW.reference is an update, its digest `digest`. */
export function updateCheckOf(site: Site, digest: string): UpdateCheck {
  return {
    container: site.name,
    policy: 'minor',
    current: { reference: OLD.reference, imageId: OLD.id, digest: null },
    candidate: { reference: NEW.reference, digest },
    status: 'update',
    reason: '1.1.0 is newer',
    passedOver: [],
  };
}

/** The site on its old image; the registry serves NEW for NEW.reference. */
export function fakeWorld(site: Site, siteId = SITE_ID): FakeWorld {
  const world = new FakeWorld({ original: site.name, image: OLD, siteId, configDir: site.config?.hostPath ?? null });
  world.registry.set(NEW.reference, NEW.id);
  return world;
}

/**
 * Which way a maintenance goes on the fake site: an update (OLD -> NEW, the customer's tree ->
 * its merge) or a revert (NEW -> OLD, the installed merge -> the customer's tree).
 */
export interface Direction {
  from: { reference: string; id: string };
  to: { reference: string; id: string };
  /** The config tree on `from` and on `to`, given the customer's own latest tree. */
  treeFrom(customer: string): string;
  treeTo(customer: string): string;
  /** Whether a tree in the config dir is one the maintenance installed. */
  installed(tree: string): boolean;
}

/** An update from OLD to `to` (a new tag, or OLD's tag with a new digest). */
export function updateOf(to = NEW.reference): Direction {
  return { from: OLD, to: { reference: to, id: NEW.id }, treeFrom: (c) => c, treeTo: mergedTree, installed: (t) => t.startsWith('merged(') };
}

/** A revert of an update: from NEW (run by `runs`: NEW's tag, or OLD's tag moved to NEW) back to OLD. */
export function revertOf(runs: string): Direction {
  return { from: { reference: runs, id: NEW.id }, to: OLD, treeFrom: mergedTree, treeTo: (c) => c, installed: (t) => !t.startsWith('merged(') };
}

/** How whole a site must be (an update to `to` unless `direction` says otherwise). */
export interface WholeOptions {
  stateDir: string;
  to?: string;
  direction?: Direction;
  /** What the tag the site ran by must name (default: the new image after a same-tag maintenance, else the old one). */
  tagOld?: string;
  /** Only this maintenance's scratch dir and extract containers (others of the pass may be under way). */
  maintenanceId?: number;
}

/**
 * What keeps the site from being whole as `as` ('old': as before the maintenance, 'new': as it
 * leaves it): the original alone serves, on the image and config tree of that side; compose
 * file and tag to match; no shadow, scratch, swap sibling or extract container left; no
 * affinity. [] when whole.
 */
export function notWhole(world: FakeWorld, site: Site, as: 'old' | 'new', o: WholeOptions): string[] {
  const d = o.direction ?? updateOf(o.to);
  const problems: string[] = [];
  const want = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${site.name}: ${what} is ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`);
  };
  const mine = world.service(site.compose.service);
  const side = as === 'old' ? d.from : d.to;
  const original = world.containers.get(site.name);
  const tree = site.config ? (as === 'old' ? d.treeFrom(mine.customerEdits) : d.treeTo(mine.customerEdits)) : null;
  want('the original', original && { image: original.imageId, running: original.running, config: original.config?.tree ?? null }, { image: side.id, running: true, config: tree });
  if (site.config) want('the config dir', world.configOf(site.compose.service), tree);
  want('the compose image', mine.composeImage, side.reference);
  // A same-tag maintenance moves the tag; otherwise the tag the site ran by stays where it was.
  want(`the tag ${d.from.reference}`, world.tags.get(d.from.reference), o.tagOld ?? (as === 'new' && d.to.reference === d.from.reference ? d.to.id : d.from.id));
  want('the proxy', [...(world.proxy.servers.get(mine.siteId) ?? [])], [[site.name, { ip: original?.ip, port: site.port, state: 'ready' }]]);
  want('the affinity', [...world.proxy.affinitySites].filter((id) => id === mine.siteId), []);
  want('the containers', [...world.containers.keys()].filter((name) => name === site.name || name === shadowName(site)), [site.name]);
  const owner = o.maintenanceId === undefined ? null : `m${o.maintenanceId}`;
  want('the extract containers', [...world.extractContainers].filter(([, c]) => !owner || c.owner === owner).map(([id]) => id), []);
  want('the scratch dirs', world.pathsUnder(`${o.stateDir}/scratch${owner ? `/${owner}` : ''}`), []);
  if (site.config) want('the swap siblings', [...world.fs.keys()].filter((p) => dirname(p) === dirname(site.config!.hostPath) && p !== site.config!.hostPath), []);
  return problems;
}

/** What a killed refit throws in tests: nothing of it runs after. */
export class Crash extends Error {}

/** A point where refit can be killed: around a world command, or right after a journal write. */
export type KillPoint = { command: string; when: 'before' | 'after' } | { step: string; phase: string; write: number };

const JOURNAL_WRITES = { stepBegin: 'begin', stepDone: 'done', stepFailed: 'failed', undoBegin: 'undo-begin', undoDone: 'undone', finishMaintenance: 'finish' } as const;

/**
 * A refit process over `world` and `journal` that dies at the first point `killAt` picks, like
 * a SIGKILLed one: that command or write throws Crash, and so does every later command and
 * journal write of this process. Its successor: `world.onCommand = null`, `world.generation++`,
 * and the same (real) journal.
 */
export function mortalProcess(world: FakeWorld, journal: Journal, killAt: (p: KillPoint) => boolean): { journal: Journal; dead(): boolean } {
  let dead = false;
  let writes = 0;
  const die = (): never => {
    dead = true;
    throw new Crash('killed');
  };
  world.onCommand = (command, when) => {
    if (dead) throw new Crash('dead');
    if (killAt({ command, when })) die();
  };
  const mortal = new Proxy(journal, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      const phase = JOURNAL_WRITES[String(prop) as keyof typeof JOURNAL_WRITES];
      if (typeof value !== 'function' || !phase) return value;
      return (...args: unknown[]) => {
        if (dead) throw new Crash('dead');
        const result = value.apply(target, args);
        if (killAt({ step: String(args[1]), phase, write: ++writes })) die();
        return result;
      };
    },
  });
  return { journal: mortal, dead: () => dead };
}

/** The scenario of one fault schedule: which way, what the images do, whether the customer edits meanwhile. */
export interface Scenario {
  /** A revert of an update (back to OLD) instead of an update. */
  revert: boolean;
  tagChanged: boolean;
  config: boolean;
  /** The image the site goes to fails every health check (the shadow's first). */
  newImageUnhealthy: boolean;
  /** The recreated original fails its check (the shadow passed). */
  recreatedUnhealthy: boolean;
  /** The pull brings the image the site already runs (updates only). */
  sameImage: boolean;
  /** Updates only: a revert puts back the customer's own tree, which they can edit at once (not modelled). */
  customerEdits: boolean;
}

export function scenarioOf(rand: () => number): Scenario {
  const revert = rand() < 0.25;
  return {
    revert,
    tagChanged: rand() < 0.8,
    config: rand() < 0.85,
    newImageUnhealthy: rand() < 0.08,
    recreatedUnhealthy: rand() < 0.08,
    sameImage: !revert && rand() < 0.04,
    customerEdits: !revert && rand() < 0.3,
  };
}

/** One site on a fake world with an in-memory journal, as a fault schedule's target. */
export function fakeTarget(scenario: Scenario, journal: Journal): ScheduleTarget & { world: FakeWorld } {
  const stateDir = '/var/lib/refit';
  const { site, world, candidate, direction, options } = scenario.revert ? revertSetup(scenario, journal, stateDir) : updateSetup(scenario);
  if (scenario.newImageUnhealthy) world.unhealthyImages.add(direction.to.id);
  if (scenario.recreatedUnhealthy) world.unhealthyWhen = (name, c) => name === site.name && c.imageId === direction.to.id;
  return {
    world,
    journal,
    site,
    proxySiteId: SITE_ID,
    candidate,
    ...(options ? { options } : {}),
    stateDir,
    watch: (watch) => {
      world.onCommand = watch;
    },
    nextProcess: () => void world.generation++,
    broken: (log) => brokenInvariants(world, site, log, { stateDir, direction }),
    notWholeAsClosed: (log) => notWhole(world, site, log.status === 'updated' ? 'new' : 'old', { stateDir, direction }),
    meanwhile: scenario.customerEdits ? () => void world.editCustomerConfig() : undefined,
  };
}

function updateSetup(scenario: Scenario) {
  const site = fakeSite({ config: scenario.config });
  const world = fakeWorld(site);
  const to = scenario.tagChanged ? NEW.reference : OLD.reference;
  world.registry.set(to, scenario.sameImage ? OLD.id : NEW.id);
  return { site, world, candidate: { reference: to, digest: null }, direction: updateOf(to), options: null };
}

/** The site as an update to NEW left it (its configs the merge, the update's backup and the watch's copy of the installed tree kept), to be reverted. */
function revertSetup(scenario: Scenario, journal: Journal, stateDir: string) {
  const runs = scenario.tagChanged ? NEW.reference : OLD.reference;
  const site: Site = { ...fakeSite({ config: scenario.config }), image: { reference: runs, id: NEW.id, repoDigests: [] } };
  const world = new FakeWorld({ original: site.name, image: { reference: runs, id: NEW.id }, siteId: SITE_ID, configDir: site.config?.hostPath ?? null });
  world.images.add(OLD.id);
  if (scenario.tagChanged) world.tags.set(OLD.reference, OLD.id);
  const installed = `${stateDir}/watch/w1/installed`;
  const backup = `${stateDir}/backups/shop_web/2026-11-01T03-00-00-000Z-m1`;
  if (site.config) {
    world.fs.get(site.config.hostPath)!.tree = mergedTree('customer-v1');
    world.fs.set(installed, { tree: mergedTree('customer-v1') });
    world.fs.set(backup, { tree: 'customer-v1' });
  }
  const watchId = journal.beginWatch({ runId: journal.beginRun('run'), container: site.name, project: 'shop', service: 'web', imageBefore: OLD.reference, imageAfter: runs, rules: { windowMs: 60_000, minRequests: 10, maxIncrease: 0.05 } });
  const options = { revert: { plan: { watchId, imageId: OLD.id, reason: 'the watch found it worse' }, installed: site.config ? installed : null, backup: site.config ? backup : null } };
  return { site, world, candidate: { reference: OLD.reference, digest: null }, direction: revertOf(runs), options };
}

/**
 * The invariants of a maintenance in progress, on the fake world, checked after every command:
 *  - the site has a ready server; each runs the site's image as it was, or passed a health check;
 *  - the config dir is the tree of either side (the customer's latest edit, or a merge of it),
 *    or, only between the two renames of the swap, absent with the old side's tree beside it;
 *  - the compose file names the image of either side;
 *  - affinity is on only while the shadow may serve beside the original;
 *  - the journal agrees with the world: whatever a step makes exists only while that step is
 *    begun and not undone (nor cleaned up by a later step).
 */
export function brokenInvariants(world: FakeWorld, site: Site, log: MaintenanceLog | null, o: { stateDir: string; direction: Direction }): string[] {
  const d = o.direction;
  const problems: string[] = [];
  const mine = world.service(site.compose.service);
  const ready = [...(world.proxy.servers.get(mine.siteId) ?? [])].filter(([, s]) => s.state === 'ready');
  if (!ready.length) problems.push(`${site.name}: the site has no ready server`);
  for (const [name, s] of ready) {
    const c = world.containers.get(name);
    if (!c?.running || c.ip !== s.ip) problems.push(`ready server ${name} at ${s.ip} is not a running container there`);
    else if (c.id !== site.id && !world.proven.has(c.id)) problems.push(`ready server ${name} (${c.id} on ${c.imageId}) never passed a health check`);
  }
  const tree = world.configOf(site.compose.service);
  if (site.config) {
    const swap = swapNames(site.config.hostPath, log ? `m${log.id}` : 'm0');
    const before = d.treeFrom(mine.customerEdits);
    const ok = tree === before || (tree !== null && d.installed(tree)) || (tree === null && world.treeAt(swap.previous) === before);
    if (!ok) problems.push(`${site.name}: the config dir holds ${tree}, neither ${before} nor the tree the maintenance installs`);
  }
  if (![d.from.reference, d.to.reference].includes(mine.composeImage)) problems.push(`${site.name}: the compose file names ${mine.composeImage}`);

  const entries = log?.steps ?? [];
  const has = (step: string, phase: string) => entries.some((e) => e.step === step && e.phase === phase);
  const active = (step: string) => has(step, 'begin') && !has(step, 'undone');
  const claim = (fact: boolean, what: string, step: string, until?: string) => {
    if (fact && (!active(step) || (until && has(until, 'done')))) problems.push(`${site.name}: ${what}, but the journal has ${step} ${active(step) ? `and ${until} done` : 'not begun or undone'}`);
  };
  const original = world.containers.get(site.name);
  const owner = log ? `m${log.id}` : null;
  claim(world.containers.has(shadowName(site)), 'a shadow exists', 'shadow', 'retire-shadow');
  // Before its maintenance begins, no scratch dir or extract container of any maintenance is its own.
  if (owner) claim(world.pathsUnder(`${o.stateDir}/scratch/${owner}`).length > 0, 'a scratch dir exists', 'scratch', 'remove-scratch');
  claim(site.config !== null && tree !== null && tree !== d.treeFrom(mine.customerEdits) && d.installed(tree), 'the new tree is installed', 'config-install');
  claim(mine.composeImage !== d.from.reference, 'the compose file is changed', 'image-ref');
  claim(world.proxy.affinitySites.has(mine.siteId), 'affinity is on', 'shadow-traffic', 'retire-shadow');
  // recreate-original's undo is drain-original's: the original is back on its old image once that one is undone.
  if (original?.imageId === d.to.id && (!has('recreate-original', 'begin') || has('drain-original', 'undone'))) problems.push(`${site.name}: the original runs ${d.to.id}, but the journal has recreate-original not begun, or drain-original undone`);
  if (owner) claim([...world.extractContainers.values()].some((c) => c.owner === owner), 'an extract container exists', 'stock-configs');
  if (log && has(STEP_ORDER.commit, 'done') && original?.imageId !== d.to.id) problems.push(`${site.name}: the commit point is done, but the original runs ${original?.imageId ?? 'nothing'}`);
  if (log && log.status !== 'in-progress' && log.status !== 'updated' && original?.imageId !== d.from.id) problems.push(`${site.name}: closed ${log.status}, but the original runs ${original?.imageId}`);
  return problems;
}

const shadowName = (site: Site) => `${site.name}-refit-shadow`;

/** The second site of the pair: another service of the same Compose project (one compose file), on the same image. */
export function fakeApiSite(o: { config?: boolean } = {}): Site {
  const web = fakeSite(o);
  return {
    ...web,
    name: 'shop-api-1',
    id: 'c0-1',
    compose: { ...web.compose, service: 'api' },
    networks: [{ name: 'shop_front', ip: '10.0.0.2' }],
    vhosts: ['api.shop.example'],
    config: o.config === false ? null : { containerPath: '/etc/site', hostPath: '/srv/shop/api/conf' },
  };
}

export const API_SITE_ID = 'shop_api';

/** Two services of one project maintained in one pass: what each does, and whether both take one update under the tag they run by. */
export interface PairScenario {
  /** Both updates are new digests of the tag they run by (so they take turns); otherwise both go to NEW's tag (and run at once). */
  sameTag: boolean;
  config: [boolean, boolean];
  newImageUnhealthy: boolean;
  /** Per site: the recreated original fails its check. */
  recreatedUnhealthy: [boolean, boolean];
  customerEdits: [boolean, boolean];
}

export function pairScenarioOf(rand: () => number): PairScenario {
  return {
    sameTag: rand() < 0.4,
    config: [rand() < 0.85, rand() < 0.85],
    newImageUnhealthy: rand() < 0.06,
    recreatedUnhealthy: [rand() < 0.1, rand() < 0.1],
    customerEdits: [rand() < 0.25, rand() < 0.25],
  };
}

/**
 * A world whose every call (its proxy's too) first lets the other maintenances of the pass run
 * for a few turns of the event loop, as many as `rand` says: the same seed, the same interleaving.
 */
export function interleaved<W extends object>(world: W, rand: () => number): W {
  const wrap = <T extends object>(obj: T): T =>
    new Proxy(obj, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'proxy') return wrap(value as object);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          for (let turns = Math.floor(rand() * 4); turns > 0; turns--) await new Promise((r) => setImmediate(r));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return wrap(world);
}

/**
 * Two services of one project (one compose file, one image and network) on a fake world,
 * maintained in one pass with concurrency 2, as a fault schedule's target. Besides each site's
 * own invariants: once both are closed, the tag they ran by names the new image if a same-tag
 * update of either stands, else the old one.
 */
export function fakePairTarget(scenario: PairScenario, journal: Journal, rand: () => number): ScheduleTarget & { fake: FakeWorld; sites: [Site, Site] } {
  const sites: [Site, Site] = [fakeSite({ config: scenario.config[0] }), fakeApiSite({ config: scenario.config[1] })];
  const world = fakeWorld(sites[0]);
  world.addSite({ original: sites[1].name, image: OLD, siteId: API_SITE_ID, configDir: sites[1].config?.hostPath ?? null, service: 'api' });
  const to = scenario.sameTag ? OLD.reference : NEW.reference;
  world.registry.set(to, NEW.id);
  if (scenario.newImageUnhealthy) world.unhealthyImages.add(NEW.id);
  const badRecreate = new Set(sites.filter((_, i) => scenario.recreatedUnhealthy[i]).map((s) => s.name));
  world.unhealthyWhen = (name, c) => badRecreate.has(name) && c.imageId === NEW.id;
  const stateDir = '/var/lib/refit';
  const candidate = { reference: to, digest: null };
  const editors = sites.filter((_, i) => scenario.customerEdits[i]).map((s) => s.compose.service);
  return {
    world: interleaved(world as World, rand),
    fake: world,
    sites,
    journal,
    site: sites[0],
    proxySiteId: SITE_ID,
    candidate,
    alsoMaintained: [{ site: sites[1], proxySiteId: API_SITE_ID, candidate }],
    concurrency: 2,
    stateDir,
    watch: (watch) => {
      world.onCommand = watch;
    },
    nextProcess: () => void world.generation++,
    broken: (_log, all) => sites.flatMap((site, i) => brokenInvariants(world, site, all[i] ?? null, { stateDir, direction: updateOf(to) })),
    notWholeAsClosed: (_log, all) => {
      const as = all.map((l) => (l?.status === 'updated' ? 'new' : 'old'));
      const tagOld = scenario.sameTag && as.includes('new') ? NEW.id : OLD.id;
      return sites.flatMap((site, i) => notWhole(world, site, as[i]!, { stateDir, to, tagOld }));
    },
    meanwhile: editors.length ? () => editors.forEach((service) => world.editCustomerConfig(service)) : undefined,
  };
}
