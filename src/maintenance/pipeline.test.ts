import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJournal, type Journal } from '../journal/journal.js';
import { MAINTENANCE_STEPS } from '../journal/steps.js';
import type { Site } from '../site/discover.js';
import { FakeWorld } from './fake-world.js';
import { maintainContainer, recoverUnfinished, type PipelineDeps } from './pipeline.js';
import { STEPS } from './steps.js';

const OLD = { reference: 'reg.example/web:1.0.0', id: 'sha256:old' };
const NEW = { reference: 'reg.example/web:1.1.0', id: 'sha256:new' };
const SITE_ID = 'shop_web';

const site: Site = {
  name: 'shop-web-1',
  id: 'c0',
  state: 'running',
  compose: { project: 'shop', workingDir: '/srv/shop', configFiles: ['/srv/shop/docker-compose.yml'], service: 'web', version: '2.26.1' },
  networks: [{ name: 'shop_front', ip: '10.0.0.1' }],
  image: { reference: OLD.reference, id: OLD.id, repoDigests: [] },
  vhosts: ['shop.example'],
  port: 80,
  policy: 'minor',
  healthPath: '/refit/health',
  hooks: { preUpdate: null, postUpdate: null },
  config: { containerPath: '/etc/site', hostPath: '/srv/shop/conf' },
};

let stateDir: string;
let journal: Journal;
let world: FakeWorld;

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'refit-pipeline-'));
  journal = openJournal(stateDir);
  world = new FakeWorld({ original: site.name, image: OLD, siteId: SITE_ID });
  world.registry.set(NEW.reference, NEW.id);
});
afterEach(() => {
  journal.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const deps = (j: Journal = journal): PipelineDeps => ({ world, journal: j, stateDir, keepBackups: 3 });
const run = () => maintainContainer(deps(), journal.beginRun('run'), site, SITE_ID, { reference: NEW.reference, digest: null });

/** The original's container on the new image (recreated by the swap) answers at this IP. */
function isRecreatedOriginal(ip: string): boolean {
  const c = world.containers.get(site.name);
  return c?.ip === ip && c.imageId === NEW.id;
}

/** The site is exactly as before the maintenance: old image, old configs, original serving, nothing left. */
function expectUntouched() {
  const original = world.containers.get(site.name)!;
  expect(original.imageId).toBe(OLD.id);
  expect(original.config).toBe('customer-v1');
  expect(world.customerConfig).toBe('customer-v1');
  expect(world.composeImage).toBe(OLD.reference);
  expect(world.proxy.ready(SITE_ID)).toEqual([site.name]);
  expect([...world.containers.keys()]).toEqual([site.name]);
  expect(world.dirs.size).toBe(0);
}

/** The site runs the new image with the merged configs, serving alone; nothing left. */
function expectUpdated() {
  const original = world.containers.get(site.name)!;
  expect(original.imageId).toBe(NEW.id);
  expect(original.config).toBe('merged');
  expect(world.composeImage).toBe(NEW.reference);
  expect(world.proxy.ready(SITE_ID)).toEqual([site.name]);
  expect([...world.containers.keys()]).toEqual([site.name]);
  expect(world.dirs.size).toBe(0);
}

describe('one container maintenance', () => {
  it('runs the steps in the order the journal contract names them', () => {
    expect(STEPS.map((s) => s.name)).toEqual([...MAINTENANCE_STEPS]);
  });

  it('updates: shadow proven and serving before the original is drained; original back only after its check', async () => {
    const report = await run();
    expect(report.result).toBe('updated');
    expectUpdated();
    const c = world.calls;
    // A call line is `verb argument`; match the verb, and the argument exactly when given.
    const at = (call: string, from = 0) => c.findIndex((x, i) => i >= from && (x === call || (!call.includes(' ') && x.startsWith(`${call} `))));
    const shadowName = c[at('shadow.start')]!.split(' ')[1]!;
    expect(shadowName).toBe('shop-web-1-refit-shadow');
    expect(at(`proxy.add ${shadowName}`)).toBeGreaterThan(at('health'));
    expect(at(`proxy.drain ${site.name}`)).toBeGreaterThan(at(`proxy.add ${shadowName}`));
    expect(at('install-configs')).toBeGreaterThan(at(`proxy.drain ${site.name}`));
    const recreate = at('recreate');
    expect(at('health', recreate)).toBeGreaterThan(recreate);
    expect(at(`proxy.add ${site.name}`)).toBeGreaterThan(at('health', recreate));
    expect(at(`proxy.drain ${shadowName}`)).toBeGreaterThan(at(`proxy.add ${site.name}`));
    expect(report.steps.map((s) => s.step)).toEqual([...MAINTENANCE_STEPS]);
    expect(journal.history({ container: site.name })[0]!.status).toBe('updated');
  });

  it('rolls back a new image that fails its health check without touching the original', async () => {
    world.unhealthyImages.add(NEW.id);
    const report = await run();
    expect(report).toMatchObject({ result: 'rolled-back' });
    expect(report.reason).toMatch(/shadow-health: shadow .* is unhealthy: GET \/ answered 500/);
    expectUntouched();
    expect(world.calls.some((x) => x.startsWith('recreate'))).toBe(false);
    expect(world.calls.filter((x) => x.startsWith('proxy.')).length).toBe(0);
  });

  it('restores the tag a same-tag pull moved', async () => {
    world.registry.set(OLD.reference, NEW.id);
    world.unhealthyImages.add(NEW.id);
    const report = await maintainContainer(deps(), journal.beginRun('run'), site, SITE_ID, { reference: OLD.reference, digest: 'sha256:d' });
    expect(report.result).toBe('rolled-back');
    expect(world.tags.get(OLD.reference)).toBe(OLD.id);
    expectUntouched();
  });

  const failurePoints = ['pull', 'mkdir', 'extract', 'merge', 'save-compose', 'shadow.start', 'proxy.add', 'backup', 'proxy.drain', 'install-configs', 'bump', 'recreate'];
  it.each(failurePoints)('a failure at %s rolls back to the untouched site', async (point) => {
    world.failOn = point;
    const report = await run();
    expect(report.result).toBe('rolled-back');
    world.failOn = null;
    expectUntouched();
  });

  it('rolls back when the recreated original fails its check, bringing the old one back', async () => {
    // The shadow passes; the recreated original on the new image does not.
    const check = world.checkHealth.bind(world);
    world.checkHealth = async (t) => (isRecreatedOriginal(t.ip) ? { healthy: false, reason: 'GET / timed out', attempts: [] } : check(t));
    const report = await run();
    expect(report.result).toBe('rolled-back');
    expect(report.reason).toMatch(/original-health/);
    expectUntouched();
  });
});

class Crash extends Error {}

/** A journal that dies (like a SIGKILLed refit) right after its Nth write. */
function crashingJournal(real: Journal, afterWrites: number): Journal {
  let writes = 0;
  const dead = () => {
    throw new Crash('killed');
  };
  return new Proxy(real, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || !['stepBegin', 'stepDone', 'stepFailed', 'undoBegin', 'undoDone', 'finishMaintenance'].includes(String(prop))) return value;
      return (...args: unknown[]) => {
        if (writes >= afterWrites) dead();
        writes++;
        return value.apply(target, args);
      };
    },
  });
}

