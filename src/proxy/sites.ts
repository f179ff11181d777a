/**
 * @module proxy/sites
 * From discovered sites (site/discover.ts) to the proxy's site set (pure). All containers of
 * one Compose project + service form one proxy site; each running container is a server,
 * reached at its IP on the network the proxy uses. What cannot be routed is reported.
 */
import type { Site } from '../site/discover.js';
import type { ProxySite } from './types.js';

export interface Skipped {
  container: string;
  reason: string;
}

export interface ProxyPlan {
  sites: ProxySite[];
  skipped: Skipped[];
}

/** Stable and proxy-safe: `<project>.<service>`. Compose project names hold no ".", so the first "." splits them unambiguously. */
export function siteIdOf(site: { compose: Pick<Site['compose'], 'project' | 'service'> }): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '-');
  return `${clean(site.compose.project).replace(/\./g, '-')}.${clean(site.compose.service)}`;
}

/**
 * @param network the Docker network the proxy reaches containers on; without it, a
 *   container's first network with an IP (by name) is used.
 */
export function proxySitesOf(found: Site[], network?: string): ProxyPlan {
  const byId = new Map<string, ProxySite>();
  const skipped: Skipped[] = [];
  const owner = new Map<string, string>();
  for (const site of [...found].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!site.vhosts.length) {
      skipped.push({ container: site.name, reason: 'no refit.vhosts label: the proxy routes by Host, so it has nothing to route' });
      continue;
    }
    const id = siteIdOf(site);
    const entry = byId.get(id) ?? { id, vhosts: [], servers: [] };
    byId.set(id, entry);
    for (const vhost of site.vhosts) {
      const other = owner.get(vhost);
      if (other && other !== id) skipped.push({ container: site.name, reason: `vhost ${vhost} is already served by site ${other}; not routed here` });
      else if (!other) {
        owner.set(vhost, id);
        entry.vhosts.push(vhost);
      }
    }
    if (site.state !== 'running') {
      skipped.push({ container: site.name, reason: `not running (${site.state}): not a server until it runs` });
      continue;
    }
    const net = network ? site.networks.find((n) => n.name === network) : site.networks.find((n) => n.ip);
    if (!net?.ip) {
      skipped.push({ container: site.name, reason: network ? `not on the proxy network ${network}: connect it there` : 'has no IP on any Docker network' });
      continue;
    }
    entry.servers.push({ name: site.name, ip: net.ip, port: site.port });
  }
  return { sites: [...byId.values()].filter((s) => s.vhosts.length), skipped };
}
