import { describe, expect, it } from 'vitest';
import { parseSince } from './history.js';

describe('parseSince', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  it('takes durations and dates', () => {
    expect(parseSince('7d', now).toISOString()).toBe('2026-11-19T12:00:00.000Z');
    expect(parseSince('12h', now).toISOString()).toBe('2026-11-26T00:00:00.000Z');
    expect(parseSince('2026-11-01T03:00Z', now).toISOString()).toBe('2026-11-01T03:00:00.000Z');
  });
  it('names a bad value', () => expect(() => parseSince('last week', now)).toThrow(/--since "last week" is neither/));
});
