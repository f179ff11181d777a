import { describe, expect, it } from 'vitest';
import { nextStep } from './retry.js';

const rules = { retries: 2, baseDelayMs: 100, maxRetryAfterMs: 5000 };
const status = (s: number, retryAfterMs: number | null = null) => ({ kind: 'status', status: s, retryAfterMs }) as const;

describe('nextStep', () => {
  it('backs off exponentially on 5xx, network errors and timeouts, then gives up', () => {
    expect(nextStep(0, status(503), rules)).toEqual({ retry: true, delayMs: 100 });
    expect(nextStep(1, { kind: 'network', detail: 'ECONNRESET' }, rules)).toEqual({ retry: true, delayMs: 200 });
    expect(nextStep(2, { kind: 'timeout' }, rules)).toEqual({ retry: false, why: 'gave up after 3 attempts' });
  });
  it('answers other statuses at once and never retries fatal errors', () => {
    expect(nextStep(0, status(200), rules)).toEqual({ retry: false, why: null });
    expect(nextStep(0, status(404), rules)).toEqual({ retry: false, why: null });
    expect(nextStep(0, { kind: 'fatal' }, rules)).toEqual({ retry: false, why: null });
  });
  it('waits as long as Retry-After says, within the bound', () => {
    expect(nextStep(0, status(429, 1500), rules)).toEqual({ retry: true, delayMs: 1500 });
    expect(nextStep(0, status(429), rules)).toEqual({ retry: true, delayMs: 100 });
    expect(nextStep(0, status(429, 3_600_000), rules)).toEqual({ retry: false, why: 'asks to wait 3600 s (Retry-After), more than the 5 s refit waits' });
    expect(nextStep(2, status(429, 10), rules)).toEqual({ retry: false, why: 'still rate-limited after 3 attempts' });
  });
});
