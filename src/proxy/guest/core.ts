/**
 * @module proxy/guest/core
 * refit as a guest in the proxy the operator already runs (HAProxy, nginx, Caddy): the
 * operator's config routes each managed site to a route of its own (a backend, an upstream, a
 * reverse-proxy handler) named by the documented rule `<routePrefix><site id>`; refit changes
 * only the servers in those routes. One implementation of the adapter contract for every guest
 * mode; a `GuestDriver` is what differs between proxies: how servers are put into a route,
 * how in-flight requests of a stopped server are counted, how a probe is pinned.
 *
 * refit's own state (state.json in the mode's run dir, the same shape as the refit-run
 * proxies') says which servers each route should have, so a proxy that lost them (an operator
 * restart) is put right by `revive()`, and a site whose route the operator has not written is
 * refused with what to add instead of failing the whole pass.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RefitError } from '../../errors.js';
import { probeAddress, probeToken } from '../probe.js';
import { exclusiveProxy, waitFor } from '../process.js';
import { readState, writeState } from '../state-file.js';
import { applySites, findServer, withoutServer, withServer, type ProxyState, type ServerEntry, type SiteEntry } from '../state.js';
import { siteDoctor, type DoctorReport, type Finding } from '../doctor.js';
import type { ApplyOptions, DrainOptions, DrainResult, Listener, ProbeRoute, ProxyAdapter, ProxyKind, ProxySite, Upstream, UpstreamState } from '../types.js';

export const PROBE_HEADER = 'X-Refit-Probe';
export const PROBE_SERVER_HEADER = 'X-Refit-Probe-Server';
/** Caddy's probe route is found by this header's value: the site's route name. */
export const PROBE_ROUTE_HEADER = 'X-Refit-Route';
export const SERVED_BY_HEADER = 'X-Refit-Server';

/** A site and the name of the operator's route that carries it. */
export interface GuestSite extends SiteEntry {
  route: string;
}

export interface GuestState extends ProxyState {
  /** Sites the operator's proxy has no route for, with what to fix (refused by add, listed by doctor). */
  unrouted?: { id: string; route: string; reason: string }[];
}

export interface GuestDriver<Stopped = unknown> {
  readonly kind: ProxyKind;
  /**
   * Makes refit's own files that the operator's config refers to (an empty route file, so the
   * operator can include it before refit has servers for it); returns the paths it made.
   */
  prepareFiles?(routes: string[]): string[];
  /** For each route the operator's proxy cannot carry (missing, malformed), what to fix. */
  missingRoutes(routes: string[]): Promise<Map<string, string>>;
  /** Reads the operator's proxy: findings for the proxy as a whole and per route (see proxy/doctor.ts). */
  doctor(sites: GuestSite[]): Promise<{ findings: Finding[]; routes: Map<string, Finding[]> }>;
  /** Completes the state before it is saved (HAProxy: each server's slot); throws when the route cannot take it. */
  prepare?(state: GuestState): Promise<GuestState>;
  /**
   * Makes the operator's proxy carry these sites' servers as they are: `ready` in rotation,
   * `drain` getting nothing new (its in-flight requests still counted by `inFlight`), and no
   * others. What it returns is handed to `inFlight` for the servers it stopped.
   */
  push(sites: GuestSite[]): Promise<Stopped>;
  /** Requests still running on `up` (wherever they run), after the push that stopped it. */
  inFlight(site: GuestSite, up: Upstream, stopped: Stopped | undefined): Promise<number>;
  /** Ends what still runs on `up` after a drain hit its bound (its container is about to stop); optional. */
  cut?(site: GuestSite, up: Upstream): Promise<void>;
  /** The servers as the operator's proxy runs them. */
  list(site: GuestSite): Promise<UpstreamState[]>;
  /** The probe's `X-Refit-Probe-Server` value for `server`, and the `X-Refit-Server` value the proxy answers with. */
  pin(site: GuestSite, server: ServerEntry): { server: string; servedBy: string };
  /** True when the proxy no longer carries what the state says (an operator restart or config load refit did not see). */
  drifted(sites: GuestSite[]): Promise<boolean>;
}

export interface GuestOptions {
  runDir: string;
  routePrefix: string;
  http: string;
  https?: string | undefined;
}

/** `HOST:PORT` (maybe `[v6]:PORT`) as the address refit's probes connect to. */
export function listenerOf(hostPort: string): Listener {
  const colon = hostPort.lastIndexOf(':');
  return { ip: probeAddress(hostPort.slice(0, colon)), port: Number(hostPort.slice(colon + 1)) };
}

