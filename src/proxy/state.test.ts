import { describe, expect, it } from 'vitest';
import { applySites, EMPTY_STATE, withoutServer, withServer, inRotation } from './state.js';

const a = { name: 'a1', ip: '10.0.0.2', port: 80 };
const b = { name: 'b1', ip: '10.0.0.3', port: 80 };
const site = (servers = [a]) => ({ id: 'p.web', vhosts: ['a.example'], servers });

describe('applySites', () => {
  it('puts new servers in rotation', () => {
    const s = applySites(EMPTY_STATE, [site()]);
    expect(s.sites[0]!.servers).toEqual([{ ...a, state: 'ready', origin: 'apply' }]);
  });

  it('never puts a drained server back into rotation, but takes its new address', () => {
    const drained = withServer(applySites(EMPTY_STATE, [site()]), 'p.web', a, 'drain');
    const next = applySites(drained, [site([{ ...a, ip: '10.0.0.9' }])]);
    expect(next.sites[0]!.servers[0]).toMatchObject({ ip: '10.0.0.9', state: 'drain' });
  });

  it('keeps servers added at runtime that the site set does not list, drops sites it does not list', () => {
    const s = withServer(applySites(EMPTY_STATE, [site(), { id: 'q.web', vhosts: ['q.example'], servers: [] }]), 'p.web', b, 'ready');
    const next = applySites(s, [site()]);
    expect(next.sites.map((x) => x.id)).toEqual(['p.web']);
    expect(next.sites[0]!.servers.map((x) => [x.name, x.origin])).toEqual([['a1', 'apply'], ['b1', 'runtime']]);
  });

  it('refuses a vhost claimed by two sites, duplicate ids and unsafe names', () => {
    expect(() => applySites(EMPTY_STATE, [site(), { id: 'q.web', vhosts: ['a.example'], servers: [] }])).toThrow(/vhost a\.example is claimed by both site p\.web and site q\.web/);
    expect(() => applySites(EMPTY_STATE, [site(), site()])).toThrow(/listed twice/);
    expect(() => applySites(EMPTY_STATE, [{ ...site(), id: 'p web;' }])).toThrow(/cannot be used in a proxy config/);
    expect(() => applySites(EMPTY_STATE, [site([{ ...a, ip: 'evil host' }])])).toThrow(/not an IPv4 address/);
    expect(() => applySites(EMPTY_STATE, [{ ...site(), vhosts: ['A.example'] }])).toThrow(/not a lower-case hostname/);
  });
});

describe('server transitions', () => {
  const base = applySites(EMPTY_STATE, [site()]);

  it('adds, updates and removes; only ready servers are in rotation', () => {
    const s = withServer(base, 'p.web', b, 'ready');
    expect(inRotation(s.sites[0]!).map((x) => x.name)).toEqual(['a1', 'b1']);
    const d = withServer(s, 'p.web', a, 'drain');
    expect(inRotation(d.sites[0]!).map((x) => x.name)).toEqual(['b1']);
    expect(d.sites[0]!.servers.find((x) => x.name === 'a1')!.origin).toBe('apply');
    expect(withoutServer(d, 'p.web', 'a1').sites[0]!.servers.map((x) => x.name)).toEqual(['b1']);
  });

  it('an unknown site is an error that says what to run', () => {
    expect(() => withServer(base, 'nope.web', b, 'ready')).toThrow(/site nope\.web is not configured in the proxy/);
  });
});
