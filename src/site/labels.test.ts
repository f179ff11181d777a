import { describe, expect, it } from 'vitest';
import { isOptedIn, parseSiteLabels } from './labels.js';

const parse = (labels: Record<string, string>) => parseSiteLabels(labels);

describe('site labels', () => {
  it('applies the documented defaults', () => {
    expect(parse({ 'refit.enable': 'true' })).toEqual({
      ok: true,
      labels: { vhosts: [], port: 80, configPath: null, policy: 'digest', healthPath: '/refit/health', hooks: { preUpdate: null, postUpdate: null } },
    });
  });

  it('reads every label', () => {
    const r = parse({
      'refit.vhosts': 'A.example, www.a.example,a.example',
      'refit.port': '8080',
      'refit.config': '/etc/site/',
      'refit.policy': 'minor',
      'refit.health.path': '/healthz',
    });
    expect(r).toMatchObject({ ok: true, labels: { vhosts: ['a.example', 'www.a.example'], port: 8080, configPath: '/etc/site', policy: 'minor', healthPath: '/healthz' } });
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
