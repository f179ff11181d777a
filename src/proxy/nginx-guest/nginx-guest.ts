/**
 * @module proxy/nginx-guest/nginx-guest
 * refit inside the operator's nginx (`proxy.type: nginx-guest`), in one of two modes.
 *
 * `include`: refit owns one file per managed site in a directory the operator's config
 * includes (render.ts); every change is checked with the operator's own `nginx -t` (a
 * rejected file is put back as it was) and applied by a graceful reload of the operator's
 * master. A drain waits until the workers that reload retired have exited. nginx before 1.27.4
 * closes idle kept-alive client connections at every reload, so each change can cost a client
 * that sends at that instant its request: `refit proxy doctor` says so.
 *
 * `router`: the operator's server blocks forward managed sites to refit's own router (the
 * router tier of the refit-run nginx proxy, on a unix socket, one connection per request), so
 * refit never reloads the operator's nginx and its reloads never touch a client connection.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kill } from 'node:process';
import type { NginxGuestConfig, ProxyConfig } from '../../config/schema.js';
import { RefitError } from '../../errors.js';
import { guestProxy, listenerOf, type GuestDriver, type GuestSite } from '../guest/core.js';
import { nginxProxy } from '../nginx/nginx.js';
import { probeToken } from '../probe.js';
import { childPids, commandLine, livePid, processAlive, runTool, waitFor } from '../process.js';
import { writeFileAtomic } from '../state-file.js';
import type { ProxyAdapter, ProbeRoute, Upstream, UpstreamState } from '../types.js';
import { includesDir, PROBE_FILE, proxiesTo, renderProbeFile, renderSiteFile, routeVariable, siteFile } from './render.js';

export type NginxGuestOptions = NginxGuestConfig & Pick<ProxyConfig, 'serverTimeoutMs'>;

const RELOAD_TIMEOUT_MS = 10_000;

export function nginxGuestProxy(o: NginxGuestOptions): ProxyAdapter {
  return o.mode === 'router' ? routerMode(o) : includeMode(o);
}

/** The operator's full config as nginx reads it (`nginx -T`: every included file). */
export function operatorConfig(o: Pick<NginxGuestOptions, 'operatorBinary' | 'config'>): Promise<string> {
  return runTool(o.operatorBinary, ['-T', '-q', '-c', o.config], "reading the operator's nginx config", `fix ${o.config} first: nginx itself rejects it`);
}

/** The operator's running master, or an error saying how to start it. */
export function operatorMaster(o: Pick<NginxGuestOptions, 'pidFile'>): number {
  const pid = livePid(o.pidFile, 'nginx: master process');
  if (pid === null) throw new RefitError('proxy', `the operator's nginx is not running (no live master in ${o.pidFile})`, 'start nginx, or set proxy.nginxGuest.pidFile to its pid file');
  return pid;
}

/**
 * Graceful reload of an nginx master; done when new workers run and every old one stopped
 * accepting. Returns the old workers: they finish their in-flight requests and exit.
 */
export async function gracefulReload(pid: number, what: string): Promise<number[]> {
  const old = childPids(pid);
  kill(pid, 'SIGHUP');
  const switched = await waitFor(() => {
    const fresh = childPids(pid).some((p) => !old.includes(p));
    return fresh && old.every((p) => !processAlive(p) || /shutting down/.test(commandLine(p))) ? true : undefined;
  }, RELOAD_TIMEOUT_MS, 20);
  if (!switched) throw new RefitError('proxy', `${what} (master ${pid}) did not switch to new workers after a reload`, 'see its error log');
  return old;
}

