/**
 * @module health/check
 * `checkHealth`: proves a container healthy exactly as the proxy would reach it (SPEC.md,
 * "Health check"). Each attempt asks the custom endpoint first; when that answers 404 the site
 * has none and `GET /` decides. Attempts repeat after an interval until the success threshold
 * is met, the attempts run out, or a redirect leaves the site's hosts (which ends it at once).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { followChain, type ChainResult, type Send } from './chain.js';
import { probe } from './probe.js';
import type { Attempt, Endpoint, HealthOptions, HealthRequest, HealthTarget, Verdict } from './types.js';
import { judgeCustom, judgeDefault, standing, startOf } from './verdict.js';

/**
 * Runs the check. Resolves with the verdict whatever the container does; rejects only with
 * `signal.reason` when the caller aborts.
 */
export async function checkHealth(target: HealthTarget, options: HealthOptions, signal?: AbortSignal): Promise<Verdict> {
  // Only the custom endpoint's JSON is kept; `/` is judged on its status alone.
  const sendFor =
    (endpoint: Endpoint): Send =>
    (at) =>
      probe(
        {
          ip: target.ip,
          port: target.port,
          path: at.path,
          host: at.host,
          forwardedHttps: at.https,
          connectTimeoutMs: options.connectTimeoutMs,
          responseTimeoutMs: options.responseTimeoutMs,
          maxBodyBytes: options.maxBodyBytes,
          keepBody: endpoint === 'custom',
        },
        signal,
      );
  const attempts: Attempt[] = [];
  for (;;) {
    signal?.throwIfAborted();
    const { attempt, foreign } = await runAttempt(attempts.length + 1, target, options.maxRedirects, sendFor);
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

async function runAttempt(number: number, target: HealthTarget, maxRedirects: number, sendFor: (endpoint: Endpoint) => Send): Promise<{ attempt: Attempt; foreign?: string }> {
  const started = performance.now();
  const { endpoint, chain, requests } = await decidingChain(target, maxRedirects, sendFor);
  const first = chain.requests[0]!;
  const judged = chain.kind === 'answer' ? (endpoint === 'custom' ? judgeCustom(chain) : judgeDefault(chain.status)) : { passed: false as const, reason: chain.reason };
  const last = chain.requests[chain.requests.length - 1]!;
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

function giveUpReason(attempts: Attempt[], options: HealthOptions): string {
  const n = attempts.length;
  const lastFailure = [...attempts].reverse().find((a) => !a.passed)?.reason ?? 'unknown';
  const tries = `${n} attempt${n === 1 ? '' : 's'}`;
  if (options.successThreshold <= 1) return `not healthy after ${tries}; last: ${lastFailure}`;
  return `did not pass ${options.successThreshold} attempts in a row within ${options.attempts} (stopped after ${tries}); last failure: ${lastFailure}`;
}
