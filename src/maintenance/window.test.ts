import { describe, expect, it } from 'vitest';
import { RefitError } from '../errors.js';
import { isOpen, validateSchedule, windowAt } from './window.js';

const weekly = { cron: '0 3 * * 0', timezone: 'UTC', windowMinutes: 120 };

describe('maintenance window', () => {
  it('is the next window before it opens', () => {
    const w = windowAt(weekly, new Date('2026-11-26T12:00:00Z')); // a Thursday
    expect(w.start.toISOString()).toBe('2026-11-29T03:00:00.000Z');
    expect(w.end.toISOString()).toBe('2026-11-29T05:00:00.000Z');
    expect(isOpen(w, new Date('2026-11-26T12:00:00Z'))).toBe(false);
  });

  it('is the open window while it is open, and closed at its end', () => {
    const now = new Date('2026-11-29T04:59:00Z');
    const w = windowAt(weekly, now);
    expect(w.start.toISOString()).toBe('2026-11-29T03:00:00.000Z');
    expect(isOpen(w, now)).toBe(true);
    expect(isOpen(w, new Date('2026-11-29T05:00:00Z'))).toBe(false);
    expect(windowAt(weekly, new Date('2026-11-29T05:00:00Z')).start.toISOString()).toBe('2026-12-06T03:00:00.000Z');
  });

  it('honours the timezone', () => {
    const w = windowAt({ ...weekly, timezone: 'Pacific/Auckland' }, new Date('2026-11-26T12:00:00Z'));
    expect(w.start.toISOString()).toBe('2026-11-28T14:00:00.000Z'); // Sunday 03:00 NZDT
  });

  it('rejects a bad cron as a config error naming the key', () => {
    expect(() => validateSchedule({ ...weekly, cron: 'every sunday' })).toThrow(RefitError);
    expect(() => validateSchedule({ ...weekly, cron: 'every sunday' })).toThrow(/schedule\.cron "every sunday"/);
  });
});
