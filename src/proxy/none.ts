/**
 * @module proxy/none
 * `proxy.type: none`: an explicit opt-out. There is no proxy to move traffic with, so nothing
 * can be drained; zeroDowntime=false tells the engine to refuse zero-downtime steps. The
 * server-level calls succeed without effect and say so in the log line they return.
 */
import type { DrainResult, ProxyAdapter, ProxySite, Upstream, UpstreamState } from './types.js';

export const NO_PROXY_NOTE = 'proxy.type is none: refit does not control a proxy, so traffic is not moved and requests may fail while a container is recreated';

export function noProxy(log: (line: string) => void = () => undefined): ProxyAdapter {
  const skipped = (what: string) => log(`${what} skipped: ${NO_PROXY_NOTE}`);
  return {
    kind: 'none',
    zeroDowntime: false,
    async apply(sites: ProxySite[]) {
      skipped(`apply of ${sites.length} site(s)`);
    },
    async add(siteId: string, up: Upstream) {
      skipped(`add of ${up.name} to ${siteId}`);
    },
    async drain(siteId: string, up: Upstream): Promise<DrainResult> {
      skipped(`drain of ${up.name} from ${siteId}`);
      return { drained: false, waitedMs: 0, remainingSessions: 0 };
    },
    async remove(siteId: string, up: Upstream) {
      skipped(`remove of ${up.name} from ${siteId}`);
    },
    async list(): Promise<UpstreamState[]> {
      return [];
    },
    // No proxy: nothing public to probe, nothing to revive.
    probeRoute: async () => null,
    revive: async () => false,
    async stop() {},
  };
}
