/**
 * @module maintenance/real-world
 * Binds the World and the PassHost to the real host: the Docker Engine, Compose, the registry,
 * the customer's files, the proxy, HTTP health checks; plus the host lock, journal, logs,
 * progress, metrics and notifications a command needs around a pass.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { CommandContext } from '../cli/context.js';
import { detectCompose, flavorOf, type ComposeCli } from '../compose/cli.js';
import { recreateService } from '../compose/service.js';
import { removeShadow, shadowRef, startShadow } from '../compose/shadow.js';
import type { RefitConfig } from '../config/schema.js';
import type { Engine } from '../docker/engine.js';
import { oneLine } from '../errors.js';
import { endpointOf, execInContainer, removeUnusedImage, runsByTag, tagImage } from '../docker/ops.js';
import { openFleet } from '../fleet/fleet.js';
import { checkHealth, checkThroughProxy } from '../health/check.js';
import { openJournal, type Journal } from '../journal/journal.js';
import { acquireHostLock, type Lock } from '../journal/lock.js';
import { createLogger } from '../log/logger.js';
import { createProgress, type Progress } from '../log/progress.js';
import { extractImageConfig, removeExtractContainers, sweepExtractLeftovers } from '../merge/extract.js';
import { treeFingerprint } from '../merge/fingerprint.js';
import { mergeConfigTrees } from '../merge/merge.js';
import { readTreeSafely } from '../merge/read-tree.js';
import { snapshotTree } from '../merge/snapshot.js';
import { StockCache } from '../merge/stock-cache.js';
import { createNotifier, type Notifier } from '../notify/notifier.js';
import { createProxy } from '../proxy/adapter.js';
import { busySites, syncProxy, type SyncDeps } from '../proxy/sync.js';
import { incidents, passSummary } from '../report/summary.js';
import { checkUpdates } from '../registry/check.js';
import { lowerWork } from '../priority/priority.js';
import { pullImage } from '../registry/pull.js';
import { discoverSites, type Site } from '../site/discover.js';
import { commitSwap, stage, swapBack, swapIn, swapNames } from '../site-config/swap.js';
import { createSiteWatch, type SiteWatch } from '../watch/watch.js';
import { bumpImageTag, restoreComposeFiles, saveComposeFiles, whyTagCannotChange } from './compose-files.js';
import { faultsFrom } from './faults.js';
import type { PassHost } from './pass.js';
import { turnsPerKey } from './shared-work.js';
import type { PassReport } from './report.js';
import type { World } from './world.js';

export interface Host extends PassHost {
  journal: Journal;
  watch: SiteWatch;
  /** What a proxy sync needs (the pass, the daemon's keeper). */
  sync: SyncDeps;
  /** The terminal task list, when stderr is a terminal and output is not JSON. */
  progress: Progress | null;
  /** Notifications for the pass and each rollback or failure (never blocks, never throws). */
  announce(report: PassReport): Promise<void>;
  close(): Promise<void>;
}

