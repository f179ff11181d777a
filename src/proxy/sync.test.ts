import { describe, expect, it } from 'vitest';
import type { HealthTarget, Verdict } from '../health/types.js';
import { FakeProxy } from '../maintenance/fake-world.js';
import type { Site } from '../site/discover.js';
import { routedSite } from './testing/site.js';
import { busySites, planSync, syncProxy, type SyncDeps } from './sync.js';

const site = (name: string, ip: string) => routedSite(name, { ip });

const healthy: Verdict = { healthy: true, attempts: [] };
const sick: Verdict = { healthy: false, reason: 'GET / answered 500', attempts: [] };

describe('planSync', () => {
  it('keeps servers in rotation at the same address, and sends new or moved containers to a health check first', () => {
    const found = [site('shop-web-1', '10.0.0.2'), site('blog-web-1', '10.0.0.9')];
    const inRotation = new Map([['shop.web', [{ name: 'shop-web-1', ip: '10.0.0.2', port: 80 }]], ['blog.web', [{ name: 'blog-web-1', ip: '10.0.0.3', port: 80 }]]]);
    const plan = planSync(found, undefined, inRotation, new Set());
    expect(plan.sites.map((s) => [s.id, s.servers.map((x) => x.name)])).toEqual([['blog.web', []], ['shop.web', ['shop-web-1']]]);
    expect(plan.toCheck).toEqual([{ siteId: 'blog.web', server: { name: 'blog-web-1', ip: '10.0.0.9', port: 80 }, target: { ip: '10.0.0.9', port: 80, vhosts: ['blog.example'], healthPath: '/refit/health' } }]);
  });

  it('checks nothing in a site a maintenance owns', () => {
    const plan = planSync([site('shop-web-1', '10.0.0.2')], undefined, new Map(), new Set(['shop.web']));
    expect(plan.toCheck).toEqual([]);
  });

  it('maps the journal\'s maintenances to proxy sites', () => {
    expect([...busySites([{ project: 'shop', service: 'web' }, { project: 'a.b', service: 'app' }])]).toEqual(['shop.web', 'a-b.app']);
  });
});

describe('syncProxy', () => {
  function deps(found: Site[], o: { health?: (t: HealthTarget) => Verdict; busy?: () => Set<string> } = {}) {
    const calls: string[] = [];
    const proxy = new FakeProxy((line, effect) => {
      calls.push(line);
      return effect();
    });
    const d: SyncDeps = {
      proxy,
      discover: async () => ({ sites: found, unmanaged: [] }),
      checkHealth: async (t) => {
        calls.push(`health ${t.ip}`);
        return (o.health ?? (() => healthy))(t);
      },
      busySince: () => o.busy?.() ?? new Set(),
    };
    return { d, proxy, calls };
  }

  it('a new container joins only after its check; one that moved leaves at once and rejoins once healthy', async () => {
    const found = [site('shop-web-1', '10.0.0.2')];
    const { d, proxy, calls } = deps(found);
    await syncProxy(d);
    expect(calls).toEqual(['proxy.list', 'proxy.apply shop.web', 'health 10.0.0.2', 'proxy.apply shop.web']);
    expect(proxy.ready('shop.web')).toEqual(['shop-web-1']);

    calls.length = 0;
    found[0] = site('shop-web-1', '10.0.0.7');
    let seenBeforeCheck: string[] = [];
    d.checkHealth = async () => {
      seenBeforeCheck = proxy.ready('shop.web');
      return healthy;
    };
    await syncProxy(d);
    expect(seenBeforeCheck).toEqual([]);
    expect((await proxy.list('shop.web')).map((s) => [s.name, s.ip])).toEqual([['shop-web-1', '10.0.0.7']]);
  });

  it('leaves a container that is not healthy out of rotation and says why', async () => {
    const { d, proxy } = deps([site('shop-web-1', '10.0.0.2')], { health: () => sick });
    const report = await syncProxy(d);
    expect(report.waiting).toEqual([{ container: 'shop-web-1', reason: 'not healthy yet at 10.0.0.2:80: GET / answered 500' }]);
    expect(proxy.ready('shop.web')).toEqual([]);
  });

  it('never touches a site a maintenance owns, however stale what it saw is', async () => {
    const { d, proxy, calls } = deps([site('shop-web-1', '10.0.0.2')], { busy: () => new Set(['shop.web']) });
    proxy.servers.set('shop.web', new Map([['shop-web-1-refit-shadow', { ip: '10.0.0.5', port: 80, state: 'ready' as const }]]));
    const report = await syncProxy(d);
    expect(report.busy).toEqual(['shop.web']);
    expect(calls.filter((c) => c.startsWith('health'))).toEqual([]);
    expect(proxy.ready('shop.web')).toEqual(['shop-web-1-refit-shadow']);
  });
});
