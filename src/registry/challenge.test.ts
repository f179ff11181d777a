import { describe, expect, it } from 'vitest';
import { nextLink, parseChallenge, retryAfterMs } from './challenge.js';

describe('parseChallenge', () => {
  it('reads a Docker Hub style Bearer challenge', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"')).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/nginx:pull',
    });
  });
  it('reads Basic, unquoted values and escapes, and keeps unknown schemes raw', () => {
    expect(parseChallenge('Basic realm="basic-realm"')).toEqual({ scheme: 'basic', realm: 'basic-realm' });
    expect(parseChallenge('bearer realm=http://127.0.0.1:1/t, service="a\\"b"')).toMatchObject({ realm: 'http://127.0.0.1:1/t', service: 'a"b', scope: null });
    expect(parseChallenge('Negotiate')).toEqual({ scheme: 'unknown', raw: 'Negotiate' });
    expect(parseChallenge('Bearer service="x"')).toMatchObject({ scheme: 'unknown' });
  });
});

describe('nextLink', () => {
  it('resolves the rel="next" target against the answering URL', () => {
    expect(nextLink('</v2/web/tags/list?last=b&n=2>; rel="next"', 'http://127.0.0.1:5000/v2/web/tags/list?n=2')).toBe('http://127.0.0.1:5000/v2/web/tags/list?last=b&n=2');
    expect(nextLink('<https://x/a>; rel="prev", <https://x/b>; rel=next', 'https://x/')).toBe('https://x/b');
    expect(nextLink(null, 'https://x/')).toBeNull();
    expect(nextLink('<https://x/a>; rel="prev"', 'https://x/')).toBeNull();
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});
