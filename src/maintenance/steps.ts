/**
 * @module maintenance/steps
 * One container's maintenance, SPEC.md steps 1–10, in the order of MAINTENANCE_STEPS. Each
 * step does one thing at an edge of the world and knows how to undo it, from its record or,
 * after a crash mid-step, from the plan and the state of the world alone.
 */
import { RefitError } from '../errors.js';
import type { HealthTarget, Verdict } from '../health/types.js';
import type { StepName } from '../journal/steps.js';
import type { DrainResult, Upstream } from '../proxy/types.js';
import type { MaintenancePlan } from './plan.js';
import type { Step } from './runner.js';
import type { MergeReport } from '../merge/report.js';
import type { Endpoint, ShadowRequest, World } from './world.js';

export interface MaintenanceCtx {
  plan: MaintenancePlan;
  world: World;
  keepBackups: number;
  /** What the report shows, filled in as the steps run. */
  seen: {
    newImageId?: string;
    stockRefused?: { path: string; reason: string }[];
    merge?: MergeReport;
    shadowHealth?: Verdict;
    originalHealth?: Verdict;
    drains: { server: string; result: DrainResult }[];
    notes: string[];
  };
}

type MStep = Step<MaintenanceCtx> & { name: StepName };

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

/** Drains a server out of the site and removes it; a drain that hit its bound is noted, not fatal. */
async function takeOutOfRotation(ctx: MaintenanceCtx, server: Upstream): Promise<void> {
  const { world, plan } = ctx;
  const listed = await world.proxy.list(plan.proxySiteId);
  if (!listed.some((s) => s.name === server.name)) return;
  const result = await world.proxy.drain(plan.proxySiteId, server, { timeoutMs: world.drainTimeoutMs });
  ctx.seen.drains.push({ server: server.name, result });
  if (!result.drained) ctx.seen.notes.push(`drain of ${server.name} hit its ${world.drainTimeoutMs} ms bound with ${result.remainingSessions} request(s) in flight`);
  await world.proxy.remove(plan.proxySiteId, server);
}

/** The tag the site runs by must point at its old image again (a same-tag pull moved it). */
async function restoreOldTag(ctx: MaintenanceCtx): Promise<void> {
  const { world, plan } = ctx;
  if ((await world.tagTarget(plan.from.reference)) !== plan.from.imageId) await world.tag(plan.from.imageId, plan.from.reference);
}

const pull: MStep = {
  name: 'pull',
  async run(ctx) {
    const { imageId } = await ctx.world.pull(ctx.plan.to.reference);
    if (imageId === ctx.plan.from.imageId) throw new RefitError('registry', `${ctx.plan.to.reference} is still the image ${ctx.plan.site.name} runs`, 'nothing to update');
    ctx.seen.newImageId = imageId;
    return { imageId };
  },
  undo: (ctx) => restoreOldTag(ctx),
};

const scratch: MStep = {
  name: 'scratch',
  run: (ctx) => ctx.world.makePrivateDir(ctx.plan.paths.scratch),
  undo: (ctx) => ctx.world.removeDir(ctx.plan.paths.scratch),
};

const stockConfigs: MStep = {
  name: 'stock-configs',
  async run(ctx) {
    const { plan, world } = ctx;
    if (!plan.site.config) return { skipped: 'the site has no refit.config' };
    const base = await world.extractConfigs(plan.from.imageId, plan.site.config.containerPath, plan.paths.base);
    const latest = await world.extractConfigs(newImage(ctx), plan.site.config.containerPath, plan.paths.latest);
    ctx.seen.stockRefused = [...base.refused, ...latest.refused];
    return { refused: ctx.seen.stockRefused.length };
  },
  undo: async () => undefined, // inside scratch
};

function newImage(ctx: MaintenanceCtx): string {
  return ctx.seen.newImageId ?? ctx.plan.to.reference;
}

const merge: MStep = {
  name: 'merge',
  async run(ctx) {
    const { plan, world } = ctx;
    if (!plan.site.config) return { skipped: 'the site has no refit.config' };
    ctx.seen.merge = await world.mergeConfigs({ base: plan.paths.base, latest: plan.paths.latest, customer: plan.site.config.hostPath, out: plan.paths.merged });
    // Installing the merged tree would delete what the merge refused to read: never lose it.
    const refused = ctx.seen.merge.refused.filter((r) => r.side === 'customer');
    if (refused.length) {
      const list = refused.slice(0, 3).map((r) => `${r.path} (${r.reason})`).join('; ');
      throw new RefitError('merge', `the config dir ${plan.site.config.hostPath} holds ${refused.length} entr${refused.length === 1 ? 'y' : 'ies'} refit will not carry over: ${list}`, 'remove or replace them with regular files, then run refit again');
    }
    return ctx.seen.merge.summary;
  },
  undo: async () => undefined, // inside scratch
};

