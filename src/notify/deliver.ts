/**
 * @module notify/deliver
 * Sends one JSON body to one webhook with undici, retrying per notify/retry. Never throws:
 * the outcome is a value the notifier logs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { nextTry, parseRetryAfter, type RetryRules, type TryOutcome } from './retry.js';

export interface DeliveryOptions extends RetryRules {
  /** Per try: connect, headers and body. */
  timeoutMs: number;
  /** Aborts waiting between tries (flush gave up); the in-flight try still ends by its timeout. */
  signal?: AbortSignal;
}

export type Delivery = { delivered: true; tries: number } | { delivered: false; tries: number; reason: string };

export async function deliver(url: string, payload: unknown, opts: DeliveryOptions): Promise<Delivery> {
  const started = Date.now();
  const body = JSON.stringify(payload);
  for (let tries = 1; ; tries++) {
    const outcome = await tryOnce(url, body, opts.timeoutMs);
    const next = nextTry(outcome, tries, Date.now() - started, opts);
    if (!next.retry) return next.reason === null ? { delivered: true, tries } : { delivered: false, tries, reason: next.reason };
    try {
      await sleep(next.delayMs, undefined, { signal: opts.signal });
    } catch {
      return { delivered: false, tries, reason: 'stopped waiting to retry: refit was exiting' };
    }
  }
}

async function tryOnce(url: string, body: string, timeoutMs: number): Promise<TryOutcome> {
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'refit' },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Read the answer to the end so the connection can be reused; its content does not matter.
    await res.body.dump({ limit: 64 * 1024 });
    const retryAfter = res.headers['retry-after'];
    return { kind: 'status', status: res.statusCode, retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now()) };
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'error', message: `no answer within ${timeoutMs} ms` };
    return { kind: 'error', message: e.code ?? e.cause?.code ?? e.message ?? String(err) };
  }
}
