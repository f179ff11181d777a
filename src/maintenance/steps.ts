/**
 * @module maintenance/steps
 * One container's maintenance, SPEC.md steps 1–10, as ONE table (STEPS) in the order the steps
 * run. Each entry is the one owner of its step: the name the journal records, its SPEC step,
 * what it does (`run`), how it is undone (`undo`; none after the commit point) and whether it is
 * the commit point. The journal's step order and commit point (STEP_ORDER) derive from it.
 *
 * Why this order: undoing the begun steps in reverse must restore the site. So the swap (SPEC
 * step 9) drains the original BEFORE installing configs and bumping the compose file: undoing in
 * reverse restores configs and compose file first, and only then does the undo of
 * `drain-original` bring the original back on its old image.
 *
 * The site always keeps a ready server: a server is drained only while another one of the site
 * is ready, and a server counts as in rotation only when the proxy lists it ready at its address.
 *
 * While the shadow and the original serve together (two versions), the proxy keeps each client
 * on one of them (affinity); it is turned on before the second version joins and off once one
 * version is left.
 *
 * A revert (the watch after an update found the new version worse; plan.revert) runs the same
 * path back to the image the update replaced: REVERT_STEPS, the same steps but the first two,
 * which point the site's reference back at the old image (still on the host) and take the trees
 * to merge from the update (the tree it installed and its backup of the customer's).
 */
import { RefitError } from '../errors.js';
import type { HealthTarget, Verdict } from '../health/types.js';
import type { StepOrder } from '../journal/recover.js';
import type { MergeReport } from '../merge/report.js';
import type { ResponseCounts } from '../journal/types.js';
import type { DrainResult, Upstream } from '../proxy/types.js';
import { CounterTally } from '../watch/counters.js';
import type { MaintenancePlan } from './plan.js';
import type { PublicCheck } from './report.js';
import { NothingToDo, type Step } from './runner.js';
import type { Endpoint, ShadowRequest, World } from './world.js';

export interface MaintenanceCtx {
  plan: MaintenancePlan;
  world: World;
  keepBackups: number;
  /** What the report shows and later steps use, filled in as the steps run. */
  seen: {
    newImageId?: string;
    stockRefused?: { path: string; reason: string }[];
    /** The merge to install; its customerFingerprint names the customer tree it was made from. */
    merge?: MergeReport;
    /** Where that merge is (a merge made again goes beside the first). */
    mergedDir?: string;
    /** The customer tree the kept backup holds. */
    backupFingerprint?: string;
    shadowHealth?: Verdict;
    originalHealth?: Verdict;
    /** Each check of the site through the proxy's public listener after traffic moved. */
    publicChecks: PublicCheck[];
    drains: { server: string; result: DrainResult }[];
    notes: string[];
    /**
     * The proxy's counters since the maintenance began (the watch after an update asked for
     * them), read again before each change that may reload the proxy: HAProxy's new worker
     * counts from 0, and what the old one counted is gone once it exits.
     */
    counters?: CounterTally;
    /** What the original answered through the proxy from then until it was drained. */
    served?: ResponseCounts;
  };
}

interface MaintenanceStep<N extends string> extends Step<MaintenanceCtx> {
  readonly name: N;
  /** The SPEC.md step it belongs to. */
  readonly spec: string;
}

/** Keeps each step's name as a literal type, so StepName is the union of the table's names. */
const step = <const N extends string>(s: MaintenanceStep<N>): MaintenanceStep<N> => s;

/** A merge made again on a changed customer tree goes to `merged-1`, `merged-2`, ...; this many merges at most. */
const MAX_MERGES = 3;

// ---- helpers the steps share --------------------------------------------------------------

const upstream = (e: Pick<Endpoint, 'name' | 'ip'>, port: number): Upstream => ({ name: e.name, ip: e.ip, port });

function target(plan: MaintenancePlan, ip: string): HealthTarget {
  return { ip, port: plan.site.port, vhosts: plan.site.vhosts, healthPath: plan.site.healthPath };
}

