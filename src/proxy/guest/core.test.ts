import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guestProxy, type GuestDriver, type GuestSite } from './core.js';

/** Records what the core asks of a proxy; routes named in `missing` do not exist there. */
function recorder(missing: string[] = []) {
  const pushes: { route: string; servers: string[] }[][] = [];
  const driver: GuestDriver<void> = {
    kind: 'haproxy-guest',
    missingRoutes: async (routes) => new Map(routes.filter((r) => missing.includes(r)).map((r) => [r, `no backend ${r}`])),
    doctor: async () => ({ findings: [], routes: new Map() }),
    push: async (sites: GuestSite[]) => {
      pushes.push(sites.map((s) => ({ route: s.route, servers: s.servers.map((x) => `${x.name}:${x.state}`) })));
    },
    inFlight: async () => 0,
    list: async (site) => site.servers.map(({ name, ip, port, state }) => ({ name, ip, port, state, sessions: 0 })),
    pin: (_site, s) => ({ server: s.name, servedBy: s.name }),
    drifted: async () => false,
  };
  return { driver, pushes };
}

const up = (name: string) => ({ name, ip: '10.0.0.2', port: 80 });
let runDir: string;
beforeEach(() => (runDir = mkdtempSync(join(tmpdir(), 'refit-guest-core-'))));
afterEach(() => rmSync(runDir, { recursive: true, force: true }));
const options = () => ({ runDir, routePrefix: 'refit_', http: '127.0.0.1:8080' });

describe('guest core', () => {
  it("a site the operator's config does not route is recorded, not fatal; refit refuses to move its traffic and says why", async () => {
    const { driver, pushes } = recorder(['refit_blog.web']);
    const proxy = guestProxy(options(), driver);
    await proxy.apply([{ id: 'shop.web', vhosts: ['shop.example'], servers: [up('s1')] }, { id: 'blog.web', vhosts: ['blog.example'], servers: [up('b1')] }]);
    expect(pushes).toEqual([[{ route: 'refit_shop.web', servers: ['s1:ready'] }]]);
    await expect(proxy.add('blog.web', up('b2'))).rejects.toThrow(/site blog\.web cannot be managed in the operator's haproxy-guest: no backend refit_blog\.web/);
  });

  it('a site that left the set leaves its route with no server of refit', async () => {
    const { driver, pushes } = recorder();
    const proxy = guestProxy(options(), driver);
    await proxy.apply([{ id: 'shop.web', vhosts: ['shop.example'], servers: [up('s1')] }]);
    await proxy.apply([]);
    expect(pushes[1]).toEqual([{ route: 'refit_shop.web', servers: [] }]);
  });

  it('probes go to the configured public listener, pinned by the driver, with the route named', async () => {
    const { driver } = recorder();
    const proxy = guestProxy({ ...options(), https: '[::1]:8443' }, driver);
    await proxy.apply([{ id: 'shop.web', vhosts: ['shop.example'], servers: [up('s1')] }]);
    const route = (await proxy.probeRoute('shop.web', up('s1')))!;
    expect(route).toMatchObject({ http: { ip: '127.0.0.1', port: 8080 }, https: { ip: '::1', port: 8443 }, servedBy: { header: 'x-refit-server', value: 's1' } });
    expect(route.headers).toMatchObject({ 'X-Refit-Probe-Server': 's1', 'X-Refit-Route': 'refit_shop.web' });
    expect(route.headers['X-Refit-Probe']).toMatch(/^[0-9a-f]{48}$/);
  });
});
