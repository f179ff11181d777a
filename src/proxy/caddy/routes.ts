/**
 * @module proxy/caddy/routes
 * The Caddy side of a managed site, as text and as JSON (pure).
 *
 * The operator's Caddyfile imports one snippet per managed site (`import <snippetDir>/<route>.caddy`
 * in the site's block). refit writes the snippet: a probe route (matched by refit's secret and
 * the route name, pinned to the server the probe names, answering which server it was; it also
 * keeps the servers being drained referenced, so Caddy keeps counting their requests) and the
 * site's reverse proxy with the servers in rotation. In Caddy's running config refit finds the
 * pair again by the probe route's `X-Refit-Route` matcher and changes only their upstreams.
 */
import { inRotation, type SiteEntry } from '../state.js';

export const PROBE_DIAL = '{http.request.header.X-Refit-Probe-Server}';
/** Where a site with no server in rotation points: nothing listens there, Caddy answers 502. */
export const NOWHERE = '127.0.0.1:9';
export const snippetFile = (route: string) => `${route}.caddy`;

export interface Upstreams {
  /** The site's reverse proxy: the servers in rotation. */
  site: string[];
  /** The probe route: the pin placeholder first (lb_policy first), then the servers being drained. */
  probe: string[];
}

export function upstreamsOf(site: SiteEntry): Upstreams {
  const ready = inRotation(site).map((s) => `${s.ip}:${s.port}`);
  const draining = site.servers.filter((s) => s.state === 'drain').map((s) => `${s.ip}:${s.port}`);
  return { site: ready.length ? ready : [NOWHERE], probe: [PROBE_DIAL, ...draining] };
}

export function renderSnippet(route: string, site: SiteEntry, token: string): string {
  const u = upstreamsOf(site);
  return [
    `# Written by refit (proxy.type caddy) for site ${site.id}; edits are overwritten.`,
    `@${matcherName(route)} {`,
    `\theader X-Refit-Probe ${token}`,
    `\theader X-Refit-Route ${route}`,
    '}',
    `reverse_proxy @${matcherName(route)} ${u.probe.join(' ')} {`,
    '\tlb_policy first',
    '\theader_up -X-Refit-Probe',
    '\theader_up -X-Refit-Probe-Server',
    '\theader_up -X-Refit-Route',
    '\theader_down X-Refit-Server {http.reverse_proxy.upstream.hostport}',
    '}',
    `reverse_proxy ${u.site.join(' ')}`,
    '',
  ].join('\n');
}

const matcherName = (route: string) => `refit_probe_${route.replace(/[^A-Za-z0-9_]/g, '_')}`;

type Json = unknown;
interface Route {
  match?: { header?: Record<string, string[]> }[];
  handle?: { handler?: string; upstreams?: { dial?: string }[] }[];
}

/** Where a site's pair of routes sits in Caddy's config: the path of their `routes` array and the two indexes. */
export interface Found {
  path: (string | number)[];
  routes: Route[];
  probe: number;
  site: number;
}

/** Finds the site's probe route (by its X-Refit-Route matcher) and the reverse proxy after it; null when absent. */
export function findRoutes(config: Json, route: string): Found | null {
  const hits: Found[] = [];
  const walk = (node: Json, path: (string | number)[]) => {
    if (Array.isArray(node)) return node.forEach((child, i) => walk(child, [...path, i]));
    if (!node || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) {
      if (key === 'routes' && Array.isArray(child)) {
        const routes = child as Route[];
        routes.forEach((r, i) => {
          if (!r.match?.some((m) => m.header?.['X-Refit-Route']?.includes(route))) return;
          const site = routes.findIndex((s, j) => j > i && proxyOf(s) !== undefined);
          if (proxyOf(r) && site > i) hits.push({ path: [...path, key], routes, probe: i, site });
        });
      }
      walk(child, [...path, key]);
    }
  };
  walk(config, []);
  return hits.length === 1 ? hits[0]! : null;
}

const proxyOf = (r: Route) => r.handle?.find((h) => h.handler === 'reverse_proxy');

/** The upstreams Caddy runs for the site right now. */
export function liveUpstreams(found: Found): Upstreams {
  const dials = (r: Route) => (proxyOf(r)?.upstreams ?? []).map((u) => u.dial ?? '');
  return { site: dials(found.routes[found.site]!), probe: dials(found.routes[found.probe]!) };
}

/** The `routes` array with the site's two upstream lists replaced; nothing else changes. */
export function withUpstreams(found: Found, want: Upstreams): Route[] {
  const set = (r: Route, dials: string[]): Route => ({
    ...r,
    handle: r.handle?.map((h) => (h === proxyOf(r) ? { ...h, upstreams: dials.map((dial) => ({ dial })) } : h)),
  });
  return found.routes.map((r, i) => (i === found.site ? set(r, want.site) : i === found.probe ? set(r, want.probe) : r));
}

export const sameUpstreams = (a: Upstreams, b: Upstreams) => a.site.join(' ') === b.site.join(' ') && a.probe.join(' ') === b.probe.join(' ');