async function requireEndpoint(world: World, name: string, what: string): Promise<Endpoint> {
  const e = await world.endpointOf(name);
  if (!e) throw new RefitError('docker', `${what} ${name} is not running`, 'see `docker ps -a` and the container logs');
  return e;
}

/** Checks a container and keeps the verdict for the report; unhealthy is a step failure. */
async function proveHealthy(ctx: MaintenanceCtx, slot: 'shadowHealth' | 'originalHealth', who: string, ip: string): Promise<{ attempts: number }> {
  const verdict = await ctx.world.checkHealth(target(ctx.plan, ip));
  ctx.seen[slot] = verdict;
  if (!verdict.healthy) throw new RefitError('health', `${who} is unhealthy: ${verdict.reason}`, 'see the health attempts in the report');
  return { attempts: verdict.attempts.length };
}

/** Whether the proxy lists the container ready at its address: only then does it serve the site. */
async function isInRotation(ctx: MaintenanceCtx, e: Pick<Endpoint, 'name' | 'ip'>): Promise<boolean> {
  const listed = await ctx.world.proxy.list(ctx.plan.proxySiteId);
  return listed.some((s) => s.name === e.name && s.ip === e.ip && s.port === ctx.plan.site.port && s.state === 'ready');
}

/**
 * Puts a proven container into the site's rotation, unless the proxy already lists it ready at
 * its address. A half-done add (listed but in maintenance, or at an old address) is completed by
 * adding again; the result is checked, not assumed. Then the site must answer through the
 * proxy's public listener, from that container, by the health rules: refit never reports
 * success over a site the proxy cannot serve.
 */
async function ensureInRotation(ctx: MaintenanceCtx, e: Endpoint, who: string): Promise<{ server: string; ip: string }> {
  const { world, plan } = ctx;
  if (!(await isInRotation(ctx, e))) {
    await world.proxy.add(plan.proxySiteId, upstream(e, plan.site.port));
    if (!(await isInRotation(ctx, e))) {
      const listed = (await world.proxy.list(plan.proxySiteId)).find((s) => s.name === e.name);
      const as = listed ? `lists it ${listed.state} at ${listed.ip}:${listed.port}` : 'does not list it';
      throw new RefitError('proxy', `the proxy did not put ${e.name} into site ${plan.proxySiteId} at ${e.ip}:${plan.site.port}: it ${as}`, 'see the proxy log; `refit proxy sync` restores the site');
    }
  }
  const verdict = await world.checkPublicPath(plan.proxySiteId, upstream(e, plan.site.port), plan.site);
  if (verdict) {
    ctx.seen.publicChecks.push({ server: e.name, verdict });
    if (!verdict.healthy) throw new RefitError('proxy', `${who} is not served through the proxy's public listener: ${verdict.reason}`, "check the proxy's route to the container (proxy.network, firewall) and its error log");
  }
  return { server: e.name, ip: e.ip };
}

/**
 * Drains a server out of the site and removes it, but never the last ready one: the site would
 * have no server. A drain that hit its bound is noted, not fatal. A no-op when it is not listed.
 */
async function takeOutOfRotation(ctx: MaintenanceCtx, name: string): Promise<void> {
  const { world, plan } = ctx;
  const listed = await world.proxy.list(plan.proxySiteId);
  const server = listed.find((s) => s.name === name);
  if (!server) return;
  if (!listed.some((s) => s.name !== name && s.state === 'ready')) {
    throw new RefitError('proxy', `${name} is the last ready server of site ${plan.proxySiteId}; draining it would leave the site without one`, 'the server meant to take over is not in rotation: see the report and `refit proxy sync`');
  }
  const up = { name: server.name, ip: server.ip, port: server.port };
  const result = await world.proxy.drain(plan.proxySiteId, up, { timeoutMs: world.drainTimeoutMs });
  ctx.seen.drains.push({ server: name, result });
  if (!result.drained) ctx.seen.notes.push(`drain of ${name} hit its ${world.drainTimeoutMs} ms bound with ${result.remainingSessions} request(s) in flight`);
  await world.proxy.remove(plan.proxySiteId, up);
}

