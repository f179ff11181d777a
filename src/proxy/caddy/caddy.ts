/**
 * @module proxy/caddy/caddy
 * refit inside the operator's Caddy (`proxy.type: caddy`), in one of two modes.
 *
 * `api`: refit changes the upstreams of each managed site's routes (routes.ts) through Caddy's
 * admin API, one PATCH of the routes array that holds them per site, and rewrites the site's
 * snippet file so that the operator's own `caddy reload` loads the same servers. A drain takes
 * the server out of rotation and waits until Caddy's `/reverse_proxy/upstreams` counts no
 * request on it. Every admin API change makes Caddy load its config anew, which closes idle
 * kept-alive client connections: `refit proxy doctor` says so.
 *
 * `router`: the operator's Caddy forwards managed sites to refit's own router (nginx, unix
 * socket); refit never changes the operator's Caddy.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { CaddyGuestConfig, ProxyConfig } from '../../config/schema.js';
import { RefitError } from '../../errors.js';
import { ok, problem, warning, type Finding } from '../doctor.js';
import { guestProxy, type GuestDriver, type GuestSite } from '../guest/core.js';
import { nginxProxy } from '../nginx/nginx.js';
import { routerSocket } from '../nginx/render.js';
import { asGuestRouter } from '../nginx-guest/nginx-guest.js';
import { probeToken } from '../probe.js';
import { writeFileAtomic } from '../state-file.js';
import type { ProxyAdapter, UpstreamState } from '../types.js';
import { findRoutes, liveUpstreams, renderSnippet, sameUpstreams, snippetFile, upstreamsOf, withUpstreams } from './routes.js';

export type CaddyOptions = CaddyGuestConfig & Pick<ProxyConfig, 'serverTimeoutMs'>;

export function caddyProxy(o: CaddyOptions): ProxyAdapter {
  if (o.mode === 'router') {
    const router = nginxProxy({ binary: o.binary, runDir: o.runDir, bind: '127.0.0.1', httpPort: 80, httpsPort: 443, certDir: join(o.runDir, 'no-certs'), user: 'www-data', serverTimeoutMs: o.serverTimeoutMs, edge: false, socketGroup: o.socketGroup });
    return asGuestRouter(router, 'caddy', o, async () => {
      const socket = routerSocket(o.runDir);
      const live = JSON.stringify(await caddyAdmin(o.adminUrl, 'GET', '/config/').catch(() => null));
      if (live === 'null') return [problem(`Caddy's admin API does not answer at ${o.adminUrl}`, 'set proxy.caddy.adminUrl to its `admin` address')];
      return [
        ok('refit never changes your Caddy config (mode router)'),
        live.includes(`unix/${socket}`) ? ok(`forwards to refit's router (${socket})`) : problem("no reverse_proxy forwards to refit's router", `reverse_proxy unix/${socket} { transport http { keepalive off } }   (in each managed site)`),
      ];
    });
  }
  return apiMode(o);
}

/** One request to Caddy's admin API; a non-2xx answer is an error quoting Caddy's words. */
export function caddyAdmin(adminUrl: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = new URL(path, adminUrl);
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, timeout: 30_000, headers: payload ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300) return reject(new RefitError('proxy', `Caddy's admin API refused ${method} ${url.pathname}: ${res.statusCode} ${text.trim().slice(0, 300)}`, 'run `refit proxy doctor`'));
        try {
          resolve(text.trim() ? JSON.parse(text) : null);
        } catch {
          resolve(text);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (err) => reject(new RefitError('proxy', `Caddy's admin API at ${adminUrl} did not answer ${method} ${url.pathname}: ${err.message}`, 'is Caddy running with its admin endpoint there (proxy.caddy.adminUrl)?', { cause: err })));
    req.end(payload);
  });
}

/** Caddy's request counts per upstream address (the pool every reverse proxy shares). */
export async function upstreamLoad(adminUrl: string): Promise<Map<string, number>> {
  const rows = (await caddyAdmin(adminUrl, 'GET', '/reverse_proxy/upstreams')) as { address: string; num_requests: number }[] | null;
  return new Map((rows ?? []).map((r) => [r.address, r.num_requests]));
}

