/**
 * Faults the engine tests do not cover, on a real host (Compose, HAProxy, registry): the
 * shadow dying after it passed its check, the new original failing to start, the registry
 * vanishing mid-pull, the scratch filesystem full. After each pass (and `refit recover` where
 * refit was killed) every site serves, its config dir is exactly the old or the fully merged
 * tree, and nothing is left behind: no shadow container or network, scratch dir, staging dir.
 *
 * The points in a live pass are reached deterministically: the test acts when the journal
 * (opened read-only) shows the step it waits for, and a request held in the original keeps
 * `drain-original` waiting until the test has acted and lets it answer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassReport } from '../src/maintenance/report.js';
import { freePort, startRegistry, type RunningRegistry } from '../src/registry/testing/local-registry.js';
import { startHarness, type Harness, type TestSite } from './support/host-harness.js';
import { journalSeq, waitForStep } from './support/journal-watch.js';
import { refitAsync, type CliResult } from './support/refit-cli.js';
import { expectWhole as expectWholeSite, getThroughProxy } from './support/site-checks.js';
import { startVanishingFront } from './support/vanishing-registry.js';
import { suiteName } from './support/suite.js';
import { removeImageTags } from './support/web-image.js';
import { until } from './support/until.js';

const SUITE = suiteName('faults');
let h: Harness;
/** The registry restarted on its port after the vanishing-registry test, for the tests after it. */
let restored: RunningRegistry | undefined;

beforeAll(async () => {
  unmountLeftovers();
  // A drain here ends when the test ends its held request (passDrainingOnCue), never by the bound.
  h = await startHarness(SUITE, { drainTimeoutMs: 600_000 });
});
afterAll(async () => {
  await restored?.stop();
  await h?.stop();
});

/** A killed earlier run of the scratch-full test leaves its tmpfs mounted inside its harness dir. */
function unmountLeftovers(): void {
  const mine = new RegExp(`^${tmpdir()}/refit-${SUITE}-[^/]+/state/scratch$`);
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const point = line.split(' ')[1];
    if (point && mine.test(point)) execFileSync('umount', [point]);
  }
}

const get = (site: TestSite, path?: string, timeoutMs?: number) => getThroughProxy(h, site, path, timeoutMs);

/**
 * A pass on `site` whose original drains until the test says so. refit is held before the
 * shadow joins the traffic, so a request sent then reaches the original (the only server); it
 * waits in the original for the test's word. Once the original has it, refit goes on, and
 * `drain-original` waits for that request (this suite's drain bound is far away): the test acts
 * while the original drains, then `endDrain()` lets the request answer.
 */
async function passDrainingOnCue(site: TestSite): Promise<{ pass: Promise<CliResult>; from: number; held: Promise<{ status: number; body: string }>; endDrain(): void }> {
  const from = journalSeq(h.stateDir);
  const release = join(h.stateDir, '..', `release-${site.container}`);
  const pass = refitAsync(['run', '--json', '--container', site.container], { ...h.env, REFIT_FAULT: 'hold:shadow-traffic:begin', REFIT_FAULT_RELEASE: release });
  expect(await waitForStep(h.stateDir, { step: 'shadow-traffic', phase: 'begin', afterSeq: from, until: pass })).toBe(true);
  const held = get(site, '/cgi-bin/slow?until=drain', 600_000);
  const inOriginal = (...cmd: string[]) => spawnSync('docker', ['exec', site.container, ...cmd], { stdio: 'ignore' }).status === 0;
  await until('the held request reaches the original', () => inOriginal('test', '-e', '/tmp/drain.started'));
  writeFileSync(release, '');
  return { pass, from, held, endDrain: () => void inOriginal('touch', '/tmp/drain') };
}

const expectWhole = (site: TestSite, as: 'old' | 'new', o?: { scratch?: string[] }) => expectWholeSite(h, site, as, o);

const only = (r: { json<T>(): T }) => r.json<PassReport>().containers[0]!;

describe('the shadow dies after it passed its check', () => {
  it('refit killed right after shadow-health, the shadow killed too: recover rolls back to the untouched site', async () => {
    const site = await h.site('v2');
    try {
      const killed = await refitAsync(['run', '--container', site.container], { ...h.env, REFIT_FAULT: 'kill:shadow-health:done' });
      expect(killed.code, killed.stdout + killed.stderr).toBe(137);
      const [shadow] = h.shadows();
      expect(shadow).toBeDefined();
      execFileSync('docker', ['kill', shadow!], { stdio: 'ignore' });
      const r = await refitAsync(['recover', '--json'], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.json<{ recovered: PassReport['containers'] }>().recovered[0]?.result).toBe('rolled-back');
      await expectWhole(site, 'old');
    } finally {
      await site.down();
    }
  });

  it('in a live pass, while the original drains: the original is never stopped, it is put back and the pass rolls back', async () => {
    const site = await h.site('v1');
    try {
      const { pass, from, held, endDrain } = await passDrainingOnCue(site);
      expect(await waitForStep(h.stateDir, { step: 'drain-original', phase: 'begin', afterSeq: from, until: pass })).toBe(true);
      const [shadow] = h.shadows();
      execFileSync('docker', ['kill', shadow!], { stdio: 'ignore' });
      await until('the shadow is stopped', () => !JSON.parse(execFileSync('docker', ['inspect', '--format', '{{json .State.Running}}', shadow!], { encoding: 'utf8' })));
      endDrain();
      const r = await pass;
      expect((await held).status).toBe(200); // drained, not cut
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const report = only(r);
      expect(report.result).toBe('rolled-back');
      expect(report.reason).toMatch(/drain-original: the shadow \S+ is not running after the original was drained; the original keeps serving/);
      await expectWhole(site, 'old');
    } finally {
      await site.down();
    }
  });
});

