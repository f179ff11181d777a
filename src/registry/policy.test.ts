import { describe, expect, it } from 'vitest';
import type { Policy } from '../site/labels.js';
import { digestIsCurrent, localTagIsNewer, parseVersionTag, rankNewerTags } from './policy.js';

/** The newest tag the ranking offers, as the check takes it when no tag rule applies. */
function pickNewerTag(current: string, tags: readonly string[], policy: Exclude<Policy, 'digest'>, pre: boolean) {
  const r = rankNewerTags(current, tags, policy, pre);
  if (r.kind !== 'ranked') return r;
  return r.tags.length ? { kind: 'newer', tag: r.tags[0] } : { kind: 'none', reason: r.reason };
}

const TAGS = [
  'latest', '1', '1.2', '1.2.3', '1.2.4', '1.2.10', '1.3.0', '1.10.1', '2.0.0', '2.1.0-rc1', '3.0.0-beta.2',
  '1.2.3-fpm', '1.2.9-fpm', '1.4.0-fpm', '2.0.0-fpm', '1.2.11-rc1-fpm',
  '1.2.3-alpine', '1.2.5-alpine', '1.2.5-fpm-alpine', 'v1.2.3', 'v1.2.7', 'v1.9.0', '1.3', '1.11', '2.1',
];

describe('parseVersionTag', () => {
  it('splits prefix, parts, pre-release and variant', () => {
    expect(parseVersionTag('v1.2.3-rc.1-fpm-alpine')).toEqual({ tag: 'v1.2.3-rc.1-fpm-alpine', prefix: 'v', parts: [1, 2, 3], separator: '.', prerelease: 'rc.1', variant: '-fpm-alpine' });
    expect(parseVersionTag('1.25-alpine')).toMatchObject({ parts: [1, 25], prerelease: null, variant: '-alpine' });
    expect(parseVersionTag('8-preview')).toMatchObject({ parts: [8], prerelease: 'preview', variant: '' });
    expect(parseVersionTag('latest')).toBeNull();
    expect(parseVersionTag('1.2.3.4.5')).toBeNull();
  });

  it('reads four-part and calendar versions, and dates written with dashes', () => {
    expect(parseVersionTag('1.2.3.4')).toMatchObject({ parts: [1, 2, 3, 4], separator: '.', variant: '' });
    expect(parseVersionTag('2024.06.1-alpine')).toMatchObject({ parts: [2024, 6, 1], separator: '.', variant: '-alpine' });
    expect(parseVersionTag('24.04')).toMatchObject({ parts: [24, 4] });
    expect(parseVersionTag('20240601')).toMatchObject({ parts: [20240601] });
    expect(parseVersionTag('2024-06-01')).toMatchObject({ parts: [2024, 6, 1], separator: '-', prerelease: null, variant: '' });
    expect(parseVersionTag('2024-06-01-rc1-fpm')).toMatchObject({ parts: [2024, 6, 1], separator: '-', prerelease: 'rc1', variant: '-fpm' });
    // Not a date: a one-part version with a variant.
    expect(parseVersionTag('1-2')).toMatchObject({ parts: [1], separator: '.', variant: '-2' });
  });
});

