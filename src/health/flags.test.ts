import { describe, expect, it } from 'vitest';
import { healthSchema } from '../config/schema.js';
import { RefitError } from '../errors.js';
import { parseHealthFlags, type HealthFlags } from './flags.js';

const defaults = healthSchema.parse({});
const parse = (container: string | undefined, flags: HealthFlags) => parseHealthFlags(container, flags, defaults);

function usageError(container: string | undefined, flags: HealthFlags): RefitError {
  try {
    parse(container, flags);
  } catch (err) {
    expect(err).toBeInstanceOf(RefitError);
    expect((err as RefitError).exitCode).toBe(2);
    return err as RefitError;
  }
  throw new Error('expected a usage error');
}

describe('refit health flags', () => {
  it('--url with hosts: the first is preferred, names are lower-cased, commas split', () => {
    const r = parse(undefined, { url: 'http://172.18.0.5:8080', host: ['WWW.A.example', 'a.example,shop.a.example'] });
    expect(r.subject).toEqual({ kind: 'url', target: { ip: '172.18.0.5', port: 8080, vhosts: ['www.a.example', 'a.example', 'shop.a.example'], healthPath: '/refit/health' } });
    expect(r.options).toEqual(defaults);
  });

  it('--url defaults to port 80, takes IPv6, and --path, --attempts, --interval-ms, --timeout-ms set the options', () => {
    const r = parse(undefined, { url: 'http://[fd00::5]/', path: '/status', attempts: '3', intervalMs: '0', timeoutMs: '250' });
    expect(r.subject).toEqual({ kind: 'url', target: { ip: 'fd00::5', port: 80, vhosts: [], healthPath: '/status' } });
    expect(r.options).toMatchObject({ attempts: 3, intervalMs: 0, connectTimeoutMs: 250, responseTimeoutMs: 250 });
  });

  it('CONTAINER with an optional --path override', () => {
    expect(parse('web-1', {}).subject).toEqual({ kind: 'container', name: 'web-1' });
    expect(parse('web-1', { path: '/ping' }).subject).toEqual({ kind: 'container', name: 'web-1', healthPath: '/ping' });
  });

  it.each<[string, string | undefined, HealthFlags, RegExp]>([
    ['nothing to check', undefined, {}, /nothing to check: give a CONTAINER or --url/],
    ['both', 'web-1', { url: 'http://10.0.0.1' }, /either CONTAINER \("web-1"\) or --url, not both/],
    ['--host with a container', 'web-1', { host: ['a.example'] }, /--host applies to --url only/],
    ['a bad URL', undefined, { url: 'nope' }, /--url "nope" is not a URL/],
    ['https', undefined, { url: 'https://10.0.0.1' }, /--url "https:\/\/10.0.0.1" must be http:\/\//],
    ['a URL with a path', undefined, { url: 'http://10.0.0.1/health' }, /must be only http:\/\/IP\[:PORT\]/],
    ['a URL with credentials', undefined, { url: 'http://u:p@10.0.0.1' }, /must be only/],
    ['a host with a port', undefined, { url: 'http://10.0.0.1', host: ['a.example:80'] }, /--host "a.example:80" is not a hostname/],
    ['an empty host', undefined, { url: 'http://10.0.0.1', host: [''] }, /--host "" is not a hostname/],
    ['a path without /', undefined, { url: 'http://10.0.0.1', path: 'health' }, /--path "health" is not a URL path/],
    ['a path with a space', undefined, { url: 'http://10.0.0.1', path: '/a b' }, /--path "\/a b"/],
    ['zero attempts', undefined, { url: 'http://10.0.0.1', attempts: '0' }, /--attempts "0" is not a whole number from 1 to 1000/],
    ['fractional attempts', undefined, { url: 'http://10.0.0.1', attempts: '2.5' }, /--attempts "2.5"/],
    ['a negative interval', undefined, { url: 'http://10.0.0.1', intervalMs: '-1' }, /--interval-ms "-1" is not a whole number from 0/],
    ['a unit on the interval', undefined, { url: 'http://10.0.0.1', intervalMs: '1s' }, /--interval-ms "1s"/],
    ['a zero timeout', undefined, { url: 'http://10.0.0.1', timeoutMs: '0' }, /--timeout-ms "0" is not a whole number from 1 to 600000/],
    ['a huge timeout', undefined, { url: 'http://10.0.0.1', timeoutMs: '99999999999' }, /--timeout-ms/],
  ])('%s is a usage error naming the flag and value', (_what, container, flags, message) => {
    const err = usageError(container, flags);
    expect(err.message).toMatch(message);
    expect(err.hint).toBeTruthy();
  });
});
