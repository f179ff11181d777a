import { describe, expect, it } from 'vitest';
import { isRefitError } from '../errors.js';
import { isLoopback, listenAddress, parseListen } from './listen.js';

describe('parseListen', () => {
  it('accepts loopback addresses in their usual spellings', () => {
    expect(parseListen('127.0.0.1:9977')).toEqual({ ok: true, address: { host: '127.0.0.1', port: 9977 } });
    expect(parseListen('[::1]:9977')).toEqual({ ok: true, address: { host: '::1', port: 9977 } });
    expect(parseListen('localhost:0')).toEqual({ ok: true, address: { host: 'localhost', port: 0 } });
    expect(parseListen('127.8.9.10:80')).toMatchObject({ ok: true });
  });

  it('refuses addresses other machines can reach', () => {
    expect(parseListen('0.0.0.0:9977')).toEqual({ ok: false, reason: '0.0.0.0 is not a loopback address; metrics are served on 127.0.0.1, ::1 or localhost only' });
    expect(parseListen('[::]:9977')).toMatchObject({ ok: false });
    expect(parseListen('10.1.2.3:9977')).toMatchObject({ ok: false });
    expect(parseListen('metrics.example.com:9977')).toMatchObject({ ok: false });
  });

  it('explains malformed values', () => {
    expect(parseListen('9977')).toEqual({ ok: false, reason: '"9977" is not HOST:PORT (e.g. 127.0.0.1:9977 or [::1]:9977)' });
    expect(parseListen('127.0.0.1:70000')).toEqual({ ok: false, reason: 'port 70000 in "127.0.0.1:70000" is above 65535' });
  });
});

describe('isLoopback', () => {
  it('knows IPv4-mapped loopback', () => {
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('::ffff:10.0.0.1')).toBe(false);
  });
});

describe('listenAddress', () => {
  it('throws a config error (exit 2) that names the key', () => {
    try {
      listenAddress('0.0.0.0:9977');
      expect.unreachable();
    } catch (err) {
      expect(isRefitError(err, 'config')).toBe(true);
      expect((err as Error).message).toMatch(/^metrics\.listen: 0\.0\.0\.0 is not a loopback address/);
    }
  });
});
