import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryJournal, openJournal, type Journal } from '../journal/journal.js';
import type { Site } from '../site/discover.js';
import { mergedTree, type FakeWorld } from './fake-world.js';
import { maintainContainer, recoverUnfinished, type PipelineDeps } from './pipeline.js';
import { LEGACY_STEP_NAMES, STEP_ORDER, STEPS } from './steps.js';
import { Crash, fakeSite, fakeWorld, mortalProcess, NEW, notWhole, OLD, SITE_ID, type KillPoint } from './testing/fake-site.js';

const STATE = '/var/lib/refit';
const SHADOW = 'shop-web-1-refit-shadow';
let site: Site;
let journal: Journal;
let world: FakeWorld;

beforeEach(() => {
  site = fakeSite();
  journal = inMemoryJournal();
  world = fakeWorld(site);
});
afterEach(() => journal.close());

const deps = (j: Journal = journal): PipelineDeps => ({ world, journal: j, stateDir: STATE, keepBackups: 3, undoRetry: { attempts: 3, delayMs: 0 } });
const run = (j?: Journal, to = NEW.reference) => maintainContainer(deps(j), journal.beginRun('run'), site, SITE_ID, { reference: to, digest: null });
const recover = () => recoverUnfinished(deps());
const expectWhole = (as: 'old' | 'new') => expect(notWhole(world, site, as, { stateDir: STATE })).toEqual([]);

/** The recreated original (on the new image) answers at this IP. */
function isRecreatedOriginal(ip: string): boolean {
  const c = world.containers.get(site.name);
  return c?.ip === ip && c.imageId === NEW.id;
}

/** A run of refit killed at the first point `killAt` picks; the next process starts clean. */
async function killedRun(killAt: (p: KillPoint) => boolean): Promise<void> {
  const process = mortalProcess(world, journal, killAt);
  await expect(run(process.journal)).rejects.toThrow(Crash);
  world.onCommand = null;
  world.generation++;
}
const afterEntry = (step: string, phase: string) => (p: KillPoint) => 'step' in p && p.step === step && p.phase === phase;

describe('the step table', () => {
  it('owns every step once, one commit point, and no undo after it', () => {
    const names: string[] = STEPS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(STEPS.filter((s) => s.commit).map((s) => s.name)).toEqual([STEP_ORDER.commit]);
    expect(STEPS.slice(names.indexOf(STEP_ORDER.commit)).filter((s) => s.undo).map((s) => s.name)).toEqual([]);
    expect(STEP_ORDER.names).toEqual(names);
  });

  it('maps the step names of older journals onto steps it has', () => {
    for (const now of Object.values(LEGACY_STEP_NAMES)) expect(STEP_ORDER.names).toContain(now);
  });

  it('is the table docs/maintenance.md shows, in order', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/maintenance.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| [^|]+ \| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(rows).toEqual(STEP_ORDER.names);
  });
});