/** One version per client while two serve the site (the proxies that can; see ProxyAdapter.affinity). */
async function setAffinity(ctx: MaintenanceCtx, on: boolean): Promise<void> {
  if (ctx.plan.zeroDowntime) await ctx.world.proxy.affinity?.(ctx.plan.proxySiteId, on);
}

/** Takes the proxy's counters into the maintenance's tally (when the watch asked for one). */
async function readCounters(ctx: MaintenanceCtx): Promise<void> {
  const { world, plan, seen } = ctx;
  if (seen.counters && world.proxy.counters) seen.counters.add(await world.proxy.counters(plan.proxySiteId));
}

/** What the original answered through the proxy since the maintenance began; null when nobody asked. */
async function servedByOriginal(ctx: MaintenanceCtx): Promise<ResponseCounts | null> {
  const { world, plan, seen } = ctx;
  if (!seen.counters) return null;
  await readCounters(ctx);
  const original = (await world.proxy.list(plan.proxySiteId)).find((s) => s.name === plan.site.name);
  return original ? seen.counters.servedBy(original) : null;
}

/** The shadow must serve (healthy, and ready in the proxy) for the original to be out of rotation. */
async function requireShadowServing(ctx: MaintenanceCtx, when: string): Promise<void> {
  const shadow = await ctx.world.endpointOf(ctx.plan.shadowName);
  const verdict = shadow ? await ctx.world.checkHealth(target(ctx.plan, shadow.ip)) : null;
  const why = !shadow ? 'is not running' : !verdict?.healthy ? `is unhealthy: ${verdict?.reason}` : !(await isInRotation(ctx, shadow)) ? 'is not ready in the proxy' : null;
  if (why) throw new RefitError('health', `the shadow ${ctx.plan.shadowName} ${why} ${when}; the original keeps serving`, 'see `docker logs` of the shadow and the report');
}

/**
 * The tag the site runs by, once its update is undone (a same-tag pull moved it): back at the
 * old image, unless another container started from that tag runs the image it names, or the
 * image this update brought (another site was updated through the same tag): then the tag
 * names that image, so a later `compose up` of that site keeps it.
 */
async function settleTag(ctx: MaintenanceCtx): Promise<void> {
  const { world, plan, seen } = ctx;
  const ref = plan.from.reference;
  const now = await world.tagTarget(ref);
  const inUse = async (id: string | null | undefined) => Boolean(id && id !== plan.from.imageId && (await world.runsByTag(ref, id)));
  const want = (await inUse(seen.newImageId)) ? seen.newImageId! : (await inUse(now)) ? now! : plan.from.imageId;
  if (now !== want) await world.tag(want, ref);
}

/**
 * Brings the original back on its old image: by the time this runs (undo of drain-original),
 * configs and compose file are the customer's again. Recreated unless it runs the old image,
 * created from the old reference (a repeated undo must not recreate the original it already put
 * back in rotation; one the new tag happened to resolve to the old image is recreated), then it
 * must run the old image ID, pass its health check and be in rotation.
 */
