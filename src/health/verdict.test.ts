import { describe, expect, it } from 'vitest';
import type { HealthTarget } from './types.js';
import { decideRedirect, judgeCustom, judgeDefault, ownsHost, preferredHost, standing, startOf } from './verdict.js';

const site = (vhosts: string[], ip = '172.18.0.5', port = 80): HealthTarget => ({ ip, port, vhosts, healthPath: '/refit/health' });
const a = site(['a.example', 'www.a.example']);

describe('preferredHost', () => {
  it('is the first vhost', () => expect(preferredHost(a)).toBe('a.example'));
  it('skips wildcards, which cannot be sent as Host', () => expect(preferredHost(site(['*.a.example', 'shop.a.example']))).toBe('shop.a.example'));
  it('asks www. under a wildcard when there is nothing else', () => expect(preferredHost(site(['*.a.example']))).toBe('www.a.example'));
  it('is the IP without vhosts, with the port unless 80', () => {
    expect(preferredHost(site([]))).toBe('172.18.0.5');
    expect(preferredHost(site([], '172.18.0.5', 8080))).toBe('172.18.0.5:8080');
    expect(preferredHost(site([], 'fd00::5', 8080))).toBe('[fd00::5]:8080');
  });
});

describe('ownsHost', () => {
  it('matches vhosts case-insensitively and ignores a trailing dot', () => {
    expect(ownsHost(a, 'WWW.A.Example')).toBe(true);
    expect(ownsHost(a, 'a.example.')).toBe(true);
    expect(ownsHost(a, 'b.example')).toBe(false);
    expect(ownsHost(a, 'xa.example')).toBe(false);
  });
  it('matches names below a wildcard, not the bare domain', () => {
    const w = site(['*.a.example']);
    expect(ownsHost(w, 'shop.a.example')).toBe(true);
    expect(ownsHost(w, 'x.y.a.example')).toBe(true);
    expect(ownsHost(w, 'a.example')).toBe(false);
    expect(ownsHost(w, 'evila.example')).toBe(false);
  });
  it('without vhosts owns only its IP', () => {
    expect(ownsHost(site([]), '172.18.0.5')).toBe(true);
    expect(ownsHost(site([]), 'localhost')).toBe(false);
    expect(ownsHost(site([], 'fd00::5'), '[fd00::5]')).toBe(true);
  });
});

describe('decideRedirect', () => {
  const from = startOf(a, '/dir/page?x=1');

  it('follows an absolute URL on a site host, mixed case, ignoring its port', () => {
    expect(decideRedirect(a, from, 'HTTP://WWW.A.Example:8080/Next?q=1')).toEqual({
      kind: 'follow',
      url: 'http://www.a.example:8080/Next?q=1',
      next: { host: 'www.a.example:8080', path: '/Next?q=1', https: false },
    });
  });
  it('resolves relative, dot and protocol-relative locations against the current URL', () => {
    expect(decideRedirect(a, from, 'login')).toMatchObject({ kind: 'follow', next: { host: 'a.example', path: '/dir/login', https: false } });
    expect(decideRedirect(a, from, '../up')).toMatchObject({ kind: 'follow', next: { path: '/up' } });
    expect(decideRedirect(a, from, '?page=2')).toMatchObject({ kind: 'follow', next: { path: '/dir/page?page=2' } });
    expect(decideRedirect(a, from, '//www.a.example/x')).toMatchObject({ kind: 'follow', next: { host: 'www.a.example', path: '/x' } });
    expect(decideRedirect(a, from, '//evil.example/x')).toMatchObject({ kind: 'foreign', host: 'evil.example' });
  });
  it('turns https:// into forwarded headers, and a chain stays https once it was', () => {
    const toHttps = decideRedirect(a, from, 'https://a.example/');
    expect(toHttps).toMatchObject({ kind: 'follow', url: 'https://a.example/', next: { https: true } });
    const on = { host: 'a.example', path: '/', https: true };
    expect(decideRedirect(a, on, '/home')).toMatchObject({ kind: 'follow', url: 'https://a.example/home', next: { https: true } });
    expect(decideRedirect(a, on, 'http://a.example/plain')).toMatchObject({ kind: 'follow', next: { https: true } });
  });
  it('calls another host foreign, whatever the scheme', () => {
    expect(decideRedirect(a, from, 'https://login.other.example/sso')).toEqual({ kind: 'foreign', url: 'https://login.other.example/sso', host: 'login.other.example' });
    expect(decideRedirect(site([]), startOf(site([]), '/'), 'http://localhost/')).toMatchObject({ kind: 'foreign' });
  });
  it('refuses what it cannot follow', () => {
    expect(decideRedirect(a, from, undefined)).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/without a Location/) });
    expect(decideRedirect(a, from, '  ')).toMatchObject({ kind: 'unusable' });
    expect(decideRedirect(a, from, 'http://[bad')).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/not a URL/) });
    expect(decideRedirect(a, from, 'ftp://a.example/f')).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/not HTTP/) });
  });
});

describe('judging answers', () => {
  const body = (s: string) => Buffer.from(s);
  it('the default endpoint passes on 200 only', () => {
    expect(judgeDefault(200)).toEqual({ passed: true });
    for (const s of [204, 304, 404, 500]) expect(judgeDefault(s)).toEqual({ passed: false, reason: `answered ${s}, not 200` });
  });
  it('the custom endpoint passes on 200 with {"status":"healthy"} only', () => {
    expect(judgeCustom({ status: 200, body: body('{"status":"healthy","db":"ok"}'), truncated: false })).toEqual({ passed: true });
    expect(judgeCustom({ status: 200, body: body('\uFEFF{"status":"healthy"}\n'), truncated: false })).toEqual({ passed: true });
  });
  it.each([
    [503, '{"status":"healthy"}', false, /answered 503, not 200/],
    [200, '{"status":"healthy"', false, /not JSON/],
    [200, '', false, /not JSON/],
    [200, '{"status":"Healthy"}', false, /status "Healthy", not "healthy"/],
    [200, '{"status":true}', false, /status true/],
    [200, '{"ok":true}', false, /without a "status" field/],
    [200, '["healthy"]', false, /without a "status" field/],
    [200, 'null', false, /without a "status" field/],
    [200, '"healthy"', false, /without a "status" field/],
    [200, '{"status":"healthy"}', true, /larger than the/],
  ])('the custom endpoint fails on %i %j (truncated: %s)', (status, text, truncated, reason) => {
    const j = judgeCustom({ status, body: body(text), truncated });
    expect(j.passed).toBe(false);
    expect(!j.passed && j.reason).toMatch(reason);
  });
});

describe('standing', () => {
  it('is healthy on the first pass with threshold 1', () => {
    expect(standing([false, false, true], 10, 1)).toBe('healthy');
    expect(standing([false, false], 10, 1)).toBe('continue');
    expect(standing([false, false, false], 3, 1)).toBe('give-up');
  });
  it('needs the last N in a row with threshold N', () => {
    expect(standing([true, false, true, true], 10, 3)).toBe('continue');
    expect(standing([true, false, true, true, true], 10, 3)).toBe('healthy');
  });
  it('gives up as soon as the attempts left cannot make the run', () => {
    expect(standing([false, false, false], 5, 3)).toBe('give-up');
    expect(standing([false, false, true], 5, 3)).toBe('continue');
    expect(standing([false, false], 5, 3)).toBe('continue');
  });
});
