import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryJournal, type Journal } from '../journal/journal.js';
import type { FakeWorld } from './fake-world.js';
import { maintainContainer } from './pipeline.js';
import { runPass, type FleetGate, type PassHost } from './pass.js';
import { fakeSite, fakeWorld, NEW as NEW_IMAGE, OLD, SITE_ID, updateCheckOf } from './testing/fake-site.js';

const NEW = { ...NEW_IMAGE, digest: `sha256:${'d'.repeat(64)}` };
const site = fakeSite();
const check = updateCheckOf(site, NEW.digest);

let journal: Journal;
let world: FakeWorld;

beforeEach(() => {
  journal = inMemoryJournal();
  world = fakeWorld(site);
});
afterEach(() => journal.close());

const deps = () => ({ world, journal, stateDir: '/var/lib/refit', keepBackups: 3, undoRetry: { attempts: 1, delayMs: 0 } });

function host(fleet?: FleetGate): PassHost {
  return {
    deps: deps(),
    discover: async () => ({ sites: [site], unmanaged: [] }),
    syncProxy: async () => undefined,
    checkUpdates: async () => [check],
    runHook: async () => undefined,
    ...(fleet ? { fleet } : {}),
  };
}

describe('runPass', () => {
  it('leaves a container alone while its previous maintenance stays unfinished', async () => {
    // A rollback that cannot finish: the shadow cannot be removed.
    world.unhealthyImages.add(NEW.id);
    world.removeShadow = async () => {
      throw new Error('network has active endpoints');
    };
    expect((await maintainContainer(deps(), journal.beginRun('run'), site, SITE_ID, { reference: NEW.reference, digest: null })).result).toBe('failed');

    const report = await runPass(host(), { kind: 'run', concurrency: 1 });
    expect(report.recovered.map((r) => r.result)).toEqual(['failed']);
    expect(report.containers.map((r) => [r.result, r.reason])).toEqual([['skipped', 'its previous maintenance is unfinished (see `refit status`); `refit recover` takes it up first']]);
    expect(report.ok).toBe(false);
    expect(journal.unfinished()).toHaveLength(1);
  });
});

describe('a pass in a fleet', () => {
  it('asks the fleet gate with the site and its candidate before any step', async () => {
    const asked: string[] = [];
    const report = await runPass(host({ admit: async (s, c) => (asked.push(`${s.name} ${c.reference} ${c.digest}`), { admit: true }) }), { kind: 'run', concurrency: 1 });
    expect(asked).toEqual([`${site.name} ${NEW.reference} ${NEW.digest}`]);
    expect(report.containers[0]).toMatchObject({ result: 'updated' });
  });

  it('skips a site the gate holds back, touching nothing, and journals the skip with its reason', async () => {
    const report = await runPass(host({ admit: async () => ({ admit: false, reason: 'fleet: soaking: canary reported it at …' }) }), { kind: 'run', concurrency: 1 });
    expect(report.ok).toBe(true);
    expect(report.containers[0]).toMatchObject({ result: 'skipped', reason: 'fleet: soaking: canary reported it at …', to: { reference: NEW.reference, digest: NEW.digest } });
    expect(world.calls.filter((c) => c.startsWith('pull'))).toEqual([]);
    expect(world.containers.get(site.name)!.imageId).toBe(OLD.id);
    const [entry] = journal.history();
    expect(entry).toMatchObject({ runId: report.runId, container: site.name, status: 'skipped', imageBefore: OLD.reference, imageAfter: NEW.reference, reason: 'fleet: soaking: canary reported it at …', steps: [] });
    expect(journal.lastRuns(1)[0]).toMatchObject({ result: 'success', counts: { skipped: 1 } });
  });

  it('does not ask the gate without a candidate', async () => {
    const current = { ...check, status: 'current' as const, candidate: null };
    let asked = 0;
    const report = await runPass({ ...host({ admit: async () => (asked++, { admit: true }) }), checkUpdates: async () => [current] }, { kind: 'run', concurrency: 1 });
    expect([asked, report.containers[0]!.result]).toEqual([0, 'current']);
  });
});

describe('the images a pass replaced (images.removeReplaced)', () => {
  const removing = (): PassHost => ({ ...host(), removeReplacedImages: true });

  it('are removed with their tags once the pass is over, when no container uses them', async () => {
    const report = await runPass(removing(), { kind: 'run', concurrency: 1 });
    expect(report.containers[0]).toMatchObject({ result: 'updated' });
    expect(report.images).toEqual({ removed: [{ imageId: OLD.id, references: [OLD.reference], deleted: true }], notes: [] });
    expect(world.images.has(OLD.id)).toBe(false);
    expect(world.tags.has(OLD.reference)).toBe(false);
    expect(world.images.has(NEW.id)).toBe(true);
  });

  it('stay while another container uses them', async () => {
    world.containers.set('other-site', { ...world.containers.get(site.name)!, id: 'c-other' });
    const report = await runPass(removing(), { kind: 'run', concurrency: 1 });
    expect(report.containers[0]).toMatchObject({ result: 'updated' });
    expect(report.images).toEqual({ removed: [], notes: [] });
    expect(world.tags.get(OLD.reference)).toBe(OLD.id);
  });

  it('stay when the update rolled back, and when the option is off', async () => {
    world.unhealthyImages.add(NEW.id);
    const rolledBack = await runPass(removing(), { kind: 'run', concurrency: 1 });
    expect(rolledBack.containers[0]).toMatchObject({ result: 'rolled-back' });
    expect(rolledBack.images).toEqual({ removed: [], notes: [] });
    world.unhealthyImages.delete(NEW.id);
    const off = await runPass(host(), { kind: 'run', concurrency: 1 });
    expect(off.containers[0]).toMatchObject({ result: 'updated' });
    expect(off.images).toBeUndefined();
    expect(world.images.has(OLD.id)).toBe(true);
  });
});