async function bringOriginalBack(ctx: MaintenanceCtx): Promise<void> {
  const { plan, world } = ctx;
  const now = await world.endpointOf(plan.site.name);
  // What compose would make of the restored files: the old image, created from the old reference.
  if (now?.imageId !== plan.from.imageId || now.reference !== plan.from.reference) {
    // Compose recreates from the tag: it names the old image for that, then what settleTag says.
    if ((await world.tagTarget(plan.from.reference)) !== plan.from.imageId) await world.tag(plan.from.imageId, plan.from.reference);
    await world.recreateService(plan.site.compose);
  }
  await settleTag(ctx);
  const original = await requireEndpoint(world, plan.site.name, 'original container');
  if (original.imageId !== plan.from.imageId) {
    throw new RefitError('compose', `the original ${original.name} runs image ${original.imageId}, not its old image ${plan.from.imageId}`, `make the compose files of ${plan.site.compose.project} name ${plan.from.reference} again, then run \`refit recover\``);
  }
  await proveHealthy(ctx, 'originalHealth', `original ${original.name} back on ${plan.from.reference}`, original.ip);
  if (!plan.zeroDowntime) return;
  // Two versions serve again until the shadow leaves (the undo of shadow-traffic turns it off).
  if ((await world.proxy.list(plan.proxySiteId)).some((s) => s.name === plan.shadowName && s.state === 'ready')) await setAffinity(ctx, true);
  await ensureInRotation(ctx, original, `original ${original.name} back on ${plan.from.reference}`);
}

function newImage(ctx: MaintenanceCtx): string {
  return ctx.seen.newImageId ?? ctx.plan.to.reference;
}

/** Merges into `out` (in scratch) and makes it the merge to install; stops on customer entries the merge would lose. */
async function mergeInto(ctx: MaintenanceCtx, config: NonNullable<MaintenancePlan['site']['config']>, out: string): Promise<MergeReport> {
  const { plan, world } = ctx;
  const report = await world.mergeConfigs({ base: plan.paths.base, latest: plan.paths.latest, customer: config.hostPath, out });
  ctx.seen.merge = report;
  ctx.seen.mergedDir = out;
  // Installing the merged tree would delete what the merge refused to read: never lose it.
  const refused = report.refused.filter((r) => r.side === 'customer');
  if (refused.length) {
    const list = refused.slice(0, 3).map((r) => `${r.path} (${r.reason})`).join('; ');
    throw new RefitError('merge', `the config dir ${config.hostPath} holds ${refused.length} entr${refused.length === 1 ? 'y' : 'ies'} refit will not carry over: ${list}`, 'remove or replace them with regular files, then run refit again');
  }
  return report;
}

function shadowRequest(ctx: MaintenanceCtx): ShadowRequest {
  const { plan } = ctx;
  return { image: newImage(ctx), mergedDir: plan.site.config ? plan.paths.merged : null, scratch: plan.paths.scratch };
}

const skipped = (why: string) => ({ skipped: why });
const NO_CONFIG = 'the site has no refit.config';
const NO_PROXY = 'no traffic to move (proxy none, or no vhosts)';

// ---- the steps ----------------------------------------------------------------------------

const pull = step({
  name: 'pull',
  spec: '1',
  /** Pulls the new image. An image the container already runs (a multi-arch index changed for other platforms only) ends the maintenance as current. */
  async run(ctx) {
    const { plan, world } = ctx;
    const { imageId } = await world.pull(plan.to.reference);
    ctx.seen.newImageId = imageId;
    if (imageId === plan.from.imageId) {
      throw new NothingToDo(`${plan.to.reference} brought the image it already runs (${imageId}): the registry's new digest changes nothing for this host`);
    }
    return { imageId };
  },
  undo: settleTag,
});

const oldImage = step({
  name: 'old-image',
  spec: '1',
  /**
   * A revert: the image the update replaced must still be on this host; the site's reference is
   * pointed back at it (a same-tag update had moved it).
   */
  async run(ctx) {
    const { plan, world } = ctx;
    const imageId = plan.revert!.imageId;
    if ((await world.tagTarget(plan.to.reference)) !== imageId) {
      await world.tag(imageId, plan.to.reference).catch((err: unknown) => {
        throw new RefitError('docker', `cannot point ${plan.to.reference} back at ${imageId}, the image ${plan.site.name} ran before its update: ${(err as Error).message}`, 'the old image is no longer on this host (removed or pruned): pull it again, then run `refit recover`', { cause: err });
      });
    }
    ctx.seen.newImageId = imageId;
    return { imageId };
  },
  undo: settleTag,
});

