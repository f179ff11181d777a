/**
 * @module proxy/state
 * What the proxy should be serving, as plain data: sites, their servers and each server's
 * state. Both file-driven adapters render their config from it, so a server added, drained or
 * removed at runtime is still right after the next reload or apply. Pure transitions only;
 * state-file.ts stores it.
 */
import { isIP } from 'node:net';
import { RefitError } from '../errors.js';
import type { ProxySite, ServerState, Upstream } from './types.js';

export interface ServerEntry extends Upstream {
  /** ready: gets new requests; drain: finishes what it has, gets none new. */
  state: Extract<ServerState, 'ready' | 'drain'>;
  /** HAProxy only: the pre-declared server slot of the backend this server occupies. */
  slot?: string;
}

export interface SiteEntry {
  id: string;
  vhosts: string[];
  servers: ServerEntry[];
  /** The proxy counts the site's responses per server (nginx: the router logs them); set by observe(). */
  observed?: boolean;
  /** Clients stay with the server that first answered them (a cookie); only while two versions share the site. */
  affinity?: boolean;
  /** HAProxy: the server slots its config holds for the site (haproxy/slots.ts); grows with the site, never shrinks. */
  slots?: number;
}

export interface ProxyState {
  sites: SiteEntry[];
}

export const EMPTY_STATE: ProxyState = { sites: [] };

// Names end up inside proxy config files: allow only what both HAProxy and nginx take as a bare word.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const VHOST = /^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

/**
 * The new state after apply(sites): exactly these sites and vhosts, and in each site exactly
 * the listed servers, in rotation (a server already there keeps its slot). A site in `owned`
 * keeps the servers and states it has: a maintenance is moving them (and its affinity, which
 * only a maintenance sets). Counting (`observed`) outlives a maintenance: the watch after it
 * reads it; given the sites that are being watched, counting stops on every other.
 */
export function applySites(prev: ProxyState, sites: ProxySite[], owned: ReadonlySet<string> = new Set(), observed?: ReadonlySet<string>): ProxyState {
  const seen = new Set<string>();
  const claimed = new Map<string, string>();
  const next: SiteEntry[] = [];
  for (const site of sites) {
    checkName('site id', site.id);
    if (seen.has(site.id)) throw new RefitError('proxy', `site ${site.id} is listed twice in the proxy site set`, 'merge its servers into one entry');
    seen.add(site.id);
    for (const vhost of site.vhosts) {
      checkVhost(site.id, vhost);
      const other = claimed.get(vhost);
      if (other) throw new RefitError('proxy', `vhost ${vhost} is claimed by both site ${other} and site ${site.id}`, 'give each hostname to one site only (refit.vhosts labels)');
      claimed.set(vhost, site.id);
    }
    const before = prev.sites.find((s) => s.id === site.id);
    const counted = before?.observed && (!observed || observed.has(site.id)) ? { observed: true } : {};
    if (before && owned.has(site.id)) {
      next.push({ id: site.id, vhosts: [...site.vhosts], servers: before.servers, ...counted, ...(before.affinity ? { affinity: true } : {}), ...slotsOf(before) });
      continue;
    }
    const servers: ServerEntry[] = [];
    for (const up of site.servers) {
      checkUpstream(site.id, up);
      if (servers.some((s) => s.name === up.name)) throw new RefitError('proxy', `site ${site.id} lists server ${up.name} twice`, 'server names are container names and must be unique per site');
      const slot = before?.servers.find((s) => s.name === up.name)?.slot;
      servers.push({ name: up.name, ip: up.ip, port: up.port, state: 'ready', ...(slot ? { slot } : {}) });
    }
    next.push({ id: site.id, vhosts: [...site.vhosts], servers, ...counted, ...slotsOf(before) });
  }
  // An owned site the set no longer names (its container was just recreated or stopped) stays too.
  for (const site of prev.sites) if (owned.has(site.id) && !seen.has(site.id)) next.push(site);
  return { sites: next };
}

const slotsOf = (site: SiteEntry | undefined) => (site?.slots ? { slots: site.slots } : {});

/** Adds the server to the site, or updates its address and state when it is already there (keeping its slot). */
export function withServer(state: ProxyState, siteId: string, up: Upstream, serverState: ServerEntry['state']): ProxyState {
  checkUpstream(siteId, up);
  const site = requireSite(state, siteId);
  const had = site.servers.find((s) => s.name === up.name);
  const entry: ServerEntry = { name: up.name, ip: up.ip, port: up.port, state: serverState, ...(had?.slot ? { slot: had.slot } : {}) };
  const servers = had ? site.servers.map((s) => (s.name === up.name ? entry : s)) : [...site.servers, entry];
  return replaceSite(state, { ...site, servers });
}

/** The site with a flag (observed, affinity) set or cleared. */
export function withFlag(state: ProxyState, siteId: string, flag: 'observed' | 'affinity', on: boolean): ProxyState {
  const { [flag]: _was, ...site } = requireSite(state, siteId);
  return replaceSite(state, on ? { ...site, [flag]: true } : site);
}

export function withoutServer(state: ProxyState, siteId: string, name: string): ProxyState {
  const site = requireSite(state, siteId);
  return replaceSite(state, { ...site, servers: site.servers.filter((s) => s.name !== name) });
}

export function findServer(state: ProxyState, siteId: string, name: string): ServerEntry | undefined {
  return state.sites.find((s) => s.id === siteId)?.servers.find((s) => s.name === name);
}

export function requireSite(state: ProxyState, siteId: string): SiteEntry {
  const site = state.sites.find((s) => s.id === siteId);
  if (!site) throw new RefitError('proxy', `site ${siteId} is not configured in the proxy`, 'run `refit proxy sync` so the proxy knows the site, then retry');
  return site;
}

/** The servers that get new requests. */
export function inRotation(site: SiteEntry): ServerEntry[] {
  return site.servers.filter((s) => s.state === 'ready');
}

function replaceSite(state: ProxyState, site: SiteEntry): ProxyState {
  return { sites: state.sites.map((s) => (s.id === site.id ? site : s)) };
}

function checkName(what: string, name: string): void {
  if (!NAME.test(name)) throw new RefitError('proxy', `${what} ${JSON.stringify(name)} cannot be used in a proxy config`, 'use letters, digits, ".", "_" and "-" only');
}

function checkVhost(siteId: string, vhost: string): void {
  if (!VHOST.test(vhost)) throw new RefitError('proxy', `site ${siteId}: vhost ${JSON.stringify(vhost)} is not a lower-case hostname`, 'fix the refit.vhosts label');
}

function checkUpstream(siteId: string, up: Upstream): void {
  checkName(`server of site ${siteId}`, up.name);
  if (isIP(up.ip) !== 4) throw new RefitError('proxy', `server ${up.name} of site ${siteId}: ${JSON.stringify(up.ip)} is not an IPv4 address`, 'pass the container IP on the proxy network');
  if (!Number.isInteger(up.port) || up.port < 1 || up.port > 65535) throw new RefitError('proxy', `server ${up.name} of site ${siteId}: port ${up.port} is not a TCP port`);
}
