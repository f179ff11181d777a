/**
 * @module proxy/haproxy/slots
 * HAProxy backends hold pre-declared server slots (`s1`, `s2`, …) instead of servers added at
 * run time: a slot is an ordinary config line, so it can carry health checks and be the target
 * of `use-server` (refit's probes pin a request to one server that way), and the runtime API
 * only changes its address and state. Which container sits in which slot is kept in the proxy
 * state (pure functions here); a backend always has a free slot for the next server, so only
 * a site that grows past its slots needs a reload.
 */
import type { ProxyState, ServerEntry, SiteEntry } from '../state.js';

const PREFIX = 's';
export const slotName = (n: number) => `${PREFIX}${n}`;
const indexOf = (slot: string) => Number(slot.slice(PREFIX.length));

/** Slots rendered for a site: one more than it has servers (at least two), and never fewer than it uses. */
export function slotCount(site: SiteEntry): number {
  const highest = Math.max(0, ...site.servers.map((s) => (s.slot ? indexOf(s.slot) : 0)));
  return Math.max(2, site.servers.length + 1, highest);
}

/** Every server gets a slot: the one it had, else the lowest free one. */
export function withSlots(state: ProxyState): ProxyState {
  return {
    sites: state.sites.map((site) => {
      const taken = new Set(site.servers.flatMap((s) => (s.slot ? [s.slot] : [])));
      const servers = site.servers.map((s): ServerEntry => {
        if (s.slot) return s;
        let n = 1;
        while (taken.has(slotName(n))) n++;
        taken.add(slotName(n));
        return { ...s, slot: slotName(n) };
      });
      return { ...site, servers };
    }),
  };
}

/** The server occupying each rendered slot of the site (undefined: free). */
export function slotTable(site: SiteEntry): { slot: string; server: ServerEntry | undefined }[] {
  return Array.from({ length: slotCount(site) }, (_, i) => {
    const slot = slotName(i + 1);
    return { slot, server: site.servers.find((s) => s.slot === slot) };
  });
}