describe('one container maintenance', () => {
  it('updates: shadow proven and serving before the original is drained; original back only after its check', async () => {
    const report = await run();
    expect(report.result).toBe('updated');
    expectWhole('new');
    const c = world.calls;
    const at = (call: string, from = 0) => c.findIndex((x, i) => i >= from && x === call);
    const recreate = at('recreate.up web');
    expect(at(`proxy.set-ready ${SHADOW}`)).toBeGreaterThan(at('health 10.0.1.1'));
    expect(at(`proxy.drain ${site.name}`)).toBeGreaterThan(at(`proxy.set-ready ${SHADOW}`));
    expect(at('swap.in')).toBeGreaterThan(at(`proxy.drain ${site.name}`));
    expect(at(`health ${world.containers.get(site.name)!.ip}`, recreate)).toBeGreaterThan(recreate);
    expect(at(`proxy.set-ready ${site.name}`)).toBeGreaterThan(at(`health ${world.containers.get(site.name)!.ip}`, recreate));
    expect(at(`proxy.drain ${SHADOW}`)).toBeGreaterThan(at(`proxy.set-ready ${site.name}`));
    expect(c.indexOf(`shadow.stop ${SHADOW}`)).toBeLessThan(c.indexOf(`shadow.rm ${SHADOW}`));
    expect(report.steps.map((s) => s.step)).toEqual(STEP_ORDER.names);
    expect(journal.history({ container: site.name })[0]!.status).toBe('updated');
  });

  it('rolls back a new image that fails its health check without touching the original', async () => {
    world.unhealthyImages.add(NEW.id);
    const report = await run();
    expect(report).toMatchObject({ result: 'rolled-back' });
    expect(report.reason).toMatch(/shadow-health: shadow .* is unhealthy: GET \/ answered 500/);
    expectWhole('old');
    expect(world.calls.some((x) => x.startsWith('recreate'))).toBe(false);
    expect(world.calls.filter((x) => x.startsWith('proxy.') && x !== 'proxy.list').length).toBe(0);
  });

  it('restores the tag a same-tag pull moved', async () => {
    world.registry.set(OLD.reference, NEW.id);
    world.unhealthyImages.add(NEW.id);
    const report = await maintainContainer(deps(), journal.beginRun('run'), site, SITE_ID, { reference: OLD.reference, digest: 'sha256:d' });
    expect(report.result).toBe('rolled-back');
    expectWhole('old');
  });

  const failurePoints = ['pull', 'mkdir', 'extract.copy', 'merge', 'save-compose', 'shadow.up', 'proxy.set-ready', 'backup', 'proxy.drain', 'swap.stage', 'swap.in', 'bump', 'recreate.up'];
  it.each(failurePoints)('a failure at %s rolls back to the untouched site', async (point) => {
    world.failOn = point;
    const report = await run();
    expect(report.result).toBe('rolled-back');
    expectWhole('old');
  });

  it('rolls back when the recreated original fails its check, bringing the old one back', async () => {
    const check = world.checkHealth.bind(world);
    world.checkHealth = async (t) => (isRecreatedOriginal(t.ip) ? { healthy: false, reason: 'GET / timed out', attempts: [] } : check(t));
    const report = await run();
    expect(report.result).toBe('rolled-back');
    expect(report.reason).toMatch(/original-health/);
    expectWhole('old');
  });

  it('a site without a config dir is updated without merge, backup or swap', async () => {
    site = fakeSite({ config: false });
    world = fakeWorld(site);
    expect((await run()).result).toBe('updated');
    expectWhole('new');
    expect(world.calls.filter((c) => /^(merge|backup|swap\.)/.test(c))).toEqual([]);
  });
});

describe('recover after a crash', () => {
  // Crash after every journal write of a successful update.
  const writes = STEP_ORDER.names.length * 2;
  it.each(Array.from({ length: writes }, (_, i) => i + 1))('after journal write %i the site ends untouched or fully updated', async (n) => {
    await killedRun((p) => 'write' in p && p.write === n);
    const reports = await recover();
    expect(reports).toHaveLength(1);
    const committed = n >= STEP_ORDER.names.indexOf(STEP_ORDER.commit) * 2 + 2;
    expect(reports[0]!.result).toBe(committed ? 'updated' : 'rolled-back');
    expectWhole(committed ? 'new' : 'old');
    expect(journal.unfinished()).toEqual([]);
  });

  it('a crash during a rollback is continued by recover', async () => {
    world.unhealthyImages.add(NEW.id);
    await killedRun(afterEntry('shadow', 'undo-begin'));
    const reports = await recover();
    expect(reports[0]!.result).toBe('rolled-back');
    expectWhole('old');
  });
});

describe('a failure after the commit point', () => {
  it.each([`proxy.set-ready ${'shop-web-1'}`, 'shadow.rm', 'swap.drop', 'rmdir'])('at %s: the update stands and recover finishes it', async (point) => {
    const check = world.checkHealth.bind(world);
    world.checkHealth = async (t) => {
      if (isRecreatedOriginal(t.ip)) world.failOn = point;
      return check(t);
    };
    const report = await run();
    expect(report.result).toBe('failed');
    expect(report.reason).toMatch(/the update stands but did not finish: .*refit recover/);
    expect(journal.unfinished()).toHaveLength(1);
    const [recovered] = await recover();
    expect(recovered!.result).toBe('updated');
    expectWhole('new');
  });
});

describe('the shadow must serve while the original is out', () => {
  it('a shadow that died before the original is drained: rolled back, the original never left', async () => {
    // The shadow dies once it is in the proxy and proven through it.
    const check = world.checkPublicPath.bind(world);
    world.checkPublicPath = async (siteId, up, s) => {
      const verdict = await check(siteId, up, s);
      if (up.name === SHADOW) world.containers.delete(up.name);
      return verdict;
    };
    const report = await run();
    expect(report.result).toBe('rolled-back');
    expect(report.reason).toMatch(/drain-original: the shadow shop-web-1-refit-shadow is not running before the original was drained; the original keeps serving/);
    expect(world.calls).not.toContain(`proxy.drain ${site.name}`);
    expectWhole('old');
  });
});

