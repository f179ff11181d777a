/**
 * @module registry/retry
 * When to try a registry request again, and after how long: network errors, timeouts and
 * 5xx back off exponentially; 429 waits as long as `Retry-After` says, within a bound, so a
 * pass never hangs on a registry that asks for an hour. Pure.
 */

export type Outcome =
  | { kind: 'status'; status: number; retryAfterMs: number | null }
  | { kind: 'network'; detail: string }
  | { kind: 'timeout' }
  /** Retrying cannot help (an untrusted certificate, a refused plain-HTTP redirect). */
  | { kind: 'fatal' };

export interface RetryRules {
  /** Retries after the first attempt. */
  retries: number;
  baseDelayMs: number;
  /** Longest Retry-After refit is willing to honour. */
  maxRetryAfterMs: number;
}

export type Step = { retry: true; delayMs: number } | { retry: false; why: string | null };

/** `attempt` counts from 0 for the first try. */
export function nextStep(attempt: number, outcome: Outcome, rules: RetryRules): Step {
  const backoff = rules.baseDelayMs * 2 ** attempt;
  const left = attempt < rules.retries;
  if (outcome.kind === 'fatal') return { retry: false, why: null };
  if (outcome.kind === 'status') {
    if (outcome.status === 429) {
      const wait = outcome.retryAfterMs ?? backoff;
      if (wait > rules.maxRetryAfterMs) {
        return { retry: false, why: `asks to wait ${Math.ceil(wait / 1000)} s (Retry-After), more than the ${Math.ceil(rules.maxRetryAfterMs / 1000)} s refit waits` };
      }
      return left ? { retry: true, delayMs: wait } : { retry: false, why: `still rate-limited after ${attempt + 1} attempts` };
    }
    if (outcome.status < 500) return { retry: false, why: null };
  }
  return left ? { retry: true, delayMs: backoff } : { retry: false, why: `gave up after ${attempt + 1} attempts` };
}
