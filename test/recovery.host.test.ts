/**
 * Recovery you can bet a host on, on a real host (Compose, HAProxy, registry): one test per
 * way a maintenance used to go wrong. A failure while recovery finishes forward, a half-done
 * proxy add, a customer editing the config dir during the maintenance, an undo that keeps
 * failing, the shadow's stop, extract containers a killed refit left, and a rollback whose
 * original comes back on another image. Each ends with the site whole, old or new.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHADOW_SUFFIX } from '../src/compose/override.js';
import { parseConfigText } from '../src/config/load.js';
import type { ContainerReport, PassReport } from '../src/maintenance/report.js';
import { createProxy } from '../src/proxy/adapter.js';
import { siteIdOf } from '../src/proxy/sites.js';
import { halfAddHaproxy } from './support/half-add.js';
import { CUSTOMER_EXTRA, NEW_TREE, OLD_TREE, startHarness, tree, type Harness, type TestSite } from './support/host-harness.js';
import { journalSeq, waitForStep } from './support/journal-watch.js';
import { refitAsync } from './support/refit-cli.js';
import { expectWhole, getThroughProxy } from './support/site-checks.js';
import { suiteName } from './support/suite.js';

const SUITE = suiteName('recovery');
let h: Harness;

beforeAll(async () => {
  h = await startHarness(SUITE);
});
afterAll(async () => h?.stop());

const only = (r: { json<T>(): T }) => r.json<PassReport>().containers[0]!;
const recovered = (r: { json<T>(): T }) => r.json<{ recovered: ContainerReport[] }>().recovered;
const docker = (...args: string[]) => execFileSync('docker', args).toString().trim();

async function serves(site: TestSite, version: '1.0.0' | '1.1.0'): Promise<void> {
  const { status, body } = await getThroughProxy(h, site);
  expect([status, body.split('\n')[0]]).toEqual([200, `fixture version=${version}`]);
}

/**
 * A network of the site's shadow project kept busy by a running container: removing the shadow
 * (its containers, then its project's networks) fails until `unblock`.
 */
