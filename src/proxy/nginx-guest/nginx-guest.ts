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
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NginxGuestConfig, ProxyConfig } from '../../config/schema.js';
import { RefitError } from '../../errors.js';
import { ok, problem, siteDoctor, warning, type DoctorReport, type Finding } from '../doctor.js';
import { guestProxy, listenerOf, type GuestDriver, type GuestSite } from '../guest/core.js';
import { nginxProxy } from '../nginx/nginx.js';
import { gracefulReload } from '../nginx/reload.js';
import { routerSocket } from '../nginx/render.js';
import { probeToken } from '../probe.js';
import { livePid, processAlive, runTool } from '../process.js';
import { writeFileAtomic } from '../state-file.js';
import type { ProxyAdapter, ProbeRoute, Upstream, UpstreamState } from '../types.js';
import { includesDir, PROBE_FILE, proxiesTo, renderProbeFile, renderSiteFile, routeVariable, siteFile } from './render.js';

export type NginxGuestOptions = NginxGuestConfig & Pick<ProxyConfig, 'serverTimeoutMs'>;

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
      await runTool(o.operatorBinary, ['-t', '-q', '-c', o.config], "checking the operator's nginx config with refit's upstream files", `refit put its files in ${o.includeDir} back as they were`, { atWorkPriority: true });
    } catch (err) {
      for (const [name, old] of before) {
        if (old === null) rmSync(file(name), { force: true });
        else writeFileAtomic(file(name), old, 0o600);
      }
      throw err;
    }
    return true;
  }

  const siteFiles = (sites: GuestSite[]) => new Map(sites.map((s) => [siteFile(s.route), renderSiteFile(s.route, s)]));

  const driver: GuestDriver<number[]> = {
    kind: 'nginx-guest',

    // Each site's file exists before the operator's config may name its variable (nginx -t refuses unknown ones).
    prepareFiles(routes) {
      const wanted = [PROBE_FILE, ...routes.map(siteFile)].filter((name) => read(file(name)) === null);
      mkdirSync(o.includeDir, { recursive: true, mode: 0o755 });
      for (const name of wanted) {
        const route = routes.find((r) => siteFile(r) === name);
        writeFileAtomic(file(name), route ? renderSiteFile(route, { id: route, vhosts: [], servers: [] }) : renderProbeFile(token()), 0o600);
      }
      return wanted.map(file);
    },

    async doctor(sites) {
      const findings: Finding[] = [];
      const routes = new Map<string, Finding[]>();
      const full = await operatorConfig(o).catch((err: Error) => {
        findings.push(problem(err.message, `set proxy.nginxGuest.config to the config your nginx runs`));
        return null;
      });
      findings.push(...(await nginxFindings(o, full)));
      const included = full !== null && includesDir(full, o.includeDir);
      if (full !== null) findings.push(included ? ok(`includes refit's files (${o.includeDir}/*.conf)`) : problem(`${o.config} does not include refit's files`, `include ${o.includeDir}/*.conf;   (in the http block)`));
      if (full !== null && !/add_header\s+X-Refit-Server\s+\$refit_served_by\s+always\s*;/i.test(full)) findings.push(problem("no location answers refit's probes with the server that served them", 'add_header X-Refit-Server $refit_served_by always;   (in each managed location)'));
      for (const s of sites) {
        if (full === null || !included) routes.set(s.route, [problem('cannot be checked: see above')]);
        else routes.set(s.route, [proxiesTo(full, s.route) ? ok(`a location proxies to $${routeVariable(s.route)}`) : problem(`no location proxies to refit's route`, `proxy_pass http://$${routeVariable(s.route)};   (in the site's location)`)]);
      }
      return { findings, routes };
    },

    async missingRoutes(routes) {
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
      return changed ? gracefulReload(master, "the operator's nginx", 'see its error log') : [];
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
  return asGuestRouter(router, 'nginx-guest', o, async () => {
    const full = await operatorConfig(o).catch(() => null);
    const socket = routerSocket(o.runDir);
    return [
      ...(await nginxFindings(o, full, { reloadsByRefit: false })),
      full === null
        ? problem(`nginx -T cannot read ${o.config}`, 'set proxy.nginxGuest.config to the config your nginx runs')
        : full.includes(`unix:${socket}`)
          ? ok(`forwards to refit's router (${socket})`)
          : problem("no location forwards to refit's router", `proxy_pass http://unix:${socket}:;   (in each managed site's location; no keepalive to it)`),
    ];
  });
}

/**
 * What the operator's nginx itself means for refit: its version (before 1.27.4 every reload
 * closes idle kept-alive client connections: requests sent at that instant are lost) and a
 * bound on how long old workers live after a reload (drains wait for them).
 */
async function nginxFindings(o: NginxGuestOptions, full: string | null, { reloadsByRefit = true } = {}): Promise<Finding[]> {
  const findings: Finding[] = [];
  const version = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(await runTool(o.operatorBinary, ['-v'], 'asking nginx its version').catch(() => ''));
  const numeric = version ? Number(version[1]) * 1_000_000 + Number(version[2]) * 1_000 + Number(version[3]) : 0;
  const label = version ? `nginx ${version[1]}.${version[2]}.${version[3]}` : 'nginx (version unknown)';
  if (numeric >= 1_027_004) findings.push(ok(`${label}: reloads keep kept-alive client connections`));
  else if (reloadsByRefit) findings.push(warning(`${label} closes idle kept-alive client connections at every reload, and refit reloads it at every server change (about 4 per update): kept-alive clients sending at that instant lose their request (measured in docs/proxy.md)`, 'set proxy.nginxGuest.mode: router (your nginx is then never reloaded by refit)'));
  else findings.push(ok(`${label}: refit never reloads it (mode router)`));
  if (full !== null) {
    findings.push(/^\s*worker_shutdown_timeout\s+\S+\s*;/m.test(full) ? ok('worker_shutdown_timeout bounds how long old workers finish requests after a reload') : warning('no worker_shutdown_timeout: after a reload, old workers with long-lived connections (WebSocket, slow clients) never exit, and drains wait for them until proxy.drainTimeoutMs', 'worker_shutdown_timeout 330s;   (main context: a bit over proxy.serverTimeoutMs)'));
  }
  return findings;
}

/** refit's router behind the operator's proxy: probes go to the operator's public listeners; the doctor checks the operator forwards to it. */
export function asGuestRouter(router: ProxyAdapter, kind: ProxyAdapter['kind'], o: { http: string; https?: string | undefined }, findings: () => Promise<Finding[]>): ProxyAdapter {
  return {
    ...router,
    kind,
    async doctor(sites): Promise<DoctorReport> {
      const all = await findings();
      // refit's router routes every site by Host: nothing per site in the operator's config but the forward.
      const routed = sites.map((s) => siteDoctor(s.id, s.vhosts.join(','), [ok("routed by Host in refit's router")]));
      return { proxy: kind, prepared: [], findings: all, sites: routed, skipped: [] };
    },
    async probeRoute(siteId: string, up: Upstream): Promise<ProbeRoute | null> {
      const route = await router.probeRoute(siteId, up);
      return route && { ...route, http: listenerOf(o.http), https: o.https ? listenerOf(o.https) : null };
    },
  };
}