const scratch = step({
  name: 'scratch',
  spec: '2',
  run: (ctx) => ctx.world.makePrivateDir(ctx.plan.paths.scratch),
  undo: (ctx) => ctx.world.removeDir(ctx.plan.paths.scratch),
});

const stockConfigs = step({
  name: 'stock-configs',
  spec: '3',
  /** Extracts the config path of the old and the new image into scratch, each through a temporary container. */
  async run(ctx) {
    const { plan, world } = ctx;
    if (!plan.site.config) return skipped(NO_CONFIG);
    const base = await world.extractConfigs(plan.from.imageId, plan.site.config.containerPath, plan.paths.base, plan.id);
    const latest = await world.extractConfigs(newImage(ctx), plan.site.config.containerPath, plan.paths.latest, plan.id);
    ctx.seen.stockRefused = [...base.refused, ...latest.refused];
    return { refused: ctx.seen.stockRefused.length };
  },
  /** A failure or a kill mid-extract can leave a temporary container; the copies are in scratch. */
  undo: (ctx) => ctx.world.removeExtractContainers(ctx.plan.id),
});

const merge = step({
  name: 'merge',
  spec: '4',
  /** Merges the customer's tree against the stock ones into scratch, and records which customer tree it read. */
  async run(ctx) {
    const { config } = ctx.plan.site;
    if (!config) return skipped(NO_CONFIG);
    const report = await mergeInto(ctx, config, ctx.plan.paths.merged);
    return { ...report.summary, customerFingerprint: report.customerFingerprint };
  },
});

const saveComposeFiles = step({
  name: 'save-compose-files',
  spec: '9',
  /**
   * Records in scratch the one value the tag bump of `image-ref` will change (the image in a
   * compose file, or its variable in an env file), so the bump and its undo touch nothing else.
   */
  run: (ctx) => ctx.world.saveComposeFiles(ctx.plan.site.compose, ctx.plan.paths.composeSaved, { from: ctx.plan.from.reference, to: ctx.plan.to.reference }),
});

const shadow = step({
  name: 'shadow',
  spec: '5, 6',
  /** Writes the override into scratch and starts the shadow: the original compose files plus the override. */
  async run(ctx) {
    const e = await ctx.world.startShadow(ctx.plan.site, shadowRequest(ctx));
    return { name: e.name, ip: e.ip };
  },
  undo: (ctx) => ctx.world.removeShadow(ctx.plan.site),
});

const shadowHealth = step({
  name: 'shadow-health',
  spec: '7',
  async run(ctx) {
    const e = await requireEndpoint(ctx.world, ctx.plan.shadowName, 'shadow container');
    return proveHealthy(ctx, 'shadowHealth', `shadow ${e.name} on ${ctx.plan.to.reference}`, e.ip);
  },
});

const shadowTraffic = step({
  name: 'shadow-traffic',
  spec: '8',
  /** The proven shadow joins the site's rotation: traffic is shared. */
  async run(ctx) {
    if (!ctx.plan.zeroDowntime) return skipped(NO_PROXY);
    const shadow = await requireEndpoint(ctx.world, ctx.plan.shadowName, 'shadow container');
    // On before the second version joins: every client keeps the version it had.
    await setAffinity(ctx, true);
    // A server more may reload the proxy: what the old version answered so far is read first.
    await readCounters(ctx);
    return ensureInRotation(ctx, shadow, `shadow ${shadow.name}`);
  },
  async undo(ctx) {
    if (!ctx.plan.zeroDowntime) return;
    await takeOutOfRotation(ctx, ctx.plan.shadowName);
    await setAffinity(ctx, false);
  },
});

