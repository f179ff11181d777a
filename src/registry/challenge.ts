/**
 * @module registry/challenge
 * Reading the registry's HTTP answers that steer the client: the `WWW-Authenticate`
 * challenge (Bearer token service or Basic), the `Link` header of a paginated tag list, and
 * `Retry-After`. Pure header parsing.
 */

export type Challenge =
  | { scheme: 'bearer'; realm: string; service: string | null; scope: string | null }
  | { scheme: 'basic'; realm: string | null }
  | { scheme: 'unknown'; raw: string };

/** Parses one challenge; registries send exactly one (RFC 7235 allows more, none use it here). */
export function parseChallenge(header: string): Challenge {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  const scheme = m?.[1]?.toLowerCase();
  const params = parseParams(m?.[2] ?? '');
  if (scheme === 'bearer' && params.realm) {
    return { scheme: 'bearer', realm: params.realm, service: params.service ?? null, scope: params.scope ?? null };
  }
  if (scheme === 'basic') return { scheme: 'basic', realm: params.realm ?? null };
  return { scheme: 'unknown', raw: header };
}

function parseParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return out;
}

/** The `rel="next"` target of a Link header, resolved against the URL that returned it. */
export function nextLink(header: string | null, base: string): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/s.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2]!)) return new URL(m[1]!, base).toString();
  }
  return null;
}

/** Milliseconds to wait from a `Retry-After` header (seconds or HTTP date), or null when absent/unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (!header) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