describe('recover after a crash', () => {
  // Each step writes begin and done: crash after every journal write of a successful update.
  const writes = MAINTENANCE_STEPS.length * 2;
  it.each(Array.from({ length: writes }, (_, i) => i + 1))('after journal write %i the site ends untouched or fully updated', async (n) => {
    await expect(maintainContainer(deps(crashingJournal(journal, n)), journal.beginRun('run'), site, SITE_ID, { reference: NEW.reference, digest: null })).rejects.toThrow(Crash);
    const before = world.calls.length;
    const reports = await recoverUnfinished(deps());
    if (process.env.DEBUG_RECOVER) console.log(n, reports[0]?.reason, world.calls.slice(before));
    expect(reports).toHaveLength(1);
    const commitDone = n >= MAINTENANCE_STEPS.indexOf('original-health') * 2 + 2;
    if (commitDone) {
      expect(reports[0]!.result).toBe('updated');
      expectUpdated();
    } else {
      expect(reports[0]!.result).toBe('rolled-back');
      expectUntouched();
    }
    expect(journal.unfinished()).toEqual([]);
  });

  it('a crash during a rollback is continued by recover', async () => {
    world.unhealthyImages.add(NEW.id);
    // Writes: 7 steps begun/done (14) + shadow-health begin + failed = 16; then the undo writes begin.
    await expect(maintainContainer(deps(crashingJournal(journal, 18)), journal.beginRun('run'), site, SITE_ID, { reference: NEW.reference, digest: null })).rejects.toThrow(Crash);
    const reports = await recoverUnfinished(deps());
    expect(reports[0]!.result).toBe('rolled-back');
    expectUntouched();
  });
});

