import { describe, expect, it } from 'vitest';
import { parseSince } from './history.js';

describe('parseSince', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  it('takes durations and dates', () => {
    expect(parseSince('7d', now).toISOString()).toBe('2026-11-19T12:00:00.000Z');
    expect(parseSince('12h', now).toISOString()).toBe('2026-11-26T00:00:00.000Z');
    expect(parseSince('30m', now).toISOString()).toBe('2026-11-26T11:30:00.000Z');
    expect(parseSince('2026-11-01T03:00Z', now).toISOString()).toBe('2026-11-01T03:00:00.000Z');
    expect(parseSince('2026-11-01T03:00:00+01:00', now).toISOString()).toBe('2026-11-01T02:00:00.000Z');
  });
  it('reads dates without an offset as UTC, the zone history prints', () => {
    expect(parseSince('2026-11-01', now).toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseSince('2026-11-01 03:00:12', now).toISOString()).toBe('2026-11-01T03:00:12.000Z');
  });
  it.each(['last week', '1', 'May 5', '2026-13-45', '7w', ''])('names a bad value: %j', (bad) => {
    expect(() => parseSince(bad, now)).toThrow(`--since ${JSON.stringify(bad)} is neither an ISO date nor a duration`);
  });
});