function includeMode(o: NginxGuestOptions): ProxyAdapter {
  const file = (name: string) => join(o.includeDir, name);
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : null);
  const token = () => probeToken(o.runDir);

  /**
   * Writes the files, lets the operator's `nginx -t` judge the whole config, and puts every
   * file back as it was when it refuses. Returns whether anything changed.
   */
  async function install(files: Map<string, string>): Promise<boolean> {
    const before = new Map<string, string | null>();
    for (const [name, text] of files) {
      const old = read(file(name));
      if (old !== text) before.set(name, old);
    }
    if (!before.size) return false;
    for (const name of before.keys()) writeFileAtomic(file(name), files.get(name)!, 0o600);
    try {
      await runTool(o.operatorBinary, ['-t', '-q', '-c', o.config], "checking the operator's nginx config with refit's upstream files", `refit put its files in ${o.includeDir} back as they were`);
    } catch (err) {
      for (const [name, old] of before) {
        if (old === null) rmSync(file(name), { force: true });
        else writeFileAtomic(file(name), old, 0o600);
      }
      throw err;
    }
    return true;
  }

  const siteFiles = (sites: GuestSite[]) => new Map(sites.map((s) => [siteFile(s.route), renderSiteFile(s.route, s, token())]));

  const driver: GuestDriver<number[]> = {
    kind: 'nginx-guest',

    async missingRoutes(routes) {
      operatorMaster(o);
      // Each site's file exists before the operator's config may name its variable (nginx -t refuses unknown ones).
      const absent = routes.filter((r) => read(file(siteFile(r))) === null);
      await install(new Map([[PROBE_FILE, renderProbeFile(token())], ...siteFiles(absent.map((route) => ({ id: route, vhosts: [], servers: [], route })))]));
      const full = await operatorConfig(o);
      const missing = new Map<string, string>();
      for (const route of routes) {
        if (!includesDir(full, o.includeDir)) missing.set(route, `${o.config} does not include refit's files: add \`include ${o.includeDir}/*.conf;\` to its http block`);
        else if (!proxiesTo(full, route)) missing.set(route, `no location of the operator's nginx proxies to refit's route: add \`proxy_pass http://$${routeVariable(route)};\` to the site's location`);
      }
      return missing;
    },

    async push(sites) {
      const master = operatorMaster(o);
      const changed = await install(new Map([[PROBE_FILE, renderProbeFile(token())], ...siteFiles(sites)]));
      return changed ? gracefulReload(master, "the operator's nginx") : [];
    },

    // nginx cannot count requests per server: the workers that carried the stopped server's requests are watched until they exit.
    inFlight: async (_site, _up: Upstream, retired) => (retired ?? []).filter(processAlive).length,

    list: async (site): Promise<UpstreamState[]> => site.servers.map(({ name, ip, port, state }) => ({ name, ip, port, state, sessions: 0 })),

    pin: (_site, s) => ({ server: `${s.ip}:${s.port}`, servedBy: `${s.ip}:${s.port}` }),

    // The files are on disk: an operator restart or reload keeps them. Only a file changed behind refit's back is drift.
    drifted: async (sites) => [...siteFiles(sites)].some(([name, text]) => read(file(name)) !== text),
  };
  return guestProxy(o, driver);
}

function routerMode(o: NginxGuestOptions): ProxyAdapter {
  const router = nginxProxy({
    binary: o.binary,
    runDir: o.runDir,
    // The edge tier is the operator's nginx: these are not used.
    bind: '127.0.0.1',
    httpPort: 80,
    httpsPort: 443,
    certDir: join(o.runDir, 'no-certs'),
    user: 'www-data',
    serverTimeoutMs: o.serverTimeoutMs,
    edge: false,
    socketGroup: o.socketGroup,
  });
  return asGuestRouter(router, 'nginx-guest', o);
}

/** refit's router behind the operator's proxy: probes go to the operator's public listeners. */
export function asGuestRouter(router: ProxyAdapter, kind: ProxyAdapter['kind'], o: { http: string; https?: string | undefined }): ProxyAdapter {
  return {
    ...router,
    kind,
    async probeRoute(siteId: string, up: Upstream): Promise<ProbeRoute | null> {
      const route = await router.probeRoute(siteId, up);
      return route && { ...route, http: listenerOf(o.http), https: o.https ? listenerOf(o.https) : null };
    },
  };
}
