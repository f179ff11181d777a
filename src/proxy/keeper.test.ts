import { describe, expect, it } from 'vitest';
import type { Verdict } from '../health/types.js';
import { FakeProxy } from '../maintenance/fake-world.js';
import { startKeeper, type KeeperDeps } from './keeper.js';
import { routedSite } from './testing/site.js';
import type { SyncReport } from './sync.js';

const site = (ip: string) => routedSite('shop-web-1', { ip });

function setup(o: { healthy?: () => boolean } = {}) {
  let found = [site('10.0.0.2')];
  let onChange: () => void = () => undefined;
  const logs: string[] = [];
  const proxy = new FakeProxy((_line, effect) => effect());
  let dead = false;
  proxy.revive = async () => {
    if (!dead) return false;
    dead = false;
    return true;
  };
  const d: KeeperDeps = {
    proxy,
    discover: async () => ({ sites: found, unmanaged: [] }),
    checkHealth: async (): Promise<Verdict> => ((o.healthy ?? (() => true))() ? { healthy: true, attempts: [] } : { healthy: false, reason: 'not yet', attempts: [] }),
    busySince: () => new Set(),
    watch: (cb) => (onChange = cb),
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
    debounceMs: 5,
    reconcileMs: 60_000,
    superviseMs: 10,
    retryMs: 10,
  };
  const keeper = startKeeper(d);
  const syncs: SyncReport[] = [];
  keeper.onSync((r) => syncs.push(r));
  /** Resolves with the first sync report after now that satisfies `ok` (bounded, so a broken keeper fails the test). */
  const nextSync = (ok: (r: SyncReport) => boolean = () => true) =>
    new Promise<SyncReport>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such sync; logs: ${logs.join(' | ')}`)), 10_000);
      keeper.onSync((r) => {
        if (!ok(r)) return;
        clearTimeout(timer);
        resolve(r);
      });
    });
  return { keeper, proxy, logs, syncs, nextSync, event: () => onChange(), move: (ip: string) => (found = [site(ip)]), kill: () => (dead = true) };
}

describe('the proxy keeper', () => {
  it('brings the proxy in step at start, then follows the engine\'s events', async () => {
    const k = setup();
    try {
      const first = await k.keeper.ready;
      expect(first.sites[0]!.servers.map((s) => s.ip)).toEqual(['10.0.0.2']);
      k.move('10.0.0.8');
      const next = k.nextSync((r) => r.sites[0]?.servers[0]?.ip === '10.0.0.8');
      k.event();
      await next;
      expect((await k.proxy.list('shop.web')).map((s) => s.ip)).toEqual(['10.0.0.8']);
    } finally {
      await k.keeper.stop();
    }
  });

  it('asks again until a container that was not healthy is, and then puts it in rotation', async () => {
    let checks = 0;
    const k = setup({ healthy: () => ++checks >= 3 });
    try {
      await k.keeper.ready;
      await k.nextSync((r) => r.waiting.length === 0 && r.sites[0]!.servers.length === 1);
      expect(checks).toBe(3);
      expect(k.proxy.ready('shop.web')).toEqual(['shop-web-1']);
    } finally {
      await k.keeper.stop();
    }
  });

  it('starts the proxy again when its process is gone, says so, and syncs', async () => {
    const k = setup();
    try {
      await k.keeper.ready;
      const after = k.nextSync();
      k.kill();
      await after;
      expect(k.logs.some((l) => /proxy was not running: started it again from its state/.test(l))).toBe(true);
    } finally {
      await k.keeper.stop();
    }
  });

  it("says so too when the proxy was gone only by the time a sync's apply looked, and that apply started it again", async () => {
    const k = setup();
    try {
      await k.keeper.ready;
      const apply = k.proxy.apply.bind(k.proxy);
      let dieBeforeApply = true;
      // revive saw it running; the sync's apply then finds it gone and starts it (the adapter reports that).
      k.proxy.apply = async (sites, o = {}) => {
        await apply(sites, o);
        if (dieBeforeApply) o.restarted?.();
        dieBeforeApply = false;
      };
      const restarted = k.nextSync((r) => r.restarted);
      k.event();
      await restarted;
      expect(k.logs.filter((l) => /proxy was not running: started it again from its state/.test(l))).toHaveLength(1);
    } finally {
      await k.keeper.stop();
    }
  });
});