export async function openHost(ctx: CommandContext, opts: { command: string; lock: boolean; daemon?: boolean }): Promise<Host> {
  const { config } = ctx;
  const faults = faultsFrom(process.env.REFIT_FAULT);
  const engine = ctx.engine();
  const lock: Lock | null = opts.lock ? acquireHostLock(config.stateDir, { command: opts.command }) : null;
  const journal = openJournal(config.stateDir);
  const logger = createLogger({ daemon: opts.daemon });
  // The sites and the proxy come first: refit's heavy children (Compose, merges) yield to them.
  const { ioProblem } = lowerWork(config.maintenance.nice);
  if (ioProblem) logger.warn(`refit's Compose and merge runs take nice ${config.maintenance.nice} but their I/O priority is unchanged: ${ioProblem}`);
  const progress = !ctx.json && process.stderr.isTTY && !opts.daemon ? createProgress(process.stderr, { logger }) : null;
  const notifier: Notifier = createNotifier({ ...config.notify, logger });
  const fleet = config.fleet.enabled ? openFleet({ config: config.fleet, journalFile: journal.file, logger, notifier }) : null;
  const world = realWorld(config, engine, logger);
  const discover = () => discoverSites(engine, config.images, config.health.path);
  const sync: SyncDeps = {
    proxy: world.proxy,
    network: config.proxy.network,
    discover,
    checkHealth: (t) => checkHealth(t, config.health),
    busySince: (since) => busySites(journal.busySince(since)),
    watched: () => busySites(journal.watchesIn(['waiting', 'watching', 'reverting'])),
  };

  return {
    journal,
    progress,
    sync,
    deps: { world, journal, stateDir: config.stateDir, keepBackups: config.maintenance.keepBackups, faults },
    discover,
    syncProxy: () => syncProxy(sync),
    checkUpdates: (sites) => checkUpdates(sites, { engine, config: config.registry, canNameTag: whyTagCannotChange }),
    runHook: async (container, command) => {
      await execInContainer(engine, container, command, config.maintenance.hookTimeoutMs);
    },
    ...(fleet ? { fleet: fleet.gate } : {}),
    removeReplacedImages: config.images.removeReplaced,
    watch: createSiteWatch({ config: config.maintenance.watch, discover, log: { info: (m) => logger.info(m), warn: (m) => logger.warn(m) } }),
    async announce(report) {
      fleet?.passFinished(report);
      for (const incident of incidents(report, hostname())) notifier.incident(incident);
      if (report.kind !== 'dry-run') notifier.pass(passSummary(report, hostname()));
      await notifier.flush(config.notify.deadlineMs);
    },
    async close() {
      progress?.stop();
      await fleet?.close();
      await notifier.flush(config.notify.deadlineMs);
      journal.close();
      lock?.release();
    },
  };
}

const refusals = (list: { path: string; reason: string }[]) => list.map((r) => ({ path: r.path, reason: r.reason }));

