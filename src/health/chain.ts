/**
 * @module health/chain
 * Walks one redirect chain: sends a request, and while the answer is a redirect that the
 * verdict rules allow, sends the next one to the same ip:port. Stops on a final answer, a
 * foreign host (which fails the whole check), a loop, or the hop cap.
 */
import { decideRedirect, REDIRECT_STATUSES, type ChainPosition } from './verdict.js';
import type { HealthRequest, HealthTarget } from './types.js';

/** Sends one request to the target; a failed connection is a request with `error` set. */
export type Send = (at: ChainPosition) => Promise<{ request: HealthRequest; body: Buffer }>;

interface Walked {
  requests: HealthRequest[];
  /** URLs followed after the first request. */
  redirects: string[];
}

export type ChainResult =
  | (Walked & { kind: 'answer'; status: number; body: Buffer; truncated: boolean })
  /** No final answer for this attempt: no connection, timeout, loop, too many hops, bad Location. */
  | (Walked & { kind: 'failed'; reason: string })
  /** Redirected off the site's hosts: the whole check must fail now. */
  | (Walked & { kind: 'foreign'; reason: string });

export async function followChain(target: HealthTarget, start: ChainPosition, maxRedirects: number, send: Send): Promise<ChainResult> {
  const walked: Walked = { requests: [], redirects: [] };
  const seen = new Set<string>();
  let at = start;
  for (;;) {
    seen.add(key(at));
    const { request, body } = await send(at);
    walked.requests.push(request);
    if (request.status === null) return { ...walked, kind: 'failed', reason: request.error ?? 'no answer' };
    if (!REDIRECT_STATUSES.has(request.status)) {
      return { ...walked, kind: 'answer', status: request.status, body, truncated: request.truncated };
    }
    const next = decideRedirect(target, at, request.location);
    if (next.kind === 'unusable') return { ...walked, kind: 'failed', reason: `${request.status} ${next.reason}` };
    if (next.kind === 'foreign') {
      const own = target.vhosts.length ? target.vhosts.join(', ') : `only ${target.ip}, as the site has no vhosts`;
      return {
        ...walked,
        kind: 'foreign',
        reason: `${request.status} redirect to ${next.url}: ${next.host} is not one of the site's hosts (${own}); following it would check another site, so the check fails without further attempts`,
      };
    }
    if (seen.has(key(next.next))) return { ...walked, kind: 'failed', reason: `${request.status} redirect loop: back to ${next.url}, already requested in this chain` };
    if (walked.redirects.length >= maxRedirects) {
      return { ...walked, kind: 'failed', reason: `${request.status} redirect to ${next.url} would be hop ${maxRedirects + 1}, over health.maxRedirects (${maxRedirects})` };
    }
    walked.redirects.push(next.url);
    at = next.next;
  }
}

// Host is compared case-insensitively, as the verdict rules match hosts.
const key = (at: ChainPosition) => `${at.https ? 'https' : 'http'}://${at.host.toLowerCase()}${at.path}`;
