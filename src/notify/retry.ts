/**
 * @module notify/retry
 * Whether to try a webhook again and after how long. Exponential backoff, bounded twice: by a
 * number of attempts and by a deadline over all of them, so a dead receiver costs a bounded
 * time at process exit (flush) and nothing at all during maintenance. Pure.
 */

export interface RetryRules {
  /** Tries in all, counting the first. */
  attempts: number;
  /** Delay after the first failure; doubles after each further one. */
  baseDelayMs: number;
  /** No try starts later than this after the first one. */
  deadlineMs: number;
}

/** What one try came back with. */
export type TryOutcome = { kind: 'status'; status: number; retryAfterMs?: number | null } | { kind: 'error'; message: string };

export type Next = { retry: true; delayMs: number } | { retry: false; reason: string | null };

/**
 * `tries` is how many tries were made so far (1 after the first), `elapsedMs` the time since
 * the first began. `reason` is null on success.
 */
export function nextTry(outcome: TryOutcome, tries: number, elapsedMs: number, rules: RetryRules): Next {
  if (outcome.kind === 'status' && outcome.status >= 200 && outcome.status < 300) return { retry: false, reason: null };
  const what = outcome.kind === 'status' ? `HTTP ${outcome.status}` : outcome.message;
  if (outcome.kind === 'status' && !retryable(outcome.status)) return { retry: false, reason: `${what}, which retrying cannot fix` };
  if (tries >= rules.attempts) return { retry: false, reason: `${what} after ${tries} tries` };
  const backoff = rules.baseDelayMs * 2 ** (tries - 1);
  const delayMs = outcome.kind === 'status' && outcome.retryAfterMs != null ? Math.max(outcome.retryAfterMs, backoff) : backoff;
  if (elapsedMs + delayMs > rules.deadlineMs) return { retry: false, reason: `${what} after ${tries} tries; the next would start past the ${rules.deadlineMs} ms deadline` };
  return { retry: true, delayMs };
}

/** 408 and 429 are "later, please"; other 4xx mean the request itself is wrong. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** `Retry-After` in seconds or as an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}
