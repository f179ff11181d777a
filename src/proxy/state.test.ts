import { describe, expect, it } from 'vitest';
import { applySites, EMPTY_STATE, withoutServer, withServer, inRotation, type ProxyState } from './state.js';

const a = { name: 'a1', ip: '10.0.0.2', port: 80 };
const b = { name: 'b1', ip: '10.0.0.3', port: 80 };
const site = (servers = [a]) => ({ id: 'p.web', vhosts: ['a.example'], servers });

describe('applySites', () => {
  it('puts new servers in rotation', () => {
    const s = applySites(EMPTY_STATE, [site()]);
    expect(s.sites[0]!.servers).toEqual([{ ...a, state: 'ready' }]);
  });

  it('makes a site hold exactly the listed servers, in rotation, each keeping its slot', () => {
    const drained = withServer(applySites(EMPTY_STATE, [site([{ ...a }, b])]), 'p.web', a, 'drain');
    const slotted = { sites: drained.sites.map((x) => ({ ...x, servers: x.servers.map((sv, i) => ({ ...sv, slot: `s${i + 1}` })) })) };
    const next = applySites(slotted, [site([{ ...a, ip: '10.0.0.9' }])]);
    expect(next.sites[0]!.servers).toEqual([{ ...a, ip: '10.0.0.9', state: 'ready', slot: 's1' }]);
  });

  it('leaves the servers of an owned site as they are, and keeps an owned site the set no longer names', () => {
    const during = withServer(withServer(applySites(EMPTY_STATE, [site(), { id: 'q.web', vhosts: ['q.example'], servers: [] }]), 'p.web', b, 'ready'), 'p.web', a, 'drain');
    const next = applySites(during, [{ ...site([{ ...a, ip: '10.0.0.7' }]), vhosts: ['a.example', 'www.a.example'] }], new Set(['p.web', 'q.web']));
    expect(next.sites.map((x) => x.id)).toEqual(['p.web', 'q.web']);
    expect(next.sites[0]!.vhosts).toEqual(['a.example', 'www.a.example']);
    expect(next.sites[0]!.servers.map((x) => [x.name, x.ip, x.state])).toEqual([['a1', '10.0.0.2', 'drain'], ['b1', '10.0.0.3', 'ready']]);
    expect(applySites(during, [site()]).sites.map((x) => x.id)).toEqual(['p.web']);
  });

  it('keeps counting a site only while it is watched, and clears affinity on a site no maintenance owns', () => {
    const flagged: ProxyState = { sites: [{ ...applySites(EMPTY_STATE, [site()]).sites[0]!, observed: true, affinity: true }, { id: 'q.web', vhosts: ['q.example'], servers: [], observed: true }] };
    const q = { id: 'q.web', vhosts: ['q.example'], servers: [] };
    expect(applySites(flagged, [site(), q]).sites.map((x) => [x.id, x.observed, x.affinity])).toEqual([['p.web', true, undefined], ['q.web', true, undefined]]);
    expect(applySites(flagged, [site(), q], new Set(['p.web']), new Set(['q.web'])).sites.map((x) => [x.id, x.observed, x.affinity])).toEqual([['p.web', undefined, true], ['q.web', true, undefined]]);
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
    expect(withoutServer(d, 'p.web', 'a1').sites[0]!.servers.map((x) => x.name)).toEqual(['b1']);
  });

  it('an unknown site is an error that says what to run', () => {
    expect(() => withServer(base, 'nope.web', b, 'ready')).toThrow(/site nope\.web is not configured in the proxy/);
  });
});