function apiMode(o: CaddyOptions): ProxyAdapter {
  const admin = (method: string, path: string, body?: unknown) => caddyAdmin(o.adminUrl, method, path, body);
  const snippet = (route: string) => join(o.snippetDir, snippetFile(route));
  const token = () => probeToken(o.runDir);
  const config = () => admin('GET', '/config/');
  const toPath = (path: (string | number)[]) => `/config/${path.map((p) => encodeURIComponent(String(p))).join('/')}`;

  /** The durable copy: what the operator's next `caddy reload` loads for the site. */
  function writeSnippet(site: GuestSite): void {
    mkdirSync(o.snippetDir, { recursive: true, mode: 0o755 });
    const text = renderSnippet(site.route, site, token());
    // Caddy runs as its own user and reads the snippet at every reload.
    if (!existsSync(snippet(site.route)) || readFileSync(snippet(site.route), 'utf8') !== text) writeFileAtomic(snippet(site.route), text, 0o644);
  }

  const driver: GuestDriver<void> = {
    kind: 'caddy',

    // Each snippet exists before the operator's Caddyfile may import it (a missing import fails the reload).
    prepareFiles(routes) {
      const absent = routes.filter((route) => !existsSync(snippet(route)));
      for (const route of absent) writeSnippet({ id: route, vhosts: [], servers: [], route });
      return absent.map(snippet);
    },

    async doctor(sites) {
      const routes = new Map<string, Finding[]>();
      const live = await config().catch(() => null);
      if (live === null) {
        for (const s of sites) routes.set(s.route, [problem('cannot be checked without the admin API')]);
        return { findings: [problem(`Caddy's admin API does not answer at ${o.adminUrl}`, 'set proxy.caddy.adminUrl to its `admin` address')], routes };
      }
      const counts = await upstreamLoad(o.adminUrl).then(
        () => ok('admin API with /reverse_proxy/upstreams (drains count in-flight requests)'),
        () => problem("Caddy's admin API has no /reverse_proxy/upstreams: refit's drain needs it", 'use Caddy 2.6 (Debian 12) or newer'),
      );
      const findings = [
        counts,
        warning(
          'every admin API change makes Caddy load its whole config again, which closes idle kept-alive client connections: kept-alive clients sending at that instant lose their request (about 4 changes per update; measured in docs/proxy.md)',
          'set proxy.caddy.mode: router (your Caddy is then never changed by refit)',
        ),
      ];
      for (const s of sites) routes.set(s.route, [findRoutes(live, s.route) ? ok(`its site imports ${snippet(s.route)}`) : problem("no site of the running config imports refit's snippet", `import ${snippet(s.route)}   (in the site's block; then reload Caddy)`)]);
      return { findings, routes };
    },

    async missingRoutes(routes) {
      const live = await config();
      await upstreamLoad(o.adminUrl).catch((err: Error) => {
        throw new RefitError('proxy', `Caddy's admin API has no /reverse_proxy/upstreams (${err.message}): refit's drain needs it`, 'use Caddy 2.6 (Debian 12) or newer');
      });
      const missing = new Map<string, string>();
      for (const route of routes) {
        if (!findRoutes(live, route)) missing.set(route, `Caddy's running config has no route of refit's snippet for ${route}: add \`import ${snippet(route)}\` to the site's block in the Caddyfile and reload Caddy`);
      }
      return missing;
    },

    async push(sites) {
      for (const site of sites) {
        writeSnippet(site);
        const found = findRoutes(await config(), site.route);
        if (!found) throw new RefitError('proxy', `Caddy's running config lost the routes of ${site.route}`, 'run `refit proxy doctor`');
        const want = upstreamsOf(site);
        if (!sameUpstreams(liveUpstreams(found), want)) await admin('PATCH', toPath(found.path), withUpstreams(found, want));
      }
    },

    async inFlight(_site, up) {
      return (await upstreamLoad(o.adminUrl)).get(`${up.ip}:${up.port}`) ?? 0;
    },

    async list(site): Promise<UpstreamState[]> {
      const found = findRoutes(await config(), site.route);
      const live = found ? liveUpstreams(found) : { site: [], probe: [] };
      const load = await upstreamLoad(o.adminUrl);
      return site.servers.map(({ name, ip, port }) => {
        const at = `${ip}:${port}`;
        const state = live.site.includes(at) ? 'ready' : live.probe.includes(at) ? 'drain' : 'maint';
        return { name, ip, port, state, sessions: load.get(at) ?? 0 };
      });
    },

    pin: (_site, s) => ({ server: `${s.ip}:${s.port}`, servedBy: `${s.ip}:${s.port}` }),

    async drifted(sites) {
      const live = await config();
      return sites.some((site) => {
        const found = findRoutes(live, site.route);
        return found !== null && !sameUpstreams(liveUpstreams(found), upstreamsOf(site));
      });
    },
  };
  return guestProxy(o, driver);
}