// Each of these failed before its fix (issue 13).
describe('defects of issue 13', () => {
  it('1: a failure while recovery finishes forward never undoes the committed update; the next recover finishes', async () => {
    await killedRun(afterEntry('original-traffic', 'begin'));
    world.failOn = `proxy.drain ${SHADOW}`; // retire-shadow fails during the recover
    const [first] = await recover();
    expect(first!.result).toBe('failed');
    expect(first!.reason).toMatch(/^the update stands but did not finish: retire-shadow: /);
    expect(world.proxy.ready(SITE_ID)).toContain(site.name);
    expect(world.containers.get(site.name)!.imageId).toBe(NEW.id);
    expect(journal.unfinished()).toHaveLength(1);
    const [second] = await recover();
    expect(second!.result).toBe('updated');
    expectWhole('new');
  });

  it('2: a half-done add (listed, in maintenance) is completed, and the shadow is not drained before', async () => {
    // Killed between HAProxy's two commands of the original's add: `add server` done, `state ready` not.
    await killedRun((p) => 'command' in p && p.command === `proxy.add-server ${site.name}` && p.when === 'after');
    expect([...world.proxy.servers.get(SITE_ID)!].find(([n]) => n === site.name)?.[1].state).toBe('maint');
    const [r] = await recover();
    expect(r!.result).toBe('updated');
    expectWhole('new');
  });

  it('2: the last ready server of a site is never drained', async () => {
    // The recreated original never becomes ready (the proxy ignores it): the shadow must stay.
    const add = world.proxy.add.bind(world.proxy);
    world.proxy.add = async (siteId, up) => (up.name === site.name && isRecreatedOriginal(up.ip) ? undefined : add(siteId, up));
    const report = await run();
    expect(report.result).toBe('failed');
    expect(report.reason).toMatch(/original-traffic: the proxy did not put shop-web-1 into site shop_web/);
    expect(world.proxy.ready(SITE_ID)).toEqual([SHADOW]);
    world.proxy.add = add;
    expect((await recover())[0]!.result).toBe('updated');
    expectWhole('new');
  });

  it('4: an edit the customer makes during the maintenance is merged again, backed up, and kept', async () => {
    const backup = world.backupConfigs.bind(world);
    world.backupConfigs = async (dir, dest) => {
      const r = await backup(dir, dest);
      world.editCustomerConfig(); // right after the backup: the merge and the backup are stale
      world.backupConfigs = backup;
      return r;
    };
    const report = await run();
    expect(report.result).toBe('updated');
    expect(report.notes).toContain('the config dir /srv/shop/conf changed during the maintenance; merged it again');
    expect(world.customerConfig).toBe(mergedTree('customer-v2'));
    // The kept backup is the tree the swap replaced, edit included.
    expect([...world.fs].filter(([p]) => p.startsWith(`${STATE}/backups/`)).map(([, dir]) => dir.tree)).toEqual(['customer-v2']);
    expectWhole('new');
  });

  it('4: an edit between the check and the swap is caught on the replaced tree: swapped back, merged again', async () => {
    let edited = false;
    world.onCommand = (cmd, when) => {
      if (cmd === 'swap.stage' && when === 'after' && !edited) edited = world.editCustomerConfig();
    };
    const report = await run();
    expect(edited).toBe(true);
    expect(report.result).toBe('updated');
    expect(world.customerConfig).toBe(mergedTree('customer-v2'));
    expectWhole('new');
  });

  it('8: a pull that brings the image the site already runs is current, not a rollback', async () => {
    world.registry.set(NEW.reference, OLD.id);
    const report = await run();
    expect(report.result).toBe('current');
    expect(report.reason).toMatch(/brought the image it already runs/);
    expect(journal.history()[0]!.status).toBe('skipped');
    expectWhole('old');
  });

  it('9: an undo that fails once is retried: the shadow does not stay in rotation', async () => {
    const check = world.checkHealth.bind(world);
    world.checkHealth = async (t) => {
      if (!isRecreatedOriginal(t.ip)) return check(t);
      world.failOn = `proxy.drain ${SHADOW}`;
      return { healthy: false, reason: 'GET / answered 500', attempts: [] };
    };
    const report = await run();
    expect(report.result).toBe('rolled-back');
    expectWhole('old');
  });

  it('9: an undo that keeps failing leaves the rollback unfinished; the next recover finishes it', async () => {
    world.unhealthyImages.add(NEW.id);
    const remove = world.removeShadow.bind(world);
    world.removeShadow = async () => {
      throw new Error('network has active endpoints');
    };
    const report = await run();
    expect(report.result).toBe('failed');
    expect(report.reason).toMatch(/rollback did not finish: shadow: network has active endpoints \(tried 3 times\)/);
    expect(journal.unfinished()).toHaveLength(1);
    world.removeShadow = remove;
    expect((await recover())[0]!.result).toBe('rolled-back');
    expectWhole('old');
  });

  it('9: a rollback whose original comes back on another image is not rolled back: unfinished until it runs the old one', async () => {
    let failed = false;
    const check = world.checkHealth.bind(world);
    world.checkHealth = async (t) => {
      if (isRecreatedOriginal(t.ip) && !failed) {
        failed = true;
        return { healthy: false, reason: 'GET / answered 500', attempts: [] };
      }
      return check(t);
    };
    const restore = world.restoreComposeFiles.bind(world);
    world.restoreComposeFiles = async () => undefined; // the compose file keeps naming the new image
    const report = await run();
    expect(report.result).toBe('failed');
    expect(report.reason).toMatch(/rollback did not finish: drain-original: the original shop-web-1 runs image sha256:new, not its old image sha256:old/);
    expect(journal.unfinished()).toHaveLength(1);
    world.restoreComposeFiles = restore;
    // image-ref was undone already: the operator puts the compose file back, as the hint says.
    world.composeImage = OLD.reference;
    expect((await recover())[0]!.result).toBe('rolled-back');
    expectWhole('old');
  });

  it('9: config-extract containers a killed refit left are swept by the next recover', async () => {
    await killedRun((p) => 'command' in p && p.command.startsWith('extract.copy') && p.when === 'after');
    expect(world.extractContainers.size).toBe(1);
    expect((await recover())[0]!.result).toBe('rolled-back');
    expectWhole('old');
  });
});

