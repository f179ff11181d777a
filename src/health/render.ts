/**
 * @module health/render
 * A verdict as text for operators: the outcome first, then every attempt with each request
 * it made (Host, forwarded https, status or error, redirect target) and why it failed.
 */
import type { Attempt, HealthRequest, Verdict } from './types.js';

export function renderVerdict(v: Verdict): string[] {
  const n = v.attempts.length;
  const head = v.healthy ? `healthy after ${n} attempt${n === 1 ? '' : 's'}` : `unhealthy: ${v.reason}`;
  return [head, ...v.attempts.flatMap(renderAttempt)];
}

function renderAttempt(a: Attempt): string[] {
  const lines = [`  #${a.number} ${a.passed ? 'passed' : 'failed'} in ${a.durationMs} ms (decided by ${a.decidedBy === 'custom' ? 'the custom endpoint' : 'GET /'})`];
  lines.push(...a.requests.map((r) => `     ${renderRequest(r)}`));
  if (a.reason) lines.push(`     why: ${a.reason}`);
  return lines;
}

function renderRequest(r: HealthRequest): string {
  const https = r.forwardedHttps ? ' +X-Forwarded-Proto: https' : '';
  const outcome = r.status === null ? (r.error ?? 'no answer') : `${r.status}${r.location !== undefined ? ` -> ${r.location}` : ''}${r.truncated ? ` (body cut at ${r.bodyBytes} bytes)` : ''}`;
  return `GET ${r.path} Host ${r.host}${https}: ${outcome} [${r.durationMs} ms]`;
}
