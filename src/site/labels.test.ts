import { describe, expect, it } from 'vitest';
import { isOptedIn, parseDuration, parseSiteLabels } from './labels.js';

const parse = (labels: Record<string, string>) => parseSiteLabels(labels);

describe('site labels', () => {
  it('applies the documented defaults', () => {
    expect(parse({ 'refit.enable': 'true' })).toEqual({
      ok: true,
      labels: { vhosts: [], port: 80, configPath: null, policy: 'digest', healthPath: '/refit/health', hooks: { preUpdate: null, postUpdate: null }, tagRules: { include: null, exclude: null, minAge: null }, watchMs: null },
    });
  });

  it('reads every label', () => {
    const r = parse({
      'refit.vhosts': 'A.example, www.a.example,a.example',
      'refit.port': '8080',
      'refit.config': '/etc/site/',
      'refit.policy': 'minor',
      'refit.health.path': '/healthz',
      'refit.tag.include': '^1\\.',
      'refit.tag.exclude': '-(rc|beta)',
      'refit.min-age': '3d',
      'refit.watch': '10m',
    });
    expect(r).toMatchObject({
      ok: true,
      labels: {
        vhosts: ['a.example', 'www.a.example'],
        port: 8080,
        configPath: '/etc/site',
        policy: 'minor',
        healthPath: '/healthz',
        tagRules: { include: '^1\\.', exclude: '-(rc|beta)', minAge: { ms: 3 * 86_400_000, text: '3d' } },
        watchMs: 600_000,
      },
    });
  });

  it('reads refit.watch=off as no watch (0)', () => {
    expect(parse({ 'refit.watch': 'off' })).toMatchObject({ ok: true, labels: { watchMs: 0 } });
  });

  it.each([
    [{ 'refit.port': 'http' }, /refit\.port="http" must be a TCP port/],
    [{ 'refit.port': '70000' }, /refit\.port/],
    [{ 'refit.policy': 'latest' }, /refit\.policy="latest" must be one of digest\|patch\|minor\|major/],
    [{ 'refit.vhosts': 'a.example,bad host' }, /refit\.vhosts.*"bad host", which is not a hostname/],
    [{ 'refit.vhosts': ' , ' }, /lists no hostname/],
    [{ 'refit.config': 'etc/site' }, /refit\.config.*absolute/],
    [{ 'refit.config': '/etc/../root' }, /refit\.config/],
    [{ 'refit.health.path': 'health' }, /refit\.health\.path/],
    [{ 'refit.tag.include': '1.(2' }, /refit\.tag\.include="1\.\(2" is not a regular expression: /],
    [{ 'refit.tag.exclude': '' }, /refit\.tag\.exclude="" must be a regular expression of 1 to 256 characters/],
    [{ 'refit.min-age': '3 days' }, /refit\.min-age="3 days" must be a duration such as 30m, 12h, 3d or 2w/],
    [{ 'refit.min-age': '0d' }, /refit\.min-age/],
    [{ 'refit.watch': 'soon' }, /refit\.watch="soon" must be a duration such as 10m or 1h, or off/],
  ])('names the malformed label %o', (labels, reason) => {
    const r = parse(labels);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('opts in only on exactly "true"', () => {
    expect(isOptedIn({ 'refit.enable': 'true' })).toBe(true);
    expect(isOptedIn({ 'refit.enable': 'yes' })).toBe(false);
    expect(isOptedIn({})).toBe(false);
  });
});

describe('parseDuration', () => {
  it('reads s, m, h, d, w and sums of them', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    for (const bad of ['', '3', 'd', '1.5d', '-1d', '3D']) expect(parseDuration(bad)).toBeNull();
  });
});
