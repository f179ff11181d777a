/**
 * @module proxy/nginx-guest/render
 * The files refit owns in the operator's nginx include dir (pure): one per managed site, and
 * one for the probe answer header shared by all sites.
 *
 * A site's file defines its `upstream <route>` (the servers in rotation, kept-alive) and the
 * variable `$<route as a variable>` that the operator's location proxies to: the upstream,
 * or, for refit's own probe (its secret header, checked in the probe file), the one server the
 * probe names. The site files hold no secret.
 */
import { inRotation, type SiteEntry } from '../state.js';

export const PROBE_FILE = 'refit-probe.conf';
export const siteFile = (route: string) => `${route}.conf`;
/** The nginx variable of a route: `refit_shop.web` -> `refit_shop_web`. */
export const routeVariable = (route: string) => route.replace(/[^A-Za-z0-9_]/g, '_');

/** Where an upstream with no server in rotation points: marked down, so nginx answers 502 at once. */
const NOWHERE = '127.0.0.1:9 down';

const HEAD = '# Written by refit (proxy.type nginx-guest); edits are overwritten.';

export function renderProbeFile(token: string): string {
  return [
    HEAD,
    // A regex, not a hash key: the secret is longer than the operator's map_hash_bucket_size may allow.
    `map $http_x_refit_probe $refit_probe { "~^${token}$" 1; default ""; }`,
    // The answer names the server only to refit's probes.
    'map $refit_probe $refit_served_by { 1 $upstream_addr; default ""; }',
    '',
  ].join('\n');
}

export function renderSiteFile(route: string, site: SiteEntry): string {
  const servers = inRotation(site);
  const pins = servers.map((s) => `    "1:${s.ip}:${s.port}" ${s.ip}:${s.port};`);
  return [
    `${HEAD} Site ${site.id}.`,
    `upstream ${route} {`,
    ...(servers.length ? servers.map((s) => `    server ${s.ip}:${s.port} max_fails=1 fail_timeout=5s;`) : [`    server ${NOWHERE};`]),
    '    keepalive 16;',
    // Shorter than any app server's own keep-alive timeout, so the app never closes under nginx.
    '    keepalive_timeout 30s;',
    '}',
    `map "$refit_probe:$http_x_refit_probe_server" $${routeVariable(route)} {`,
    `    default ${route};`,
    ...pins,
    '}',
    '',
  ].join('\n');
}

/** Does the operator's full config (`nginx -T`) proxy some location to the route's variable? */
export function proxiesTo(fullConfig: string, route: string): boolean {
  return new RegExp(`^\\s*proxy_pass\\s+http://\\$${routeVariable(route)}\\s*;`, 'm').test(fullConfig);
}

/** Does the operator's full config include refit's files (`include <dir>/*.conf;`)? */
export function includesDir(fullConfig: string, dir: string): boolean {
  const escaped = dir.replace(/\/+$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\s*include\\s+["']?${escaped}/\\*\\.conf["']?\\s*;`, 'm').test(fullConfig);
}
