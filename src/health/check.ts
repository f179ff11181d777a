/**
 * @module health/check
 * `checkHealth`: proves a container healthy exactly as the proxy would reach it (SPEC.md,
 * "Health check"). Each attempt asks the custom endpoint first; when that answers 404 the site
 * has none and `GET /` decides. Attempts repeat after an interval until the success threshold
 * is met, the attempts run out, or a redirect leaves the site's hosts (which ends it at once).
 *
 * Before the first attempt, the check waits for the container's port to accept connections, at
 * most one interval (port.ts): a container that has just started does not spend its first
 * attempt, and the interval after it, on an app still starting.
 *
 * `checkThroughProxy`: the same rules from outside, through the proxy's public listeners (HTTP,
 * and HTTPS where the site has a certificate) with the site's vhosts, each request pinned to
 * one server; an answer counts only when the proxy says that server gave it.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { followChain, type ChainResult, type Send } from './chain.js';
import { untilAccepting } from './port.js';
import { probe } from './probe.js';
import type { ProbeRoute } from '../proxy/types.js';
import type { Attempt, Endpoint, HealthOptions, HealthRequest, HealthTarget, Verdict } from './types.js';
import { judgeCustom, judgeDefault, standing, startOf } from './verdict.js';

/**
 * Runs the check. Resolves with the verdict whatever the container does; rejects only with
 * `signal.reason` when the caller aborts.
 */
export async function checkHealth(target: HealthTarget, options: HealthOptions, signal?: AbortSignal): Promise<Verdict> {
  // A container that has just started: wait (at most one interval) for its port before the first attempt.
  const port = await untilAccepting(target.ip, target.port, options.intervalMs, signal);
  const verdict = await attemptsUntilDecided(target, options, null, signal);
  return { ...verdict, portWaitMs: port.waitedMs };
}

/** Proves `target`'s site served by one server through the proxy's public listeners (the route pins and names it). */
export async function checkThroughProxy(site: Pick<HealthTarget, 'vhosts' | 'healthPath'>, route: ProbeRoute, options: HealthOptions, signal?: AbortSignal): Promise<Verdict> {
  return attemptsUntilDecided({ ip: route.http.ip, port: route.http.port, ...site }, options, route, signal);
}

async function attemptsUntilDecided(target: HealthTarget, options: HealthOptions, route: ProbeRoute | null, signal?: AbortSignal): Promise<Verdict> {
  // Only the custom endpoint's JSON is kept; `/` is judged on its status alone.
  const sendFor =
    (endpoint: Endpoint): Send =>
    async (at) => {
      const common = {
        path: at.path,
        host: at.host,
        connectTimeoutMs: options.connectTimeoutMs,
        responseTimeoutMs: options.responseTimeoutMs,
        maxBodyBytes: options.maxBodyBytes,
        keepBody: endpoint === 'custom',
      };
      if (!route) return probe({ ...common, ip: target.ip, port: target.port, forwardedHttps: at.https }, signal);
      // Through the proxy: https:// positions go to its TLS listener, which sets the forwarded headers itself.
      const listener = at.https ? route.https : route.http;
      if (!listener) return noTlsListener(at.host, at.path);
      const servername = at.host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
      return probe(
        { ...common, ip: listener.ip, port: listener.port, forwardedHttps: false, headers: route.headers, servedByHeader: route.servedBy.header, ...(at.https ? { tls: { servername } } : {}) },
        signal,
      );
    };
  const attempts: Attempt[] = [];
  for (;;) {
    signal?.throwIfAborted();
    const { attempt, foreign } = await runAttempt(attempts.length + 1, target, options.maxRedirects, sendFor, route);
    attempts.push(attempt);
    if (foreign) return { healthy: false, reason: foreign, attempts };
    const now = standing(
      attempts.map((a) => a.passed),
      options.attempts,
      options.successThreshold,
    );
    if (now === 'healthy') return { healthy: true, attempts };
    if (now === 'give-up') return { healthy: false, reason: giveUpReason(attempts, options), attempts };
    await sleep(options.intervalMs, undefined, { signal }).catch(() => signal?.throwIfAborted());
  }
}

