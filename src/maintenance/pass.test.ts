import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJournal, type Journal } from '../journal/journal.js';
import type { UpdateCheck } from '../registry/check.js';
import { siteFor } from '../registry/testing/sites.js';
import type { Site } from '../site/discover.js';
import { FakeWorld } from './fake-world.js';
import { runPass, type FleetGate, type PassHost } from './pass.js';

const OLD = { reference: 'reg.example/web:1.0.0', id: 'sha256:old' };
const NEW = { reference: 'reg.example/web:1.1.0', id: 'sha256:new', digest: `sha256:${'d'.repeat(64)}` };
const site: Site = { ...siteFor('shop-web-1', OLD.reference, 'minor', { id: OLD.id, repoDigests: [] }), networks: [{ name: 'shop_front', ip: '10.0.0.1' }], vhosts: ['shop.example'] };
const check: UpdateCheck = {
  container: site.name,
  policy: 'minor',
  current: { reference: OLD.reference, imageId: OLD.id, digest: null },
  candidate: { reference: NEW.reference, digest: NEW.digest },
  status: 'update',
  reason: '1.1.0 is newer',
};

let stateDir: string;
let journal: Journal;
let world: FakeWorld;

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'refit-pass-'));
  journal = openJournal(stateDir);
  world = new FakeWorld({ original: site.name, image: OLD, siteId: 'shop_web' });
  world.registry.set(NEW.reference, NEW.id);
});
afterEach(() => {
  journal.close();
  rmSync(stateDir, { recursive: true, force: true });
});

function host(fleet?: FleetGate): PassHost {
  return {
    deps: { world, journal, stateDir, keepBackups: 3 },
    discover: async () => ({ sites: [site], unmanaged: [] }),
    syncProxy: async () => undefined,
    checkUpdates: async () => [check],
    runHook: async () => undefined,
    ...(fleet ? { fleet } : {}),
  };
}

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
