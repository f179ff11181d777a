/**
 * @module proxy/adapter
 * The one entry point the rest of refit uses: `createProxy(config.proxy)` returns the adapter
 * for the configured proxy type. The contract is in types.ts.
 */
import type { ProxyConfig } from '../config/schema.js';
import { caddyProxy } from './caddy/caddy.js';
import { haproxyProxy } from './haproxy/haproxy.js';
import { haproxyGuestProxy } from './haproxy-guest/haproxy-guest.js';
import { nginxProxy } from './nginx/nginx.js';
import { nginxGuestProxy } from './nginx-guest/nginx-guest.js';
import { noProxy } from './none.js';
import type { ProxyAdapter } from './types.js';

export type { DrainOptions, DrainResult, ProxyAdapter, ProxyKind, ProxySite, ServerState, Upstream, UpstreamState } from './types.js';
export { siteIdOf, proxySitesOf, type ProxyPlan, type Skipped } from './sites.js';

export function createProxy(config: ProxyConfig, log?: (line: string) => void): ProxyAdapter {
  switch (config.type) {
    case 'haproxy':
      return haproxyProxy({ ...config.haproxy, serverTimeoutMs: config.serverTimeoutMs });
    case 'nginx':
      return nginxProxy({ ...config.nginx, serverTimeoutMs: config.serverTimeoutMs });
    case 'haproxy-guest':
      return haproxyGuestProxy(config.haproxyGuest);
    case 'nginx-guest':
      return nginxGuestProxy({ ...config.nginxGuest, serverTimeoutMs: config.serverTimeoutMs });
    case 'caddy':
      return caddyProxy({ ...config.caddy, serverTimeoutMs: config.serverTimeoutMs });
    case 'none':
      return noProxy(log);
  }
}