function noTlsListener(host: string, path: string): { request: HealthRequest; body: Buffer } {
  const error = `the site sends clients to https://${host} but the proxy has no certificate for it (no HTTPS listener to check)`;
  return { request: { path, host, forwardedHttps: true, status: null, durationMs: 0, bodyBytes: 0, truncated: false, error }, body: Buffer.alloc(0) };
}

async function runAttempt(number: number, target: HealthTarget, maxRedirects: number, sendFor: (endpoint: Endpoint) => Send, route: ProbeRoute | null): Promise<{ attempt: Attempt; foreign?: string }> {
  const started = performance.now();
  const { endpoint, chain, requests } = await decidingChain(target, maxRedirects, sendFor);
  const first = chain.requests[0]!;
  const last = chain.requests[chain.requests.length - 1]!;
  const answered = chain.kind === 'answer' ? (endpoint === 'custom' ? judgeCustom(chain) : judgeDefault(chain.status)) : { passed: false as const, reason: chain.reason };
  const judged = answered.passed && route ? judgeServedBy(last.servedBy, route) : answered;
  // What was asked, and where the redirects led, so the reason stands on its own in a report.
  const asked = `GET ${first.path} (Host ${first.host})${chain.redirects.length ? ` via ${chain.redirects.join(' -> ')}` : ''}`;
  const attempt: Attempt = {
    number,
    passed: judged.passed,
    decidedBy: endpoint,
    path: first.path,
    host: first.host,
    status: last.status,
    redirects: chain.redirects,
    durationMs: Math.round(performance.now() - started),
    ...(judged.passed ? {} : { reason: `${asked} ${judged.reason}` }),
    requests,
  };
  return chain.kind === 'foreign' ? { attempt, foreign: `${asked} ${chain.reason}` } : { attempt };
}

/** The custom endpoint's chain, or `/`'s when the custom one answered 404 (the site has none). */
async function decidingChain(target: HealthTarget, maxRedirects: number, sendFor: (endpoint: Endpoint) => Send): Promise<{ endpoint: Endpoint; chain: ChainResult; requests: HealthRequest[] }> {
  const custom = await followChain(target, startOf(target, target.healthPath), maxRedirects, sendFor('custom'));
  if (custom.kind !== 'answer' || custom.status !== 404) return { endpoint: 'custom', chain: custom, requests: custom.requests };
  const fallback = await followChain(target, startOf(target, '/'), maxRedirects, sendFor('default'));
  return { endpoint: 'default', chain: fallback, requests: [...custom.requests, ...fallback.requests] };
}

/** Through the proxy, an answer counts only when the proxy says the intended server gave it. */
function judgeServedBy(servedBy: string | null | undefined, route: ProbeRoute): { passed: true } | { passed: false; reason: string } {
  const want = route.servedBy.value;
  if (servedBy === want) return { passed: true };
  if (!servedBy) return { passed: false, reason: `answered, but not through refit's route to ${want} (no ${route.servedBy.header} header): is the proxy running refit's config?` };
  return { passed: false, reason: `answered by ${servedBy}, not by ${want}: the proxy does not route this site's requests to ${want}` };
}

function giveUpReason(attempts: Attempt[], options: HealthOptions): string {
  const n = attempts.length;
  const lastFailure = [...attempts].reverse().find((a) => !a.passed)?.reason ?? 'unknown';
  const tries = `${n} attempt${n === 1 ? '' : 's'}`;
  if (options.successThreshold <= 1) return `not healthy after ${tries}; last: ${lastFailure}`;
  return `did not pass ${options.successThreshold} attempts in a row within ${options.attempts} (stopped after ${tries}); last failure: ${lastFailure}`;
}
