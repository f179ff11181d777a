/**
 * @module proxy/haproxy/slots
 * HAProxy backends hold pre-declared server slots (`s1`, `s2`, …) instead of servers added at
 * run time: a slot is an ordinary config line, so it can carry health checks and be the target
 * of `use-server` (refit's probes pin a request to one server that way), and the runtime API
 * only changes its address and state. Which container sits in which slot is kept in the proxy
 * state (pure functions here). A backend has room for a maintenance's shadow and still one
 * free slot, and never gives a slot back (a smaller config would be a reload for nothing), so
 * only a site that grows past its slots needs a reload: every reload closes the kept-alive
 * client connections of every site, as the old worker answers their next request.
 */
import type { ProxyState, ServerEntry, SiteEntry } from '../state.js';

const PREFIX = 's';
export const slotName = (n: number) => `${PREFIX}${n}`;
const indexOf = (slot: string) => Number(slot.slice(PREFIX.length));

/** A site's container, its shadow during a maintenance, and one free slot. */
const MIN_SLOTS = 3;

/** Slots rendered for a site: one more than it has servers (at least three), and never fewer than it had or uses. */
export function slotCount(site: SiteEntry): number {
  const highest = Math.max(0, ...site.servers.map((s) => (s.slot ? indexOf(s.slot) : 0)));
  return Math.max(MIN_SLOTS, site.slots ?? 0, site.servers.length + 1, highest);
}

/** Every server gets a slot: the one it had, else the lowest free one; the site keeps its slot count. */
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
      return { ...site, servers, slots: slotCount({ ...site, servers }) };
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
