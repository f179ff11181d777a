/**
 * `images.removeReplaced` on a real host (Docker, Compose, a local registry, HAProxy): two
 * sites run one image of their own. While one of them still runs it, updating the other keeps
 * it; updating the second removes its tag and the image with it. An image another repository's
 * tag names loses only the site's tag. A same-tag update leaves the old build known by its
 * digest only: it goes too. The sites serve their new version through the proxy.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassReport } from '../src/maintenance/report.js';
import { startHarness, type Harness, type TestSite } from './support/host-harness.js';
import { refitAsync } from './support/refit-cli.js';
import { getThroughProxy } from './support/site-checks.js';
import { suiteName } from './support/suite.js';

const SUITE = suiteName('images');
let h: Harness;
const sites: TestSite[] = [];

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const imageIdOf = (reference: string) => {
  const r = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', reference], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};
const imageExists = (id: string) => spawnSync('docker', ['image', 'inspect', id], { stdio: 'ignore' }).status === 0;

let builds = 0;
/** A new image of this suite's own (the fixture's 1.0.0 plus a label), tagged `reference`, so no other test's tag names it. */
function ownImage(reference: string, ...more: string[]): string {
  const dockerfile = `FROM ${h.ref('web', '1.0.0')}\nLABEL refit.test.suite=${SUITE} refit.test.build=${process.pid}.${++builds}\n`;
  execFileSync('docker', ['build', '-q', ...[reference, ...more].flatMap((r) => ['-t', r]), '-'], { input: dockerfile, stdio: ['pipe', 'pipe', 'pipe'] });
  return imageIdOf(reference)!;
}

async function run(site: TestSite, serves: '1.0.0' | '1.1.0' = '1.1.0'): Promise<PassReport> {
  const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const report = r.json<PassReport>();
  expect(report.containers.map((c) => [c.container, c.result])).toEqual([[site.container, 'updated']]);
  const reply = await getThroughProxy(h, site);
  expect([reply.status, reply.body.split('\n')[0]]).toEqual([200, h.servesLine(serves)]);
  return report;
}

beforeAll(async () => {
  h = await startHarness(SUITE, { removeReplacedImages: true });
}, 300_000);

afterAll(async () => {
  for (const site of sites) await site.down();
  await h?.stop();
  // The builds of this file (those a test did not see removed).
  const left = docker('image', 'ls', '-q', '--filter', `label=refit.test.suite=${SUITE}`).split('\n').filter(Boolean);
  if (left.length) docker('rmi', '-f', ...new Set(left));
});

describe('images.removeReplaced', () => {
  it('keeps the image an update replaced while another site runs it, and removes it after that site is updated too', async () => {
    const old = `${h.registry.host}/web:1.0.1`;
    const oldId = ownImage(old);
    sites.push(await h.site('v2', { image: old }), await h.site('v1', { image: old }));
    const [first, second] = sites as [TestSite, TestSite];

    expect((await run(first)).images).toEqual({ removed: [], notes: [] });
    expect(imageIdOf(old)).toBe(oldId);

    expect((await run(second)).images).toEqual({ removed: [{ imageId: oldId, references: [old], deleted: true }], notes: [] });
    expect(imageIdOf(old)).toBeNull();
    expect(imageExists(oldId)).toBe(false);
  });

  it("leaves an image another repository's tag names, with that tag", async () => {
    const old = `${h.registry.host}/web:1.0.2`;
    const pinned = `refit-fixture/${SUITE}/pinned:1`;
    const oldId = ownImage(old, pinned);
    const site = await h.site('v2', { image: old });
    sites.push(site);

    expect((await run(site)).images).toEqual({ removed: [{ imageId: oldId, references: [old], deleted: false }], notes: [] });
    expect([imageIdOf(old), imageIdOf(pinned)]).toEqual([null, oldId]);
    docker('rmi', pinned);
  });

  it('removes the build a same-tag update replaced, known by its digest only once the tag moved on', async () => {
    const stable = `${h.registry.host}/web:stable`;
    const oldId = ownImage(stable);
    docker('push', stable);
    const site = await h.site('v2', { image: stable, policy: 'digest' });
    sites.push(site);
    // A new build under the same tag reaches the registry; the host still knows only the old one.
    const newId = ownImage(stable);
    docker('push', stable);
    docker('tag', oldId, stable);
    docker('rmi', newId);

    const report = await run(site, '1.0.0');
    expect(report.containers[0]?.to?.imageId).toBe(newId);
    expect(report.images).toEqual({ removed: [{ imageId: oldId, references: [], deleted: true }], notes: [] });
    expect(imageExists(oldId)).toBe(false);
    expect(imageIdOf(stable)).toBe(newId);
  });
});
