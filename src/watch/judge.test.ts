import { describe, expect, it } from 'vitest';
import { judge, windowText } from './judge.js';

const rules = { windowMs: 600_000, minRequests: 100, maxIncrease: 0.05 };
const at = (observed: { requests: number; errors: number }, o: { over?: boolean; baseline?: { requests: number; errors: number } | null } = {}) =>
  judge({ observed, baseline: o.baseline === undefined ? { requests: 5000, errors: 10 } : o.baseline, rules, over: o.over ?? false, from: 'web:1.0.0', to: 'web:1.1.0' });

describe('the watch decision', () => {
  it('waits while the new version has answered too few requests, and does not judge a quiet site at the end', () => {
    expect(at({ requests: 99, errors: 99 })).toEqual({ verdict: 'wait' });
    expect(at({ requests: 3, errors: 3 }, { over: true })).toEqual({ verdict: 'not-judged', reason: 'web:1.1.0 answered 3 request(s) in the 10m watch, fewer than the 100 needed to judge it' });
  });

  it('reverts as soon as enough requests show a 5xx rate more than the allowed points over the old version, saying the numbers', () => {
    expect(at({ requests: 400, errors: 120 })).toEqual({
      verdict: 'revert',
      reason: '5xx rate 30.0% (120 of 400 requests) on web:1.1.0, against 0.2% (10 of 5000 requests) on web:1.0.0 before the switch: more than 5.0 points worse',
    });
  });

  it('keeps a version only once the window is over, within the allowed rise over what the old one did', () => {
    const noisyOld = { requests: 1000, errors: 100 };
    expect(at({ requests: 1000, errors: 140 }, { baseline: noisyOld })).toEqual({ verdict: 'wait' });
    expect(at({ requests: 1000, errors: 140 }, { baseline: noisyOld, over: true })).toEqual({
      verdict: 'kept',
      reason: '5xx rate 14.0% (140 of 1000 requests) on web:1.1.0, against 10.0% (100 of 1000 requests) on web:1.0.0 before the switch: within 5.0 points over the 10m watch',
    });
    expect(at({ requests: 1000, errors: 160 }, { baseline: noisyOld }).verdict).toBe('revert');
  });

  it('holds the new version to 0% when the old one answered too few requests, or was not counted', () => {
    expect(at({ requests: 200, errors: 20 }, { baseline: { requests: 10, errors: 5 } })).toMatchObject({ verdict: 'revert', reason: expect.stringContaining('against 0% (web:1.0.0 answered only 10 request(s) before the switch)') });
    expect(at({ requests: 200, errors: 20 }, { baseline: null })).toMatchObject({ verdict: 'revert', reason: expect.stringContaining('the proxy did not count web:1.0.0 before the switch') });
    expect(at({ requests: 200, errors: 10 }, { baseline: null, over: true }).verdict).toBe('kept');
  });

  it('writes a window as operators do', () => {
    expect([600_000, 90_000, 5_400_000, 0].map(windowText)).toEqual(['10m', '1m30s', '1h30m', '0s']);
  });
});