const configBackup = step({
  name: 'config-backup',
  spec: '9',
  /** Copies the customer's tree into the site's backups (kept; nothing to undo). */
  async run(ctx) {
    const { plan, world } = ctx;
    if (!plan.site.config || !plan.paths.backup) return skipped(NO_CONFIG);
    const { fingerprint } = await world.backupConfigs(plan.site.config.hostPath, plan.paths.backup);
    ctx.seen.backupFingerprint = fingerprint;
    return { backup: plan.paths.backup, fingerprint };
  },
});

const drainOriginal = step({
  name: 'drain-original',
  spec: '9',
  /** The original leaves the rotation, only while the shadow serves (checked before and after). */
  async run(ctx) {
    if (!ctx.plan.zeroDowntime) return skipped(NO_PROXY);
    await requireShadowServing(ctx, 'before the original was drained');
    // The old version's numbers for the watch after the update: its last requests are in flight, not new.
    const served = await servedByOriginal(ctx);
    if (served) ctx.seen.served = served;
    await takeOutOfRotation(ctx, ctx.plan.site.name);
    await requireShadowServing(ctx, 'after the original was drained');
    // One version is left: no client needs to be kept anywhere.
    await setAffinity(ctx, false);
    return { drain: ctx.seen.drains.at(-1)?.result ?? null, ...(served ? { served } : {}) };
  },
  undo: bringOriginalBack,
});

const configInstall = step({
  name: 'config-install',
  spec: '9',
  /**
   * Installs the merged tree atomically, but only over the customer tree it was merged from (and
   * backed up): a tree the customer changed meanwhile is merged and backed up again first.
   */
  async run(ctx) {
    const { plan, world, seen } = ctx;
    const { config } = plan.site;
    if (!config || !plan.paths.backup) return skipped(NO_CONFIG);
    for (let merges = 1; ; merges++) {
      if (!seen.merge || !seen.mergedDir) throw new RefitError('internal', `config-install of ${plan.site.name} runs without a merge`);
      const from = seen.merge.customerFingerprint;
      if (seen.backupFingerprint === from && (await world.installConfigs(config.hostPath, seen.mergedDir, plan.id, from)).installed) {
        return { installed: config.hostPath, from, merges };
      }
      if (merges === MAX_MERGES) {
        throw new RefitError('merge', `the config dir ${config.hostPath} kept changing during the maintenance (merged ${merges} times)`, 'run refit again once nobody edits it');
      }
      seen.notes.push(`the config dir ${config.hostPath} changed during the maintenance; merged it again`);
      await mergeInto(ctx, config, `${plan.paths.merged}-${merges}`);
      seen.backupFingerprint = (await world.backupConfigs(config.hostPath, plan.paths.backup)).fingerprint;
    }
  },
  async undo(ctx) {
    const { plan, world } = ctx;
    if (plan.site.config) await world.restoreConfigs(plan.site.config.hostPath, plan.id);
  },
});

const imageRef = step({
  name: 'image-ref',
  spec: '9',
  /** Points the compose file's image at the new tag (a digest update keeps the tag). */
  async run(ctx) {
    const { plan, world } = ctx;
    if (!plan.tagChanged) return skipped('same tag, new digest');
    return world.bumpImageTag(plan.site.compose, plan.paths.composeSaved);
  },
  async undo(ctx) {
    const { plan, world } = ctx;
    if (plan.tagChanged) await world.restoreComposeFiles(plan.site.compose, plan.paths.composeSaved);
  },
});

const recreateOriginal = step({
  name: 'recreate-original',
  spec: '9',
  /** Recreates the original on the new image; its undo is drain-original's (bringOriginalBack). */
  async run(ctx) {
    await ctx.world.recreateService(ctx.plan.site.compose);
    const e = await requireEndpoint(ctx.world, ctx.plan.site.name, 'recreated original');
    if (ctx.seen.newImageId && e.imageId !== ctx.seen.newImageId) {
      throw new RefitError('compose', `recreated ${e.name} runs ${e.imageId}, not the new image ${ctx.seen.newImageId}`, 'check the compose files for an image override refit did not see');
    }
    return { id: e.id, ip: e.ip };
  },
});

