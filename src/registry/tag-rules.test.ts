import { describe, expect, it } from 'vitest';
import { describePassedOver, filterByPatterns, formatAge, tooYoung } from './tag-rules.js';

const rules = (include: string | null, exclude: string | null) => ({ include, exclude, minAge: null });

describe('filterByPatterns', () => {
  it('keeps what include matches and exclude does not, and says why for the rest', () => {
    const r = filterByPatterns(['2.0.0', '1.9.0-rc1', '1.9.0', '1.8.0'], rules('^1\\.', '-rc'));
    expect(r.kept).toEqual(['1.9.0', '1.8.0']);
    expect(r.passedOver).toEqual([
      { tag: '2.0.0', reason: 'does not match refit.tag.include ^1\\.' },
      { tag: '1.9.0-rc1', reason: 'matches refit.tag.exclude -rc' },
    ]);
  });

  it('a pattern that backtracks forever costs only this check', () => {
    const evil = filterByPatterns.bind(null, [`${'a'.repeat(40)}b`], rules('^(a+)+$', null), 100);
    expect(evil).toThrow('refit.tag.include/refit.tag.exclude took longer than 100 ms over 1 tags; simplify the patterns');
  });
});

describe('tooYoung', () => {
  const now = Date.parse('2024-06-10T12:00:00Z');
  const minAge = { include: null, exclude: null, minAge: { ms: 3 * 86_400_000, text: '3d' } };
  it('says how old the image is against refit.min-age', () => {
    expect(tooYoung('2024-06-10T07:00:00Z', minAge, now)).toBe('created 5 h ago (2024-06-10T07:00:00Z), younger than refit.min-age 3d');
    expect(tooYoung('2024-06-07T12:00:00Z', minAge, now)).toBeNull();
    expect(tooYoung('2024-06-10T07:00:00Z', rules(null, null), now)).toBeNull();
  });
});

describe('formatAge and describePassedOver', () => {
  it('keep reasons short', () => {
    expect([formatAge(500), formatAge(90_000), formatAge(3 * 86_400_000 + 4 * 3_600_000), formatAge(86_400_000 + 60_000)]).toEqual(['0 s', '1 min 30 s', '3 d 4 h', '1 d']);
    const many = Array.from({ length: 7 }, (_, i) => ({ tag: `1.${i}`, reason: 'r' }));
    expect(describePassedOver(many)).toBe('; passed over: 1.0 (r), 1.1 (r), 1.2 (r), 1.3 (r), 1.4 (r) and 2 more');
    expect(describePassedOver([])).toBe('');
  });
});