describe('a failure after the point of no return', () => {
  it.each(['proxy.add shop-web-1', 'shadow.remove', 'rmdir'])('at %s: the update stands and recover finishes it', async (point) => {
    // Once the recreated original is checked (the commit step), fail the named call.
    const check = world.checkHealth.bind(world);
    world.checkHealth = async (t) => {
      if (isRecreatedOriginal(t.ip)) world.failOn = point;
      return check(t);
    };
    const report = await run();
    expect(report.result).toBe('failed');
    expect(report.reason).toMatch(/the update stands but did not finish: .*refit recover/);
    expect(journal.unfinished()).toHaveLength(1);
    const [recovered] = await recoverUnfinished(deps());
    expect(recovered!.result).toBe('updated');
    expectUpdated();
  });
});

describe('the shadow must serve while the original is out', () => {
  it('a shadow that died before the original is drained: rolled back, the original never left', async () => {
    // The shadow dies once it is in the proxy and proven through it.
    const check = world.checkPublicPath.bind(world);
    world.checkPublicPath = async (siteId, up, s) => {
      const verdict = await check(siteId, up, s);
      if (up.name.endsWith('-refit-shadow')) world.containers.delete(up.name);
      return verdict;
    };
    const report = await run();
    expect(report.result).toBe('rolled-back');
    expect(report.reason).toMatch(/drain-original: the shadow shop-web-1-refit-shadow is not running before the original was drained; the original keeps serving/);
    expect(world.calls.some((c) => c === `proxy.drain ${site.name}`)).toBe(false);
    expectUntouched();
  });
});

describe('the public path: checked through the proxy after every traffic move', () => {
  it('is checked for the shadow, then for the recreated original, each pinned to that server', async () => {
    const report = await run();
    expect(report.result).toBe('updated');
    expect(world.calls.filter((c) => c.startsWith('public '))).toEqual([`public ${site.name}-refit-shadow`, `public ${site.name}`]);
    expect(report.health.public?.map((p) => [p.server, p.verdict.healthy])).toEqual([[`${site.name}-refit-shadow`, true], [site.name, true]]);
  });

  it('a shadow the proxy cannot reach (it answers on its own IP) rolls back before the original is touched', async () => {
    world.unroutable.add(`${site.name}-refit-shadow`);
    const report = await run();
    expect(report.result).toBe('rolled-back');
    expect(report.reason).toMatch(/shadow-traffic: shadow shop-web-1-refit-shadow is not served through the proxy's public listener/);
    expectUntouched();
  });

  it("a recreated original the proxy cannot reach: the update stands but the maintenance is not reported as a success, and stays unfinished", async () => {
    const check = world.checkPublicPath.bind(world);
    world.checkPublicPath = async (siteId, up, s) => (up.name === site.name && world.containers.get(site.name)?.imageId === NEW.id ? { healthy: false, reason: 'GET / answered 502 through the proxy', attempts: [] } : check(siteId, up, s));
    const report = await run();
    expect(report.result).toBe('failed');
    expect(report.reason).toMatch(/^the update stands but did not finish: original-traffic: recreated original shop-web-1 is not served through the proxy's public listener/);
    // The shadow still serves: it is only retired once the original is proven from outside.
    expect(world.proxy.ready(SITE_ID)).toContain(`${site.name}-refit-shadow`);
    expect(journal.unfinished()).toHaveLength(1);
  });

  it('an original the proxy cannot reach after a rollback: the rollback does not report success', async () => {
    // The recreated original fails its check, so the rollback brings the original back through a proxy route that is broken.
    world.unroutable.add(site.name);
    const check = world.checkHealth.bind(world);
    world.checkHealth = async (t) => (isRecreatedOriginal(t.ip) ? { healthy: false, reason: 'GET / answered 500', attempts: [] } : check(t));
    const report = await run();
    expect(report.result).toBe('failed');
    expect(report.reason).toMatch(/rollback failed at drain-original: original shop-web-1 back on reg\.example\/web:1\.0\.0 is not served through the proxy's public listener/);
  });
});