function blockShadowRemoval(site: TestSite): { unblock(): void } {
  const name = `${site.project}-blocker`;
  docker('network', 'create', '--label', `com.docker.compose.project=${site.project}${SHADOW_SUFFIX}`, '--label', `refit.test.suite=${SUITE}`, name);
  docker('run', '-d', '--name', name, '--network', name, '--label', `refit.test.suite=${SUITE}`, h.ref('web', '1.0.0'));
  return { unblock: () => void spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' }) };
}

/** A release file for a `hold:` fault, and the function that releases it. */
function holdRelease(name: string): { file: string; release(): void } {
  const file = join(h.stateDir, '..', `release-${name}-${process.pid}`);
  return { file, release: () => writeFileSync(file, '') };
}

describe('a failure while recovery finishes forward', () => {
  it('never undoes the committed update: the new original keeps serving, the next recover finishes', async () => {
    const site = await h.site('v2');
    let block: { unblock(): void } | undefined;
    try {
      // Killed with the new original proven, before it is back in the proxy: recover finishes forward.
      const killed = await refitAsync(['run', '--container', site.container], { ...h.env, REFIT_FAULT: 'kill:original-traffic:begin' });
      expect(killed.code, killed.stdout + killed.stderr).toBe(137);
      block = blockShadowRemoval(site);
      const r = await refitAsync(['recover', '--json'], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const [first] = recovered(r);
      expect(first?.result).toBe('failed');
      expect(first?.reason).toMatch(/the update stands but did not finish: retire-shadow: /);
      await serves(site, '1.1.0');

      block.unblock();
      const again = await refitAsync(['recover', '--json'], h.env);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(recovered(again)[0]?.result).toBe('updated');
      await expectWhole(h, site, 'new');
    } finally {
      block?.unblock();
      await site.down();
    }
  });
});

describe('a half-done proxy add', () => {
  it('is completed: the new original is made ready at its address before the shadow leaves', async () => {
    const site = await h.site('v1');
    try {
      const killed = await refitAsync(['run', '--container', site.container], { ...h.env, REFIT_FAULT: 'kill:original-traffic:begin' });
      expect(killed.code, killed.stdout + killed.stderr).toBe(137);
      // The first of HAProxy's two commands of an add: the server has its slot and address, in maintenance.
      const runDir = parseConfigText(h.configText).proxy.haproxy.runDir;
      const siteId = siteIdOf({ compose: { project: site.project, service: 'web' } });
      const ip = docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', site.container);
      await halfAddHaproxy(runDir, siteId, { name: site.container, ip, port: 80 });
      expect((await createProxy(parseConfigText(h.configText).proxy).list(siteId)).find((s) => s.name === site.container)).toMatchObject({ ip, state: 'maint' });

      const r = await refitAsync(['recover', '--json'], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(recovered(r)[0]?.result).toBe('updated');
      await expectWhole(h, site, 'new');
    } finally {
      await site.down();
    }
  });
});

describe('the customer edits the config dir during the maintenance', () => {
  it('the edit is merged, not lost, and the kept backup is the tree that was replaced', async () => {
    const site = await h.site('v2');
    const hold = holdRelease('edit');
    try {
      const from = journalSeq(h.stateDir);
      const pass = refitAsync(['run', '--json', '--container', site.container], { ...h.env, REFIT_FAULT: 'hold:drain-original:begin', REFIT_FAULT_RELEASE: hold.file });
      // Merged and backed up already; the swap is still to come.
      expect(await waitForStep(h.stateDir, { step: 'drain-original', phase: 'begin', afterSeq: from, until: pass })).toBe(true);
      appendFileSync(join(site.confDir, 'extra.conf'), 'edited-during-maintenance=yes\n');
      writeFileSync(join(site.confDir, 'added-during.conf'), 'added=yes\n');
      hold.release();
      const r = await pass;
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const report = only(r);
      expect(report.result).toBe('updated');
      expect(report.notes.join('\n')).toMatch(/changed during the maintenance; merged it again/);
      const edits = { 'extra.conf': `${CUSTOMER_EXTRA}edited-during-maintenance=yes\n`, 'added-during.conf': 'added=yes\n' };
      expect(tree(site.confDir)).toEqual({ ...NEW_TREE, ...edits });
      const backups = join(h.stateDir, 'backups', `${site.project}_web`);
      const [backup] = readdirSync(backups);
      expect(tree(join(backups, backup!))).toEqual({ ...OLD_TREE, ...edits });
      await serves(site, '1.1.0');
    } finally {
      hold.release();
      await site.down();
    }
  });
});

describe('an undo that keeps failing', () => {
  it('leaves the rollback unfinished (never closed as failed): the next recover finishes it', async () => {
    const site = await h.site('v2');
    const block = blockShadowRemoval(site);
    try {
      const r = await refitAsync(['run', '--json', '--container', site.container], { ...h.env, REFIT_FAULT: 'fail:original-health' });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const report = only(r);
      expect(report.result).toBe('failed');
      expect(report.reason).toMatch(/rollback did not finish: shadow: .*`refit recover`/);
      // The original is back on its old image and serves; the shadow is out of the proxy.
      await serves(site, '1.0.0');

      block.unblock();
      const again = await refitAsync(['recover', '--json'], h.env);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(recovered(again)[0]?.result).toBe('rolled-back');
      await expectWhole(h, site, 'old');
    } finally {
      block.unblock();
      await site.down();
    }
  });
});

describe('the shadow is retired', () => {
  it('with a graceful stop (SIGTERM, as Compose stops a service), never SIGKILL', async () => {
    const site = await h.site('v2');
    try {
      const since = Math.floor(Date.now() / 1000) - 1;
      const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const until = Math.ceil(Date.now() / 1000) + 1;
      const signals = docker('events', '--since', `${since}`, '--until', `${until}`, '--filter', 'type=container', '--filter', 'event=kill', '--filter', `label=refit.shadow-of=${site.container}`, '--format', '{{.Actor.Attributes.signal}}');
      expect(signals.split('\n').filter(Boolean)).toEqual(['15']);
      await expectWhole(h, site, 'new');
    } finally {
      await site.down();
    }
  });
});

describe('extract containers a killed refit left behind', () => {
  it('are removed by the next recover; the one of a live refit is kept', async () => {
    const startTime = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[19]!;
    const gone = spawnSync('true').pid!; // a process that has exited
    const create = (owner: string) =>
      docker('create', '--label', 'refit.role=extract', '--label', `refit.extract.owner=${owner}`, '--label', `refit.test.suite=${SUITE}`, '--network', 'none', '--entrypoint', '/refit-extract-never-runs', h.ref('web', '1.0.0'));
    const leftover = create(`${gone}:1`);
    const live = create(`${process.pid}:${startTime(process.pid)}`);
    try {
      const r = await refitAsync(['recover'], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const left = docker('ps', '-aq', '--no-trunc', '--filter', 'label=refit.role=extract', '--filter', `label=refit.test.suite=${SUITE}`).split('\n');
      expect(left).toEqual([live]);
      expect(leftover).not.toBe(live);
    } finally {
      spawnSync('docker', ['rm', '-f', leftover, live], { stdio: 'ignore' });
    }
  });
});

describe('a rollback whose original comes back on another image', () => {
  it('is not reported rolled back: it stays unfinished until the original runs its old image', async () => {
    const site = await h.site('v1');
    const hold = holdRelease('other-image');
    const composeFile = join(site.dir, 'docker-compose.yml');
    try {
      const from = journalSeq(h.stateDir);
      const pass = refitAsync(['run', '--json', '--container', site.container], { ...h.env, REFIT_FAULT: 'fail:original-health,hold:drain-original:undo', REFIT_FAULT_RELEASE: hold.file });
      // The compose file is the customer's again; before the original is brought back, it names the new image.
      expect(await waitForStep(h.stateDir, { step: 'drain-original', phase: 'undo-begin', afterSeq: from, until: pass })).toBe(true);
      expect(readFileSync(composeFile, 'utf8')).toBe(site.composeText);
      writeFileSync(composeFile, site.composeText.replace(h.ref('web', '1.0.0'), h.ref('web', '1.1.0')));
      hold.release();
      const r = await pass;
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const report = only(r);
      expect(report.result).toBe('failed');
      expect(report.reason).toMatch(/rollback did not finish: drain-original: the original \S+ runs image sha256:\w+, not its old image sha256:\w+/);

      writeFileSync(composeFile, site.composeText);
      const again = await refitAsync(['recover', '--json'], h.env);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(recovered(again)[0]?.result).toBe('rolled-back');
      await expectWhole(h, site, 'old');
    } finally {
      hold.release();
      await site.down();
    }
  });
});
