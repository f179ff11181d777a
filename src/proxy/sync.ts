/**
 * @module proxy/sync
 * Makes the proxy serve what runs now (`refit proxy sync`, the start of a pass, and every
 * change the daemon's keeper sees): each managed site with its running containers as servers.
 *  - No traffic before ready: a container joins (or rejoins at a new address) only once it
 *    passed its health check; one that is gone, or moved, leaves at once. What the proxy has in
 *    rotation already passed its check when it joined (through a sync or a maintenance).
 *  - A site a maintenance owns is left exactly as it is (the proxy asks under its lock), and so
 *    is one whose maintenance ended after this sync looked at the host: what it saw is stale.
 * `planSync` is the decision (pure); `syncProxy` the edges around it.
 */
import type { HealthTarget, Verdict } from '../health/types.js';
import type { Discovery, Site } from '../site/discover.js';
import { proxySitesOf, siteIdOf, type Skipped } from './sites.js';
import type { ProxyAdapter, ProxySite, Upstream } from './types.js';

const address = (up: Upstream) => `${up.ip}:${up.port}`;

/** What the proxy has in rotation now, per site: these servers were proven healthy when they joined. */
export type InRotation = ReadonlyMap<string, readonly Upstream[]>;

export interface ToCheck {
  siteId: string;
  server: Upstream;
  target: HealthTarget;
}

export interface SyncPlan {
  /** The site set to apply: every routed site with its admitted, running servers. */
  sites: ProxySite[];
  skipped: Skipped[];
  /** Running containers not admitted at their address yet: they join once healthy. */
  toCheck: ToCheck[];
}

export function planSync(found: Site[], network: string | undefined, inRotation: InRotation, busy: ReadonlySet<string>): SyncPlan {
  const { sites, skipped } = proxySitesOf(found, network);
  const byName = new Map(found.map((s) => [s.name, s]));
  const toCheck: ToCheck[] = [];
  const planned = sites.map((site) => {
    if (busy.has(site.id)) return site; // the proxy leaves its servers alone anyway
    const admitted = inRotation.get(site.id) ?? [];
    const servers = site.servers.filter((server) => {
      if (admitted.some((a) => a.name === server.name && address(a) === address(server))) return true;
      const s = byName.get(server.name)!;
      toCheck.push({ siteId: site.id, server, target: { ip: server.ip, port: server.port, vhosts: s.vhosts, healthPath: s.healthPath } });
      return false;
    });
    return { ...site, servers };
  });
  return { sites: planned, skipped, toCheck };
}

export interface SyncDeps {
  proxy: ProxyAdapter;
  network?: string;
  discover(): Promise<Discovery>;
  checkHealth(t: HealthTarget): Promise<Verdict>;
  /** Sites a maintenance owns now, or whose maintenance ended at or after `since`. */
  busySince(since: Date): ReadonlySet<string>;
  /** Sites an open watch after an update counts (the proxy stops counting others); absent: counting stays as it is. */
  watched?(): ReadonlySet<string>;
  /** Told at once when an apply had to start the proxy again (it had been set up, and its process was gone). */
  onRestarted?(): void;
}

export interface SyncReport {
  sites: ProxySite[];
  skipped: Skipped[];
  /** Containers that did not pass their health check: not in rotation, asked again at the next sync. */
  waiting: { container: string; reason: string }[];
  /** Sites left as they were because a maintenance owns them (or just did). */
  busy: string[];
  /** The proxy had been set up and its process was gone: this sync started it again from its state. */
  restarted: boolean;
}

const CHECKS_AT_ONCE = 8;

export async function syncProxy(d: SyncDeps): Promise<SyncReport> {
  const since = new Date();
  const found = await d.discover();
  let busy = d.busySince(since);
  const rotation = await inRotationNow(d.proxy, proxySitesOf(found.sites, d.network).sites.filter((s) => !busy.has(s.id)));
  const plan = planSync(found.sites, d.network, rotation, busy);
  // What runs now, without anything new: servers that are gone or moved leave at once.
  let restarted = false;
  const onRestart = () => {
    restarted = true;
    d.onRestarted?.();
  };
  const options = { owned: () => (busy = d.busySince(since)), ...(d.watched ? { observed: d.watched } : {}), restarted: onRestart };
  await d.proxy.apply(plan.sites, options);

  const waiting: SyncReport['waiting'] = [];
  const checks = await inBatches(plan.toCheck.filter((c) => !busy.has(c.siteId)), CHECKS_AT_ONCE, async (c) => ({ c, verdict: await d.checkHealth(c.target) }));
  const joined = new Map<string, Upstream[]>();
  for (const { c, verdict } of checks) {
    if (verdict.healthy) joined.set(c.siteId, [...(joined.get(c.siteId) ?? []), c.server]);
    else waiting.push({ container: c.server.name, reason: `not healthy yet at ${address(c.server)}: ${verdict.reason}` });
  }
  const sites = plan.sites.map((s) => ({ ...s, servers: [...s.servers, ...(joined.get(s.id) ?? [])] }));
  if (joined.size) await d.proxy.apply(sites, options);
  return { sites, skipped: plan.skipped, waiting, busy: [...busy].sort(), restarted };
}

/** The servers in rotation in each site (none while the proxy is not running, or a site it does not know yet). */
async function inRotationNow(proxy: ProxyAdapter, sites: ProxySite[]): Promise<InRotation> {
  const out = new Map<string, Upstream[]>();
  for (const site of sites) {
    const listed = await proxy.list(site.id).catch(() => []);
    out.set(site.id, listed.filter((s) => s.state === 'ready'));
  }
  return out;
}

async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/** The proxy sites whose traffic a maintenance moves (or just moved), from the journal's answer. */
export function busySites(maintenances: { project: string; service: string }[]): ReadonlySet<string> {
  return new Set(maintenances.map((m) => siteIdOf({ compose: m })));
}