export function guestProxy<Stopped>(o: GuestOptions, driver: GuestDriver<Stopped>): ProxyAdapter {
  const stateFile = join(o.runDir, 'state.json');
  const exclusive = exclusiveProxy(join(o.runDir, 'proxy.lock'), `refit: ${driver.kind} change`);
  const routeOf = (siteId: string) => `${o.routePrefix}${siteId}`;
  const read = () => readState(stateFile) as GuestState;
  const routed = (state: ProxyState): GuestSite[] => state.sites.map((s) => ({ ...s, route: routeOf(s.id) }));

  function requireRouted(state: GuestState, siteId: string): GuestSite {
    const site = state.sites.find((s) => s.id === siteId);
    if (site) return { ...site, route: routeOf(siteId) };
    const unrouted = state.unrouted?.find((u) => u.id === siteId);
    if (unrouted) throw new RefitError('proxy', `site ${siteId} cannot be managed in the operator's ${driver.kind}: ${unrouted.reason}`, 'run `refit proxy doctor` to see what the operator config needs');
    throw new RefitError('proxy', `site ${siteId} is not configured in the proxy`, 'run `refit proxy sync` so the proxy knows the site, then retry');
  }

  /** Saves the state, then makes the proxy carry the given sites as it says. */
  async function commit(state: GuestState, pick: (s: GuestState) => GuestSite[]): Promise<{ state: GuestState; stopped: Stopped }> {
    const ready = driver.prepare ? await driver.prepare(state) : state;
    writeState(stateFile, ready);
    return { state: ready, stopped: await driver.push(pick(ready)) };
  }

  /** refit's own files the operator's config refers to; returns what it had to make. */
  function prepare(routes: string[]): string[] {
    mkdirSync(o.runDir, { recursive: true, mode: 0o755 });
    const token = join(o.runDir, 'probe.token');
    const made = existsSync(token) ? [] : [token];
    probeToken(o.runDir);
    return [...made, ...(driver.prepareFiles?.(routes) ?? [])];
  }

  return {
    kind: driver.kind,
    zeroDowntime: true,

    apply: (sites: ProxySite[], opts: ApplyOptions = {}) =>
      exclusive(async () => {
        prepare(sites.map((s) => routeOf(s.id)));
        const prev = read();
        const missing = await driver.missingRoutes(sites.map((s) => routeOf(s.id)));
        const carried = sites.filter((s) => !missing.has(routeOf(s.id)));
        const next: GuestState = {
          ...applySites(prev, carried, opts.owned?.(), opts.observed?.()),
          unrouted: sites.filter((s) => missing.has(routeOf(s.id))).map((s) => ({ id: s.id, route: routeOf(s.id), reason: missing.get(routeOf(s.id))! })),
        };
        // A site that left the set leaves its route empty: the operator's route stays, refit's servers go.
        const gone = prev.sites.filter((p) => !next.sites.some((s) => s.id === p.id) && !missing.has(routeOf(p.id))).map((p) => ({ ...p, servers: [], route: routeOf(p.id) }));
        await commit(next, (s) => [...routed(s), ...gone]);
      }),

    add: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        const state = read();
        const site = requireRouted(state, siteId);
        const { state: next } = await commit({ ...state, ...withServer(state, siteId, up, 'ready') }, (s) => [requireRouted(s, siteId)]);
        const row = (await driver.list(requireRouted(next, siteId))).find((s) => s.name === up.name);
        if (row?.state !== 'ready' || row.ip !== up.ip || row.port !== up.port) {
          throw new RefitError('proxy', `the operator's ${driver.kind} did not take ${up.name} (${up.ip}:${up.port}) into route ${site.route}: it is ${row ? `${row.state} at ${row.ip}:${row.port}` : 'missing'}`, 'run `refit proxy doctor`');
        }
      }),

    async drain(siteId: string, up: Upstream, { timeoutMs, onStopped }: DrainOptions): Promise<DrainResult> {
      const started = Date.now();
      const stopped = await exclusive(async () => {
        const state = read();
        requireRouted(state, siteId);
        const known = findServer(state, siteId, up.name);
        if (!known) return null;
        return commit({ ...state, ...withServer(state, siteId, known, 'drain') }, (s) => [requireRouted(s, siteId)]);
      });
      onStopped?.();
      if (!stopped) return { drained: true, waitedMs: Date.now() - started, remainingSessions: 0 };
      const site = requireRouted(stopped.state, siteId);
      let remaining = Number.POSITIVE_INFINITY;
      const done = await waitFor(async () => {
        remaining = await driver.inFlight(site, up, stopped.stopped);
        return remaining === 0 ? true : undefined;
      }, Math.max(0, timeoutMs - (Date.now() - started)), 100);
      return { drained: done === true, waitedMs: Date.now() - started, remainingSessions: done ? 0 : remaining };
    },

    remove: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        const state = read();
        const site = requireRouted(state, siteId);
        if (!findServer(state, siteId, up.name)) return;
        await commit({ ...state, ...withoutServer(state, siteId, up.name) }, (s) => [requireRouted(s, siteId)]);
        // Requests still running here outlived the drain bound the caller chose: their container is about to stop.
        await driver.cut?.(site, up);
      }),

    async list(siteId: string): Promise<UpstreamState[]> {
      return driver.list(requireRouted(read(), siteId));
    },

    async probeRoute(siteId: string, up: Upstream): Promise<ProbeRoute | null> {
      const site = requireRouted(read(), siteId);
      const server = site.servers.find((s) => s.name === up.name);
      if (!server) throw new RefitError('proxy', `server ${up.name} is not in site ${siteId} of the proxy`, 'add it before probing it');
      const pin = driver.pin(site, server);
      return {
        http: listenerOf(o.http),
        https: o.https ? listenerOf(o.https) : null,
        headers: { [PROBE_HEADER]: probeToken(o.runDir), [PROBE_SERVER_HEADER]: pin.server, [PROBE_ROUTE_HEADER]: site.route },
        servedBy: { header: SERVED_BY_HEADER.toLowerCase(), value: pin.servedBy },
      };
    },

    revive: () =>
      exclusive(async () => {
        const state = read();
        if (!state.sites.length) return false;
        const sites = routed(state);
        if (!(await driver.drifted(sites))) return false;
        await driver.push(sites);
        return true;
      }),

    // The operator's proxy is theirs to stop.
    async stop() {},

    async doctor(sites: ProxySite[]): Promise<DoctorReport> {
      const guests = sites.map((s) => ({ id: s.id, vhosts: s.vhosts, servers: [], route: routeOf(s.id) }));
      const prepared = prepare(guests.map((s) => s.route));
      const { findings, routes } = await driver.doctor(guests);
      return { proxy: driver.kind, prepared, findings, sites: guests.map((s) => siteDoctor(s.id, s.route, routes.get(s.route) ?? [])), skipped: [] };
    },
  };
}
