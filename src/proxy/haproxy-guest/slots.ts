/**
 * @module proxy/haproxy-guest/slots
 * The server slots of the operator's backends (pure): which `show stat` rows are refit's
 * slots (`<slotPrefix>N`, as `server-template <slotPrefix> 1-N …` declares them), which slot
 * each server sits in, and whether the running HAProxy has what this mode needs.
 */
import { RefitError } from '../../errors.js';
import type { ServerStat } from '../haproxy/runtime.js';
import type { ServerEntry, SiteEntry } from '../state.js';

export type Slot = ServerStat;

/**
 * The slot declaration refit asks operators for. A name, not an address, with `init-addr last`:
 * HAProxy restores a server's address from the server state file (at a reload or restart) only
 * for a server declared by name; `.invalid` never resolves, and 127.0.0.1 is only the address
 * of a slot nobody uses yet.
 */
export const slotTemplate = (prefix: string, count = 4) => `server-template ${prefix} 1-${count} refit.invalid:9 disabled check init-addr last,127.0.0.1`;

/** The rows of refit's slots, in slot order (refit1, refit2, … refit10). */
export function slotsOf(rows: ServerStat[], prefix: string): Slot[] {
  const pattern = new RegExp(`^${prefix.replace(/[-]/g, '\\-')}(\\d+)$`);
  const n = (r: ServerStat) => Number(pattern.exec(r.name)?.[1]);
  return rows.filter((r) => pattern.test(r.name)).sort((a, b) => n(a) - n(b));
}

/** Every server keeps its slot; a new one gets the first slot nobody holds; none free is an error that says how to get more. */
export function assignSlots(site: SiteEntry, route: string, slots: string[]): SiteEntry {
  const taken = new Set(site.servers.flatMap((s) => (s.slot ? [s.slot] : [])));
  const servers = site.servers.map((s): ServerEntry => {
    if (s.slot) return s;
    const free = slots.find((slot) => !taken.has(slot));
    if (!free) {
      throw new RefitError('proxy', `backend ${route} has no free server slot for ${s.name}: its ${slots.length} slot(s) are all taken`, `declare more in the operator's haproxy.cfg (server-template … 1-${slots.length + 2} …) and reload HAProxy`);
    }
    taken.add(free);
    return { ...s, slot: free };
  });
  return { ...site, servers };
}

/** [major, minor] of a HAProxy version string such as `2.6.12-1+deb12u4`; null when it is not one. */
export function haproxyVersion(version: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

const atLeast = (v: [number, number], major: number, minor: number) => v[0] > major || (v[0] === major && v[1] >= minor);

/** Why this HAProxy cannot host refit at all, or null. */
export function versionProblem(version: string): string | null {
  const v = haproxyVersion(version);
  if (!v) return `cannot tell its version from ${JSON.stringify(version)}`;
  // server-template and `set server … addr … port` arrived in 1.8; older ones are long out of support.
  if (!atLeast(v, 2, 0)) return `HAProxy ${version} is too old: refit needs 2.0 or newer (server-template slots, \`set server … addr … port\`, server state files)`;
  return null;
}

/** Why the operator's own reloads can drop requests on kept-alive connections, or null. */
export function reloadProblem(version: string): string | null {
  const v = haproxyVersion(version);
  if (v && !atLeast(v, 2, 6)) return `HAProxy ${version} closes idle kept-alive connections at every reload, so a client sending at that instant loses its request; 2.6 and newer avoid it with \`option idle-close-on-response\``;
  return null;
}