describe('the new original fails to start', () => {
  // The shadow starts from the merged tree in scratch; the original, later, from the same tree
  // installed into the customer's dir. Once the shadow has passed and the original drains, the
  // test adds `fail_start=1` (the fixture then exits 3 at start) to the merged site.conf: the
  // shadow was healthy, the recreated original cannot start.
  it('rolls back: configs, compose file and the original on its old image come back', async () => {
    const site = await h.site('v2');
    try {
      const { pass, from, held, endDrain } = await passDrainingOnCue(site);
      expect(await waitForStep(h.stateDir, { step: 'drain-original', phase: 'begin', afterSeq: from, until: pass })).toBe(true);
      const [scratch] = h.scratchLeft();
      appendFileSync(join(h.stateDir, 'scratch', scratch!, 'merged', 'site.conf'), 'fail_start=1\n');
      endDrain();
      const r = await pass;
      expect((await held).status).toBe(200); // drained, not cut
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const report = only(r);
      expect(report.health.shadow?.healthy).toBe(true);
      expect(report.result).toBe('rolled-back');
      expect(report.reason).toMatch(/^rolled back: (recreate-original|original-health): /);
      await expectWhole(site, 'old');
    } finally {
      await site.down();
    }
  });
});

describe('the scratch filesystem is full', () => {
  it('the copy of the stock configs fails with ENOSPC, nothing else was touched, the scratch dir is cleared', async () => {
    const site = await h.site('v1');
    const scratch = join(h.stateDir, 'scratch');
    mkdirSync(scratch, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', scratch]);
    try {
      try {
        for (;;) appendFileSync(join(scratch, 'filler'), Buffer.alloc(4096));
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const report = only(r);
      expect(report.result).toBe('rolled-back');
      expect(report.reason).toMatch(/^rolled back: stock-configs: .*(ENOSPC|no space)/i);
      await expectWhole(site, 'old', { scratch: ['filler'] });
    } finally {
      execFileSync('umount', [scratch]);
      await site.down();
    }
  });
});

/**
 * The registry's web 1.1.0 made this run's own (a label on it), and no longer on the host: the
 * pull must fetch its config blob, whatever copies of the fixture other runs left on this machine.
 */
function newVersionOfItsOwn(): void {
  const ref = h.ref('web', '1.1.0');
  execFileSync('docker', ['pull', '-q', ref], { stdio: 'ignore' });
  const dockerfile = `FROM ${ref}\nLABEL refit.test.suite=${SUITE} refit.test.own=${process.pid}.${Date.now()}\n`;
  execFileSync('docker', ['build', '-q', '-t', ref, '-'], { input: dockerfile, env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['pipe', 'pipe', 'pipe'] });
  execFileSync('docker', ['push', '-q', ref], { stdio: 'ignore' });
  removeImageTags([ref], { force: true });
}

// Last: it moves the harness's registry, then puts one back on the same port for what follows.
describe('the registry vanishes mid-pull', () => {
  it('answers the update check, dies at the first blob of the pull: the pass rolls back; once it is back the next pass updates', async () => {
    const site = await h.site('v2');
    newVersionOfItsOwn();
    const port = Number(h.registry.host.split(':')[1]);
    const storage = h.registry.options.storage;
    await h.registry.stop();
    const moved = await startRegistry({ storage, port: await freePort() });
    const front = await startVanishingFront({ port, target: { host: '127.0.0.1', port: Number(moved.host.split(':')[1]) } });
    try {
      const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
      expect(front.vanished()).toBe(true);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const report = only(r);
      expect(report.result).toBe('rolled-back');
      expect(report.reason).toMatch(/^rolled back: pull: .*connection refused/);
      await expectWhole(site, 'old');

      await front.stop();
      await moved.stop();
      restored = await startRegistry({ storage, port });
      const next = await refitAsync(['run', '--json', '--container', site.container], h.env);
      expect(next.code, next.stdout + next.stderr).toBe(0);
      expect(only(next).result).toBe('updated');
      await expectWhole(site, 'new');
    } finally {
      await front.stop();
      await moved.stop();
      await site.down();
    }
  });
});