const originalHealth = step({
  name: 'original-health',
  spec: '9',
  /** THE COMMIT POINT: the recreated original passed its check on the new image, before any traffic. */
  commit: true,
  async run(ctx) {
    const e = await requireEndpoint(ctx.world, ctx.plan.site.name, 'recreated original');
    return proveHealthy(ctx, 'originalHealth', `recreated original ${e.name} on ${ctx.plan.to.reference}`, e.ip);
  },
});

const originalTraffic = step({
  name: 'original-traffic',
  spec: '9',
  /** The proven original joins the rotation again (completing a half-done add). */
  async run(ctx) {
    if (!ctx.plan.zeroDowntime) return skipped(NO_PROXY);
    const original = await requireEndpoint(ctx.world, ctx.plan.site.name, 'recreated original');
    return ensureInRotation(ctx, original, `recreated original ${original.name}`);
  },
});

const retireShadow = step({
  name: 'retire-shadow',
  spec: '10',
  /** The shadow leaves the rotation (never as the last ready server), then is stopped gracefully and removed. */
  async run(ctx) {
    if (ctx.plan.zeroDowntime) await takeOutOfRotation(ctx, ctx.plan.shadowName);
    await ctx.world.removeShadow(ctx.plan.site);
  },
});

const commitConfigs = step({
  name: 'commit-configs',
  spec: '10',
  /** Drops the customer's previous tree (the backup keeps it) and prunes old backups. */
  async run(ctx) {
    const { plan, world } = ctx;
    if (plan.site.config) await world.commitConfigs(plan.site.config.hostPath, plan.id);
    if (plan.paths.siteBackups) await world.pruneBackups(plan.paths.siteBackups, ctx.keepBackups);
  },
});

const removeScratch = step({
  name: 'remove-scratch',
  spec: '10',
  run: (ctx) => ctx.world.removeDir(ctx.plan.paths.scratch),
});

/** Every step of an update, in the order they run. */
export const STEPS = [
  pull,
  scratch,
  stockConfigs,
  merge,
  saveComposeFiles,
  shadow,
  shadowHealth,
  shadowTraffic,
  configBackup,
  drainOriginal,
  configInstall,
  imageRef,
  recreateOriginal,
  originalHealth,
  originalTraffic,
  retireShadow,
  commitConfigs,
  removeScratch,
] as const;

/**
 * Every step of a revert: the update's path back to the old image. It needs no pull (the old
 * image is on the host) and no stock configs (the update's trees are merged instead).
 */
export const REVERT_STEPS = [oldImage, ...STEPS.filter((s) => s !== pull && s !== stockConfigs)] as const;

export type StepName = (typeof STEPS)[number]['name'] | (typeof REVERT_STEPS)[number]['name'];

const orderOf = (steps: readonly MaintenanceStep<string>[]): StepOrder => ({ names: steps.map((s) => s.name), commit: steps.find((s) => s.commit)!.name });

/** The journal's view of the update's table: step order and commit point. */
export const STEP_ORDER: StepOrder = orderOf(STEPS);
export const REVERT_ORDER: StepOrder = orderOf(REVERT_STEPS);

/** The steps of this maintenance: an update's, or a revert's. */
export function stepsFor(plan: Pick<MaintenancePlan, 'revert'>): readonly Step<MaintenanceCtx>[] {
  return plan.revert ? REVERT_STEPS : STEPS;
}

export function orderFor(plan: Pick<MaintenancePlan, 'revert'>): StepOrder {
  return plan.revert ? REVERT_ORDER : STEP_ORDER;
}

/**
 * Steps an older refit (plan record version 1) named otherwise. Its `remove-scratch` began by
 * committing the configs: it maps to `commit-configs`, and finishing it runs `remove-scratch` too.
 */
export const LEGACY_STEP_NAMES: Readonly<Record<string, StepName>> = {
  override: 'save-compose-files',
  'remove-scratch': 'commit-configs',
};