describe('pickNewerTag', () => {
  it.each([
    ['1.2.3', 'patch', '1.2.10'],
    ['1.2.3', 'minor', '1.10.1'],
    ['1.2.3', 'major', '2.0.0'],
    ['1.2.3-fpm', 'patch', '1.2.9-fpm'],
    ['1.2.3-fpm', 'minor', '1.4.0-fpm'],
    ['1.2.3-fpm', 'major', '2.0.0-fpm'],
    ['1.2.3-alpine', 'major', '1.2.5-alpine'],
    ['v1.2.3', 'patch', 'v1.2.7'],
    ['v1.2.3', 'minor', 'v1.9.0'],
    ['1.2', 'minor', '1.11'],
    ['1.2', 'major', '2.1'],
  ] as const)('%s under %s -> %s', (current, policy, want) => {
    expect(pickNewerTag(current, TAGS, policy, false)).toEqual({ kind: 'newer', tag: want });
  });

  it('ignores pre-releases unless asked, and then keeps the variant', () => {
    expect(pickNewerTag('2.0.0', TAGS, 'major', false)).toMatchObject({ kind: 'none' });
    expect(pickNewerTag('2.0.0', TAGS, 'major', true)).toEqual({ kind: 'newer', tag: '3.0.0-beta.2' });
    expect(pickNewerTag('1.2.9-fpm', TAGS, 'patch', true)).toEqual({ kind: 'newer', tag: '1.2.11-rc1-fpm' });
    expect(pickNewerTag('1.2.9-fpm', TAGS, 'patch', false)).toMatchObject({ kind: 'none' });
  });

  it('a release is newer than its own pre-release', () => {
    expect(pickNewerTag('2.1.0-rc1', ['2.1.0-rc1', '2.1.0', '2.1.0-rc2'], 'patch', false)).toEqual({ kind: 'newer', tag: '2.1.0' });
  });

  it('a tag that already names the whole range moves only by digest', () => {
    const r = pickNewerTag('1.2', TAGS, 'patch', false);
    expect(r.kind).toBe('none');
    if (r.kind === 'none') expect(r.reason).toMatch(/already names the whole patch range/);
    expect(pickNewerTag('1', TAGS, 'minor', false).kind).toBe('none');
  });

  it('says when nothing is newer, and when the tag is not a version', () => {
    const none = pickNewerTag('1.10.1', TAGS, 'minor', false);
    expect(none).toMatchObject({ kind: 'none' });
    if (none.kind === 'none') expect(none.reason).toMatch(/no tag newer than 1\.10\.1 within the minor range among \d+ tags \(shape N\.N\.N, pre-releases ignored\)/);
    expect(pickNewerTag('latest', TAGS, 'minor', false)).toMatchObject({ kind: 'not-a-version' });
  });
});

describe('rankNewerTags', () => {
  it('lists every newer tag in range, newest first', () => {
    expect(rankNewerTags('1.2.3', TAGS, 'patch', false)).toMatchObject({ kind: 'ranked', tags: ['1.2.10', '1.2.4'] });
    expect(rankNewerTags('1.10.1', TAGS, 'minor', false)).toMatchObject({ kind: 'ranked', tags: [] });
  });

  it('four-part versions keep their shape; patch keeps the first two parts', () => {
    const tags = ['1.2.3.4', '1.2.3.9', '1.2.4.0', '1.3.0.0', '1.2.5', '2.0.0.0'];
    expect(rankNewerTags('1.2.3.4', tags, 'patch', false)).toMatchObject({ tags: ['1.2.4.0', '1.2.3.9'] });
    expect(rankNewerTags('1.2.3.4', tags, 'major', false)).toMatchObject({ tags: ['2.0.0.0', '1.3.0.0', '1.2.4.0', '1.2.3.9'] });
  });

  it('calendar versions rank by date; dashed dates stay dashed', () => {
    const tags = ['2024.05.30', '2024.06.01', '2024.06.12', '2025.01.02', '2024-07-01', '2024-06-01', 'latest'];
    expect(rankNewerTags('2024.06.01', tags, 'major', false)).toMatchObject({ tags: ['2025.01.02', '2024.06.12'] });
    expect(rankNewerTags('2024.06.01', tags, 'minor', false)).toMatchObject({ tags: ['2024.06.12'] });
    expect(rankNewerTags('2024-06-01', tags, 'major', false)).toMatchObject({ tags: ['2024-07-01'] });
    const none = rankNewerTags('2025-01-01', tags, 'major', false);
    expect(none).toMatchObject({ kind: 'ranked', tags: [], reason: expect.stringContaining('(shape N-N-N, pre-releases ignored)') });
  });
});

describe('digestIsCurrent', () => {
  it('matches the repo digest directly or through a platform manifest of an index', () => {
    expect(digestIsCurrent('sha256:a', [], ['sha256:a'])).toBe(true);
    expect(digestIsCurrent('sha256:index', ['sha256:amd64', 'sha256:arm64'], ['sha256:arm64'])).toBe(true);
    expect(digestIsCurrent('sha256:new', ['sha256:x'], ['sha256:old'])).toBe(false);
    expect(digestIsCurrent('sha256:new', [], [])).toBe(false);
  });
});

describe('localTagIsNewer', () => {
  const running = { id: 'sha256:1', created: '2024-01-01T00:00:00Z' };
  it('only for another image created later', () => {
    expect(localTagIsNewer(running, null)).toBe(false);
    expect(localTagIsNewer(running, { ...running })).toBe(false);
    expect(localTagIsNewer(running, { id: 'sha256:2', created: '2023-12-01T00:00:00Z' })).toBe(false);
    expect(localTagIsNewer(running, { id: 'sha256:2', created: '2024-02-01T00:00:00Z' })).toBe(true);
  });
});