function shadowRequest(ctx: MaintenanceCtx): ShadowRequest {
  const { plan } = ctx;
  return { image: newImage(ctx), mergedDir: plan.site.config ? plan.paths.merged : null, scratch: plan.paths.scratch };
}

const override: MStep = {
  name: 'override',
  // The override is written by startShadow from the same request; this step records the one
  // value the tag bump will change, so that the bump and its undo touch nothing else.
  run: (ctx) => ctx.world.saveComposeFiles(ctx.plan.site.compose, ctx.plan.paths.composeSaved, { from: ctx.plan.from.reference, to: ctx.plan.to.reference }),
  undo: async () => undefined, // inside scratch
};

const shadow: MStep = {
  name: 'shadow',
  async run(ctx) {
    const e = await ctx.world.startShadow(ctx.plan.site, shadowRequest(ctx));
    return { name: e.name, ip: e.ip };
  },
  undo: (ctx) => ctx.world.removeShadow(ctx.plan.site),
};

const shadowHealth: MStep = {
  name: 'shadow-health',
  async run(ctx) {
    const e = await requireEndpoint(ctx.world, ctx.plan.shadowName, 'shadow container');
    return proveHealthy(ctx, 'shadowHealth', `shadow ${e.name} on ${ctx.plan.to.reference}`, e.ip);
  },
  undo: async () => undefined,
};

const shadowTraffic: MStep = {
  name: 'shadow-traffic',
  async run(ctx) {
    if (!ctx.plan.zeroDowntime) return { skipped: 'proxy none' };
    const e = await requireEndpoint(ctx.world, ctx.plan.shadowName, 'shadow container');
    await ctx.world.proxy.add(ctx.plan.proxySiteId, upstream(e, ctx.plan.site.port));
    return { server: e.name, ip: e.ip };
  },
  async undo(ctx) {
    if (!ctx.plan.zeroDowntime) return;
    const e = await ctx.world.endpointOf(ctx.plan.shadowName);
    await takeOutOfRotation(ctx, { name: ctx.plan.shadowName, ip: e?.ip ?? '0.0.0.0', port: ctx.plan.site.port });
  },
};

const configBackup: MStep = {
  name: 'config-backup',
  async run(ctx) {
    const { plan, world } = ctx;
    if (!plan.site.config || !plan.paths.backup) return { skipped: 'the site has no refit.config' };
    await world.backupConfigs(plan.site.config.hostPath, plan.paths.backup);
    return { backup: plan.paths.backup };
  },
  undo: async () => undefined, // backups are kept
};

/** The original is only taken out while the shadow serves: checked before the drain and after it. */
async function requireShadowServing(ctx: MaintenanceCtx, when: string): Promise<void> {
  const shadow = await ctx.world.endpointOf(ctx.plan.shadowName);
  const verdict = shadow ? await ctx.world.checkHealth(target(ctx.plan, shadow.ip)) : null;
  if (!verdict?.healthy) {
    const why = verdict ? `is unhealthy: ${verdict.reason}` : 'is not running';
    throw new RefitError('health', `the shadow ${ctx.plan.shadowName} ${why} ${when}; the original keeps serving`, 'see `docker logs` of the shadow and the report');
  }
}

const drainOriginal: MStep = {
  name: 'drain-original',
  async run(ctx) {
    if (!ctx.plan.zeroDowntime) return { skipped: 'proxy none' };
    const { plan } = ctx;
    const net = ctx.world.network ? plan.site.networks.find((n) => n.name === ctx.world.network) : plan.site.networks.find((n) => n.ip);
    const ip = net?.ip ?? '';
    await requireShadowServing(ctx, 'before the original was drained');
    await takeOutOfRotation(ctx, { name: plan.site.name, ip, port: plan.site.port });
    await requireShadowServing(ctx, 'after the original was drained');
    return { drain: ctx.seen.drains.at(-1)?.result ?? null };
  },
  // By the time this runs, configs and compose file are the customer's again (undone after this
  // step in reverse order); the original must run its old image with them and get traffic back.
  async undo(ctx) {
    const { plan, world } = ctx;
    await restoreOldTag(ctx);
    const now = await world.endpointOf(plan.site.name);
    if (!now || now.id !== plan.site.id || now.imageId !== plan.from.imageId) await world.recreateService(plan.site.compose);
    const original = await requireEndpoint(world, plan.site.name, 'original container');
    await proveHealthy(ctx, 'originalHealth', `original ${original.name} back on ${plan.from.reference}`, original.ip);
    if (!plan.zeroDowntime) return;
    const listed = await world.proxy.list(plan.proxySiteId);
    if (!listed.some((s) => s.name === original.name && s.ip === original.ip && s.state === 'ready')) {
      if (listed.some((s) => s.name === original.name)) await world.proxy.remove(plan.proxySiteId, upstream(original, plan.site.port));
      await world.proxy.add(plan.proxySiteId, upstream(original, plan.site.port));
    }
  },
};