// Found by the fault schedules (fault-schedules.test.ts); failed before its fix.
describe('defects the fault schedules found', () => {
  it('a repeated undo of drain-original never recreates the original it already put back in rotation', async () => {
    // The recreated original fails its check; the rollback brings the original back (recreated on
    // the old image, ready in the proxy), then refit is killed before journaling that undo done.
    world.unhealthyWhen = (name, c) => name === site.name && c.imageId === NEW.id;
    await killedRun((p) => 'command' in p && p.command === `proxy.set-ready ${site.name}` && p.when === 'after');
    const back = world.containers.get(site.name)!;
    expect(back.imageId).toBe(OLD.id);
    expect(world.proxy.ready(SITE_ID)).toContain(site.name);
    expect((await recover())[0]!.result).toBe('rolled-back');
    expect(world.containers.get(site.name)!.id).toBe(back.id);
    expectWhole('old');
  });
});

describe('a maintenance journaled by the previous refit (plan record version 1, other step names)', () => {
  /** A journal refit 912cb96 left after a kill (test/fixtures/journal-v1), as its journal.db. */
  function previousJournal(name: string): { journal: Journal; close(): void } {
    const dir = mkdtempSync(join(tmpdir(), 'refit-journal-v1-'));
    const db = new Database(join(dir, 'journal.db'));
    db.exec(readFileSync(join(import.meta.dirname, '../../test/fixtures/journal-v1', `${name}.sql`), 'utf8'));
    db.close();
    const old = openJournal(dir);
    return { journal: old, close: () => (old.close(), rmSync(dir, { recursive: true, force: true })) };
  }

  it.each([
    // fixture, where this refit's run is killed to leave the world as the old one left it, the outcome
    ['killed-during-recreate-original', 'recreate-original', 'begin', 'old'],
    ['killed-during-remove-scratch', 'commit-configs', 'begin', 'new'],
    ['killed-while-rolling-back', 'shadow', 'undo-begin', 'old'],
  ] as const)('%s: recovers', async (fixture, step, phase, as) => {
    if (fixture === 'killed-while-rolling-back') world.unhealthyImages.add(NEW.id);
    await killedRun(afterEntry(step, phase));
    const previous = previousJournal(fixture);
    try {
      expect(previous.journal.unfinished()[0]!.steps.map((e) => e.step)).toContain('override'); // a step name this refit no longer uses
      const [r] = await recoverUnfinished({ ...deps(), journal: previous.journal });
      expect(r!.result).toBe(as === 'new' ? 'updated' : 'rolled-back');
      expectWhole(as);
      expect(previous.journal.unfinished()).toEqual([]);
    } finally {
      previous.close();
    }
  });

  it('a plan that does not read back is refused with the reason, never guessed', async () => {
    const previous = previousJournal('killed-during-recreate-original');
    try {
      const db = new Database(previous.journal.file);
      db.prepare("UPDATE steps SET record = json_set(record, '$.site.port', 'eighty') WHERE seq = 1").run();
      db.close();
      const [r] = await recoverUnfinished({ ...deps(), journal: previous.journal });
      expect(r).toMatchObject({ result: 'failed', reason: expect.stringMatching(/^maintenance 1 cannot be recovered: the plan on its first entry does not read back \(site\.port: /) });
      expect(previous.journal.unfinished()).toHaveLength(1);
    } finally {
      previous.close();
    }
  });
});

describe('the public path: checked through the proxy after every traffic move', () => {
  it('is checked for the shadow, then for the recreated original, each pinned to that server', async () => {
    const report = await run();
    expect(report.result).toBe('updated');
    expect(world.calls.filter((c) => c.startsWith('public '))).toEqual([`public ${SHADOW}`, `public ${site.name}`]);
    expect(report.health.public?.map((p) => [p.server, p.verdict.healthy])).toEqual([[SHADOW, true], [site.name, true]]);
  });

  it('a shadow the proxy cannot reach (it answers on its own IP) rolls back before the original is touched', async () => {
    world.unroutable.add(SHADOW);
    const report = await run();
    expect(report.result).toBe('rolled-back');
    expect(report.reason).toMatch(/shadow-traffic: shadow shop-web-1-refit-shadow is not served through the proxy's public listener/);
    expect(world.calls).not.toContain(`proxy.drain ${site.name}`);
    expectWhole('old');
  });

  it('a recreated original the proxy cannot reach: the update stands but is not reported as a success, and stays unfinished', async () => {
    const check = world.checkPublicPath.bind(world);
    world.checkPublicPath = async (siteId, up, s) => (up.name === site.name && world.containers.get(site.name)?.imageId === NEW.id ? { healthy: false, reason: 'GET / answered 502 through the proxy', attempts: [] } : check(siteId, up, s));
    const report = await run();
    expect(report.result).toBe('failed');
    expect(report.reason).toMatch(/^the update stands but did not finish: original-traffic: recreated original shop-web-1 is not served through the proxy's public listener/);
    // The shadow still serves: it is only retired once the original is proven from outside.
    expect(world.proxy.ready(SITE_ID)).toContain(SHADOW);
    expect(journal.unfinished()).toHaveLength(1);
  });

  it('an original the proxy cannot reach after a rollback: the rollback does not report success, and stays unfinished', async () => {
    // The recreated original fails its check, so the rollback brings the original back through a proxy route that is broken.
    world.unroutable.add(site.name);
    const check = world.checkHealth.bind(world);
    world.checkHealth = async (t) => (isRecreatedOriginal(t.ip) ? { healthy: false, reason: 'GET / answered 500', attempts: [] } : check(t));
    const report = await run();
    expect(report.result).toBe('failed');
    expect(report.reason).toMatch(/drain-original: original shop-web-1 back on reg\.example\/web:1\.0\.0 is not served through the proxy's public listener/);
    expect(journal.unfinished()).toHaveLength(1);
  });
});

describe('the rollback leaves the original as compose would make it', () => {
  it('recreates an original that runs the old image but was created from the new reference (the new tag resolved to the old image)', async () => {
    // The new tag is moved onto the old image after the pull, so the recreated original runs the old image from the new reference.
    const tag = world.tag.bind(world);
    const bump = world.bumpImageTag.bind(world);
    world.bumpImageTag = async (c, savedIn) => {
      const r = await bump(c, savedIn);
      await tag(OLD.id, NEW.reference);
      return r;
    };
    const report = await run();
    expect(report.result).toBe('rolled-back');
    expect(report.reason).toMatch(/recreate-original: recreated \S+ runs sha256:old, not the new image/);
    const original = world.containers.get(site.name)!;
    expect([original.imageId, original.reference]).toEqual([OLD.id, OLD.reference]);
    expect(world.proxy.ready(SITE_ID)).toEqual([site.name]);
  });
});
