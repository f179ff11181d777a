/**
 * @module health/verdict
 * What an HTTP answer means for a site's health (SPEC.md, "Health check"). Pure: which Host
 * to send, whether a redirect may be followed and where to, whether the custom endpoint's
 * answer is healthy, and whether a run of attempts has passed, failed or may go on.
 */
import { isIP } from 'node:net';
import type { HealthTarget } from './types.js';

/** Where a request in a redirect chain goes: always the target's ip:port, with this Host and path. */
export interface ChainPosition {
  host: string;
  /** Path and query. */
  path: string;
  /** The chain reached an https:// URL: send X-Forwarded-Proto/-SSL as the TLS proxy would. */
  https: boolean;
}

export type Judgement = { passed: true } | { passed: false; reason: string };

export type RedirectDecision =
  | { kind: 'follow'; next: ChainPosition; url: string }
  /** Another site's host: checking it would check someone else's app, so the whole check fails. */
  | { kind: 'foreign'; url: string; host: string }
  /** A redirect that cannot be followed (no Location, bad URL, other scheme): this attempt fails. */
  | { kind: 'unusable'; reason: string };

export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * The Host header of a check's first request: the preferred (first) vhost. A wildcard vhost
 * cannot be sent as a Host, so the first literal one wins, and a site with only wildcards is
 * asked as `www.` under the first. No vhosts: the IP (with the port unless it is 80), which is
 * what a client reaching the container by address would send.
 */
export function preferredHost(target: HealthTarget): string {
  const literal = target.vhosts.find((h) => !h.startsWith('*.'));
  if (literal) return literal;
  const wildcard = target.vhosts[0];
  if (wildcard) return `www${wildcard.slice(1)}`;
  const ip = isIP(target.ip) === 6 ? `[${target.ip}]` : target.ip;
  return target.port === 80 ? ip : `${ip}:${target.port}`;
}

export function startOf(target: HealthTarget, path: string): ChainPosition {
  return { host: preferredHost(target), path, https: false };
}

/**
 * Whether a hostname (as the WHATWG URL parser gives it: lower-case, IPv6 in brackets) is one
 * of the site's own: a vhost, compared case-insensitively, `*.x` matching any name below x.
 * A site without vhosts owns only its IP.
 */
export function ownsHost(target: HealthTarget, hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (target.vhosts.length === 0) return name.replace(/^\[|\]$/g, '') === target.ip.toLowerCase();
  return target.vhosts.some((vhost) => {
    const v = vhost.toLowerCase().replace(/\.$/, '');
    return v.startsWith('*.') ? name.endsWith(v.slice(1)) && name.length > v.length - 1 : name === v;
  });
}

/**
 * Where a redirect from `from` leads. Relative locations resolve against the current URL (so
 * they stay on the current host and scheme); the port in a location is ignored because every
 * request goes to the container's own ip:port; an https:// target is re-sent over HTTP with
 * the forwarded headers, and once a chain is https it stays so.
 */
export function decideRedirect(target: HealthTarget, from: ChainPosition, location: string | undefined): RedirectDecision {
  if (location === undefined || location.trim() === '') return { kind: 'unusable', reason: 'redirect without a Location header' };
  let url: URL;
  try {
    url = new URL(location.trim(), `${from.https ? 'https' : 'http'}://${from.host}${from.path}`);
  } catch {
    return { kind: 'unusable', reason: `redirect to ${JSON.stringify(location)}, which is not a URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { kind: 'unusable', reason: `redirect to ${url.protocol} URL ${url.href}, which is not HTTP` };
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}${url.search}`;
  if (!ownsHost(target, url.hostname)) return { kind: 'foreign', url: shown, host: url.hostname };
  return {
    kind: 'follow',
    url: shown,
    next: { host: url.host, path: `${url.pathname}${url.search}`, https: from.https || url.protocol === 'https:' },
  };
}

/** The default endpoint (`/`): healthy on 200 and nothing else. */
export function judgeDefault(status: number): Judgement {
  return status === 200 ? { passed: true } : { passed: false, reason: `answered ${status}, not 200` };
}

/**
 * The custom endpoint, once it answered something other than 404: healthy only on 200 with a
 * JSON object whose `status` is exactly "healthy".
 */
export function judgeCustom(answer: { status: number; body: Buffer; truncated: boolean }): Judgement {
  if (answer.status !== 200) return { passed: false, reason: `answered ${answer.status}, not 200` };
  if (answer.truncated) return { passed: false, reason: `answered 200 with a body larger than the ${answer.body.length}-byte cap (health.maxBodyBytes)` };
  const text = answer.body.toString('utf8').replace(/^\uFEFF/, '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { passed: false, reason: `answered 200 with a body that is not JSON: ${excerpt(text)}` };
  }
  const status = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>).status : undefined;
  if (status === 'healthy') return { passed: true };
  return {
    passed: false,
    reason: status === undefined ? `answered 200 with JSON without a "status" field: ${excerpt(text)}` : `answered 200 with status ${JSON.stringify(status)}, not "healthy"`,
  };
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > 80 ? `${flat.slice(0, 80)}…` : flat);
}

export type Standing = 'healthy' | 'continue' | 'give-up';

/**
 * After some attempts (true = passed, oldest first): healthy once the last `successThreshold`
 * passed in a row; give up when the attempts are used up or the rest could no longer make a
 * long enough run.
 */
export function standing(passes: boolean[], attempts: number, successThreshold: number): Standing {
  let streak = 0;
  while (streak < passes.length && passes[passes.length - 1 - streak]) streak++;
  if (streak >= successThreshold) return 'healthy';
  const left = attempts - passes.length;
  return streak + left >= successThreshold && left > 0 ? 'continue' : 'give-up';
}
