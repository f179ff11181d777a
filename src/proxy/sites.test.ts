import { describe, expect, it } from 'vitest';
import { proxySitesOf, siteIdOf } from './sites.js';
import { routedSite } from './testing/site.js';

const site = (name: string, o: Parameters<typeof routedSite>[1] = {}) => routedSite(name, { project: 'shop', vhosts: ['shop.example'], ...o });

describe('siteIdOf', () => {
  it('is project.service, safe for proxy configs', () => {
    expect(siteIdOf(site('x'))).toBe('shop.web');
    expect(siteIdOf(site('x', { project: 'a_b', service: 'my web' }))).toBe('a_b.my-web');
  });
});

describe('proxySitesOf', () => {
  it('groups containers of one project+service into one site with one server each', () => {
    const plan = proxySitesOf([site('shop-web-1'), site('shop-web-2', { networks: [{ name: 'front', ip: '172.20.0.6' }], vhosts: ['shop.example', 'www.shop.example'] })]);
    expect(plan.sites).toEqual([
      {
        id: 'shop.web',
        vhosts: ['shop.example', 'www.shop.example'],
        servers: [
          { name: 'shop-web-1', ip: '172.20.0.5', port: 80 },
          { name: 'shop-web-2', ip: '172.20.0.6', port: 80 },
        ],
      },
    ]);
    expect(plan.skipped).toEqual([]);
  });

  it('uses the IP on the configured proxy network and reports containers not on it', () => {
    const two = [{ name: 'back', ip: '10.1.0.2' }, { name: 'front', ip: '172.20.0.5' }];
    expect(proxySitesOf([site('a', { networks: two })], 'front').sites[0]!.servers[0]!.ip).toBe('172.20.0.5');
    const plan = proxySitesOf([site('a', { networks: [{ name: 'back', ip: '10.1.0.2' }] })], 'front');
    expect(plan.sites[0]!.servers).toEqual([]);
    expect(plan.skipped).toEqual([{ container: 'a', reason: 'not on the proxy network front: connect it there' }]);
  });

  it('reports sites without vhosts, stopped containers and vhosts another site already serves', () => {
    const plan = proxySitesOf([
      site('a', { vhosts: [] }),
      site('b', { state: 'exited', project: 'blog' }),
      site('c', { project: 'copy', vhosts: ['shop.example', 'copy.example'] }),
      site('d'),
    ]);
    // shop.web is left with no vhost of its own, so it is not routed at all.
    expect(plan.sites.map((s) => [s.id, s.vhosts, s.servers.map((x) => x.name)])).toEqual([
      ['blog.web', ['shop.example'], []],
      ['copy.web', ['copy.example'], ['c']],
    ]);
    expect(plan.skipped.map((s) => `${s.container}: ${s.reason}`)).toEqual([
      'a: no refit.vhosts label: the proxy routes by Host, so it has nothing to route',
      'b: not running (exited): not a server until it runs',
      'c: vhost shop.example is already served by site blog.web; not routed here',
      'd: vhost shop.example is already served by site blog.web; not routed here',
    ]);
  });
});
