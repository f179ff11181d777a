import { describe, expect, it } from 'vitest';
import { nextTry, parseRetryAfter, type RetryRules } from './retry.js';

const rules: RetryRules = { attempts: 4, baseDelayMs: 100, deadlineMs: 10_000 };
const fail = { kind: 'status', status: 503 } as const;

describe('nextTry', () => {
  it('stops with no reason on 2xx', () => {
    expect(nextTry({ kind: 'status', status: 204 }, 1, 0, rules)).toEqual({ retry: false, reason: null });
  });

  it('backs off exponentially on 5xx and network errors', () => {
    expect(nextTry(fail, 1, 0, rules)).toEqual({ retry: true, delayMs: 100 });
    expect(nextTry(fail, 2, 100, rules)).toEqual({ retry: true, delayMs: 200 });
    expect(nextTry({ kind: 'error', message: 'ECONNREFUSED' }, 3, 300, rules)).toEqual({ retry: true, delayMs: 400 });
  });

  it('gives up after the last attempt', () => {
    expect(nextTry(fail, 4, 700, rules)).toEqual({ retry: false, reason: 'HTTP 503 after 4 tries' });
  });

  it('gives up when the next try would start past the deadline', () => {
    expect(nextTry(fail, 2, 9_900, rules)).toEqual({ retry: false, reason: 'HTTP 503 after 2 tries; the next would start past the 10000 ms deadline' });
  });

  it('does not retry a request the receiver rejects', () => {
    expect(nextTry({ kind: 'status', status: 404 }, 1, 0, rules)).toEqual({ retry: false, reason: 'HTTP 404, which retrying cannot fix' });
  });

  it('honours Retry-After on 429 when it asks for longer than the backoff', () => {
    expect(nextTry({ kind: 'status', status: 429, retryAfterMs: 2_000 }, 1, 0, rules)).toEqual({ retry: true, delayMs: 2_000 });
    expect(nextTry({ kind: 'status', status: 429, retryAfterMs: 60_000 }, 1, 0, rules).retry).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', 0)).toBe(3_000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4_000)).toBe(6_000);
    expect(parseRetryAfter(undefined, 0)).toBeNull();
    expect(parseRetryAfter('soon', 0)).toBeNull();
  });
});