const configInstall: MStep = {
  name: 'config-install',
  async run(ctx) {
    const { plan, world } = ctx;
    if (!plan.site.config) return { skipped: 'the site has no refit.config' };
    await world.installConfigs(plan.site.config.hostPath, plan.paths.merged, plan.id);
    return { installed: plan.site.config.hostPath };
  },
  async undo(ctx) {
    const { plan, world } = ctx;
    if (plan.site.config) await world.restoreConfigs(plan.site.config.hostPath, plan.id);
  },
};

const imageRef: MStep = {
  name: 'image-ref',
  async run(ctx) {
    const { plan, world } = ctx;
    if (!plan.tagChanged) return { skipped: 'same tag, new digest' };
    return world.bumpImageTag(plan.site.compose, plan.paths.composeSaved);
  },
  async undo(ctx) {
    const { plan, world } = ctx;
    if (plan.tagChanged) await world.restoreComposeFiles(plan.site.compose, plan.paths.composeSaved);
  },
};

const recreateOriginal: MStep = {
  name: 'recreate-original',
  async run(ctx) {
    await ctx.world.recreateService(ctx.plan.site.compose);
    const e = await requireEndpoint(ctx.world, ctx.plan.site.name, 'recreated original');
    if (ctx.seen.newImageId && e.imageId !== ctx.seen.newImageId) {
      throw new RefitError('compose', `recreated ${e.name} runs ${e.imageId}, not the new image ${ctx.seen.newImageId}`, 'check the compose files for an image override refit did not see');
    }
    return { id: e.id, ip: e.ip };
  },
  undo: async () => undefined, // drain-original's undo brings the original back
};

const originalHealth: MStep = {
  name: 'original-health',
  pointOfNoReturn: true,
  async run(ctx) {
    const e = await requireEndpoint(ctx.world, ctx.plan.site.name, 'recreated original');
    return proveHealthy(ctx, 'originalHealth', `recreated original ${e.name} on ${ctx.plan.to.reference}`, e.ip);
  },
  undo: async () => undefined,
};

const originalTraffic: MStep = {
  name: 'original-traffic',
  async run(ctx) {
    if (!ctx.plan.zeroDowntime) return { skipped: 'proxy none' };
    const e = await requireEndpoint(ctx.world, ctx.plan.site.name, 'recreated original');
    const listed = await ctx.world.proxy.list(ctx.plan.proxySiteId);
    if (!listed.some((s) => s.name === e.name)) await ctx.world.proxy.add(ctx.plan.proxySiteId, upstream(e, ctx.plan.site.port));
    return { server: e.name, ip: e.ip };
  },
  async undo(ctx) {
    if (!ctx.plan.zeroDowntime) return;
    const e = await ctx.world.endpointOf(ctx.plan.site.name);
    if (e) await takeOutOfRotation(ctx, upstream(e, ctx.plan.site.port));
  },
};

const retireShadow: MStep = {
  name: 'retire-shadow',
  async run(ctx) {
    if (ctx.plan.zeroDowntime) {
      const e = await ctx.world.endpointOf(ctx.plan.shadowName);
      await takeOutOfRotation(ctx, { name: ctx.plan.shadowName, ip: e?.ip ?? '0.0.0.0', port: ctx.plan.site.port });
    }
    await ctx.world.removeShadow(ctx.plan.site);
  },
  undo: async () => undefined, // after the point of no return
};

const removeScratch: MStep = {
  name: 'remove-scratch',
  async run(ctx) {
    const { plan, world } = ctx;
    if (plan.site.config) await world.commitConfigs(plan.site.config.hostPath, plan.id);
    if (plan.paths.siteBackups) await world.pruneBackups(plan.paths.siteBackups, ctx.keepBackups);
    await world.removeDir(plan.paths.scratch);
  },
  undo: async () => undefined, // after the point of no return
};

/** The steps in MAINTENANCE_STEPS order. */
export const STEPS: readonly MStep[] = [
  pull,
  scratch,
  stockConfigs,
  merge,
  override,
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
  removeScratch,
];
