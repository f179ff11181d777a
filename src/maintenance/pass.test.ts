import { describe, expect, it } from 'vitest';
import { inMemoryJournal } from '../journal/journal.js';
import { maintainContainer } from './pipeline.js';
import { runPass, type PassHost } from './pass.js';
import { fakeSite, fakeWorld, NEW, SITE_ID } from './testing/fake-site.js';

describe('runPass', () => {
  it('leaves a container alone while its previous maintenance stays unfinished', async () => {
    const site = fakeSite();
    const world = fakeWorld(site);
    const journal = inMemoryJournal();
    const deps = { world, journal, stateDir: '/var/lib/refit', keepBackups: 3, undoRetry: { attempts: 1, delayMs: 0 } };
    // A rollback that cannot finish: the shadow cannot be removed.
    world.unhealthyImages.add(NEW.id);
    world.removeShadow = async () => {
      throw new Error('network has active endpoints');
    };
    expect((await maintainContainer(deps, journal.beginRun('run'), site, SITE_ID, { reference: NEW.reference, digest: null })).result).toBe('failed');

    const host: PassHost = {
      deps,
      discover: async () => ({ sites: [site], unmanaged: [] }),
      checkUpdates: async () => [{ container: site.name, policy: 'minor', current: { reference: site.image.reference, imageId: site.image.id, digest: null }, candidate: { reference: NEW.reference, digest: null }, status: 'update', reason: 'newer' }],
      runHook: async () => undefined,
    };
    const report = await runPass(host, { kind: 'run', concurrency: 1 });
    expect(report.recovered.map((r) => r.result)).toEqual(['failed']);
    expect(report.containers.map((r) => [r.result, r.reason])).toEqual([['skipped', 'its previous maintenance is unfinished (see `refit status`); `refit recover` takes it up first']]);
    expect(report.ok).toBe(false);
    expect(journal.unfinished()).toHaveLength(1);
    journal.close();
  });
});
