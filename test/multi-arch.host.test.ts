/**
 * Multi-arch tags on a real host: a tag served as a manifest index (one manifest per platform).
 * When the index changes but this host's platform manifest does not, the check sees a new
 * digest and the pull brings the very image the site runs: that container is current, not
 * rolled back with an alert, and nothing of the site is touched.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { PassReport } from '../src/maintenance/report.js';
import { startHarness, type Harness } from './support/host-harness.js';
import { refitAsync } from './support/refit-cli.js';
import { getThroughProxy } from './support/site-checks.js';
import { fixtureImage, suiteName } from './support/suite.js';
import { buildWebImage } from './support/web-image.js';

const SUITE = suiteName('multiarch');
const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const INDEX = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** A second image for the other platform, built here. */
const OTHER = fixtureImage(SUITE, 'other', '9.9.9');
let h: Harness;

beforeAll(async () => {
  h = await startHarness(SUITE);
});
afterAll(async () => h?.stop());

const docker = (...args: string[]) => execFileSync('docker', args).toString().trim();

/**
 * Pushes a local image as multi:<tag> and returns its manifest's descriptor. The host then
 * forgets that it pushed it (tag and digest reference): like any host that only ever pulled
 * the tag, it knows the image by the index digest alone.
 */
async function pushAs(local: string, tag: string): Promise<{ digest: string; size: number }> {
  const ref = `${h.registry.host}/multi:${tag}`;
  docker('tag', local, ref);
  execFileSync('docker', ['push', '-q', ref], { stdio: 'ignore' });
  const r = await request(`http://${h.registry.host}/v2/multi/manifests/${tag}`, { method: 'HEAD', headers: { accept: MANIFEST } });
  await r.body.dump();
  const digest = String(r.headers['docker-content-digest']);
  docker('rmi', ref);
  expect(docker('image', 'inspect', '-f', '{{json .RepoDigests}}', local)).not.toContain('/multi@');
  return { digest, size: Number(r.headers['content-length']) };
}

/** Serves multi:stable as an index of this host's platform and one other. */
async function putIndex(here: { digest: string; size: number }, other: { digest: string; size: number }): Promise<void> {
  const arch = docker('version', '-f', '{{.Server.Arch}}');
  const entry = (m: { digest: string; size: number }, architecture: string) => ({ mediaType: MANIFEST, digest: m.digest, size: m.size, platform: { os: 'linux', architecture } });
  const body = JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [entry(here, arch), entry(other, arch === 's390x' ? 'ppc64le' : 's390x')] });
  const r = await request(`http://${h.registry.host}/v2/multi/manifests/stable`, { method: 'PUT', headers: { 'content-type': INDEX }, body });
  expect(r.statusCode, await r.body.text()).toBe(201);
}

describe('a manifest index that changed for another platform only', () => {
  it('is current: no rollback, no alert, the site untouched; the next check agrees', async () => {
    const here = await pushAs(h.ref('web', '1.0.0'), 'here');
    const otherA = await pushAs(h.ref('bad', '1.0.0'), 'other-a');
    const otherB = await pushAs(buildWebImage({ tag: OTHER, version: '9.9.9' }), 'other-b');
    await putIndex(here, otherA);
    const site = await h.site('v2', { image: `${h.registry.host}/multi:stable`, policy: 'digest' });
    try {
      const before = docker('inspect', '-f', '{{.Id}} {{.Image}}', site.container);
      await putIndex(here, otherB);
      const check = await refitAsync(['check', '--json'], h.env);
      expect(check.stdout).toMatch(/"status": ?"update"/);

      const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const report = r.json<PassReport>().containers[0]!;
      expect(report.result).toBe('current');
      expect(report.reason).toMatch(/brought the image it already runs/);
      expect(docker('inspect', '-f', '{{.Id}} {{.Image}}', site.container)).toBe(before);
      expect(h.shadows()).toEqual([]);
      expect(h.scratchLeft()).toEqual([]);
      const { status, body } = await getThroughProxy(h, site);
      expect([status, body.split('\n')[0]]).toEqual([200, 'fixture version=1.0.0']);

      const again = await refitAsync(['check', '--json'], h.env);
      expect(again.stdout).toMatch(/"status": ?"current"/);
    } finally {
      await site.down();
      execFileSync('docker', ['rmi', '-f', `${h.registry.host}/multi:stable`, OTHER], { stdio: 'ignore' });
    }
  });
});