/** The World on this host: the Docker Engine, Compose, the registry, the customer's files, the proxy. */
export function realWorld(config: RefitConfig, engine: Engine, logger: Logger): World {
  // Each project is driven by the Compose flavor that started it (v1 and v2 name containers differently).
  const clis = new Map<string, Promise<ComposeCli>>();
  const cliFor = (c: Site['compose']) => {
    const flavor = flavorOf(c.version);
    const key = flavor ?? 'any';
    if (!clis.has(key)) clis.set(key, detectCompose(flavor));
    return clis.get(key)!;
  };
  const target = (c: Site['compose']) => ({ project: c.project, workingDir: c.workingDir, files: c.configFiles, envFiles: c.envFiles ?? [] });
  // Compose runs one at a time per project (its services' maintenances may run at once): two
  // Compose processes never read, create or recreate in one project together.
  const composeTurn = turnsPerKey();
  /** Whether the tree at `dir`, read as the merge reads it, is the one with this fingerprint. */
  const isTree = async (dir: string, fingerprint: string) => treeFingerprint(await readTreeSafely(dir)) === fingerprint;
  const proxy = createProxy(config.proxy, (line) => logger.info(line));
  const stock = new StockCache(join(config.stateDir, 'cache', 'stock'));

  return {
    proxy,
    network: config.proxy.network,
    drainTimeoutMs: config.proxy.drainTimeoutMs,
    pull: async (reference) => ({ imageId: (await pullImage(engine, reference, config.registry, (line) => logger.debug(line))).id }),
    tagTarget: async (reference) => (await engine.inspectImage(reference))?.Id ?? null,
    tag: (imageId, reference) => tagImage(engine, imageId, reference),
    runsByTag: (reference, imageId) => runsByTag(engine, reference, imageId),
    removeUnusedImage: (imageId, reference) => removeUnusedImage(engine, imageId, reference),
    makePrivateDir: async (path) => {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await mkdir(path, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    },
    removeDir: (path) => rm(path, { recursive: true, force: true }),
    extractConfigs: async (image, containerPath, dest, owner) => {
      await rm(dest, { recursive: true, force: true }); // a repeated step starts clean
      const extract = async (to: string, from: string) => (await extractImageConfig(engine, from, containerPath, to, { for: owner })).tree;
      const imageId = (await engine.inspectImage(image))?.Id;
      // An image the engine does not know: the extraction says so, as before.
      if (!imageId) return { refused: refusals((await extract(dest, image)).refused) };
      const entry = await stock.get(imageId, containerPath, (to) => extract(to, imageId));
      try {
        await stock.copyInto(entry, dest);
        return { refused: refusals(entry.refused) };
      } catch (err) {
        // The kept copy went away under us (pruned by another refit): extract it here instead.
        logger.debug(`stock configs of ${imageId} not read from the cache (${oneLine(err)}); extracting them`);
        await rm(dest, { recursive: true, force: true });
        return { refused: refusals((await extract(dest, imageId)).refused) };
      }
    },
    removeExtractContainers: (owner) => removeExtractContainers(engine, owner),
    mergeConfigs: async (dirs) => {
      await rm(dirs.out, { recursive: true, force: true });
      return mergeConfigTrees(dirs);
    },
    backupConfigs: async (customerDir, dest) => {
      await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
      await rm(dest, { recursive: true, force: true });
      return { fingerprint: treeFingerprint(await snapshotTree(customerDir, dest)) };
    },
    pruneBackups: async (siteBackups, keep) => {
      const all = (await readdir(siteBackups).catch(() => [])).sort();
      for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(`${siteBackups}/${old}`, { recursive: true, force: true });
    },
    installConfigs: async (customerDir, mergedDir, id, fingerprint) => {
      const names = swapNames(customerDir, id);
      if (!(await isTree(customerDir, fingerprint))) return { installed: false };
      stage(names, mergedDir);
      swapIn(names);
      // An edit that landed between the check and the swap is in the tree the swap replaced.
      if (await isTree(names.previous, fingerprint)) return { installed: true };
      swapBack(names);
      return { installed: false };
    },
    restoreConfigs: async (customerDir, id) => swapBack(swapNames(customerDir, id)),
    commitConfigs: async (customerDir, id) => commitSwap(swapNames(customerDir, id)),
    sweepLeftovers: async () => {
      const swept: string[] = [];
      try {
        for (const name of await sweepExtractLeftovers(engine)) {
          logger.debug(`removed the config-extract container ${name}, left by a refit that is gone`);
          swept.push(name);
        }
      } catch (err) {
        logger.warn(`could not sweep config-extract containers left by a killed refit (the next recover tries again): ${oneLine(err)}`);
      }
      try {
        for (const name of await stock.prune()) logger.debug(`removed ${name} from the stock config cache`);
      } catch (err) {
        logger.warn(`could not prune the stock config cache ${stock.root} (the next recover tries again): ${oneLine(err)}`);
      }
      return swept;
    },
    saveComposeFiles,
    restoreComposeFiles,
    bumpImageTag,
    startShadow: async (site, req) => {
      const cli = await cliFor(site.compose);
      const s = await composeTurn(site.compose.project, () => startShadow(cli, site, { engine, image: req.image, scratchDir: req.scratch, mergedDir: req.mergedDir, network: config.proxy.network }));
      const e = await endpointOf(engine, s.containerName);
      return { name: s.containerName, id: s.id, imageId: e?.imageId ?? '', reference: e?.reference ?? req.image, ip: s.ip };
    },
    removeShadow: async (site) => {
      await removeShadow(engine, shadowRef(site));
    },
    recreateService: async (c) => {
      const cli = await cliFor(c);
      await composeTurn(c.project, () => recreateService(cli, target(c), c.service));
    },
    endpointOf: async (name) => {
      const e = await endpointOf(engine, name, config.proxy.network);
      return e?.running ? { name: e.name, id: e.id, imageId: e.imageId, reference: e.reference, ip: e.ip } : null;
    },
    checkHealth: (t) => checkHealth(t, config.health),
    checkPublicPath: async (siteId, server, site) => {
      const route = await proxy.probeRoute(siteId, server);
      return route ? checkThroughProxy(site, route, config.health) : null;
    },
  };
}
