/**
 * @module watch/judge
 * The watch's decision (pure): is the new version's 5xx rate worse than the old version's by
 * more than the rules allow? Judged only on enough requests, so that a quiet site is never
 * judged on three of them. A worse version is reverted as soon as the evidence is there; a
 * version is kept only once the whole window has passed.
 */
import type { ResponseCounts, WatchRules } from '../journal/types.js';

export type Judgment =
  /** Not enough seen yet, and the window is still open. */
  | { verdict: 'wait' }
  | { verdict: 'revert' | 'kept' | 'not-judged'; reason: string };

export interface JudgeInput {
  /** What the new version answered since the window began. */
  observed: ResponseCounts;
  /** What the old version answered before the switch; null when the proxy could not count it. */
  baseline: ResponseCounts | null;
  rules: WatchRules;
  /** The window has passed. */
  over: boolean;
  /** References, for the reason. */
  from: string;
  to: string;
}

export const rateOf = (c: ResponseCounts): number => (c.requests ? c.errors / c.requests : 0);
const pct = (rate: number) => `${(100 * rate).toFixed(1)}%`;
const points = (rate: number) => `${(100 * rate).toFixed(1)} points`;
const counted = (c: ResponseCounts) => `${c.errors} of ${c.requests} requests`;

/**
 * The old version's rate the new one is held to: its own, when it answered at least
 * minRequests before the switch; otherwise 0 (too few to know what it did).
 */
export function baselineRate(baseline: ResponseCounts | null, rules: WatchRules): number {
  return baseline && baseline.requests >= rules.minRequests ? rateOf(baseline) : 0;
}

export function judge(i: JudgeInput): Judgment {
  const { observed, rules } = i;
  if (observed.requests < rules.minRequests) {
    if (!i.over) return { verdict: 'wait' };
    return { verdict: 'not-judged', reason: `${i.to} answered ${observed.requests} request(s) in the ${windowText(rules.windowMs)} watch, fewer than the ${rules.minRequests} needed to judge it` };
  }
  const before = baselineRate(i.baseline, rules);
  const now = rateOf(observed);
  const against = i.baseline && i.baseline.requests >= rules.minRequests ? `${pct(before)} (${counted(i.baseline)}) on ${i.from} before the switch` : `0% (${i.baseline ? `${i.from} answered only ${i.baseline.requests} request(s) before the switch` : `the proxy did not count ${i.from} before the switch`})`;
  const numbers = `5xx rate ${pct(now)} (${counted(observed)}) on ${i.to}, against ${against}`;
  if (now - before > rules.maxIncrease) return { verdict: 'revert', reason: `${numbers}: more than ${points(rules.maxIncrease)} worse` };
  if (!i.over) return { verdict: 'wait' };
  return { verdict: 'kept', reason: `${numbers}: within ${points(rules.maxIncrease)} over the ${windowText(rules.windowMs)} watch` };
}

/** `10m`, `90s`, `1h30m`: a window as operators write it. */
export function windowText(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, s] of [['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= s) {
      parts.push(`${Math.floor(rest / s)}${unit}`);
      rest %= s;
    }
  }
  return parts.join('') || '0s';
}
