/**
 * Extracting stock configs from real images on the real Docker Engine, without running them:
 * the fixture web image, an image without the path, and an image whose config dir holds links
 * out, setuid files and hard links.
 */
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sweepLeftovers, suiteLabels } from '../../test/support/compose-project.js';
import { buildWebImage, STOCK_V2, TEST_LABEL } from '../../test/support/web-image.js';
import { listing, scratch } from '../../test/fixtures/merge/dirs.js';
import { connectEngine } from '../docker/engine.js';
import { extractImageConfig } from './extract.js';
import { fixtureImage, suiteName } from '../../test/support/suite.js';

const SUITE = suiteName('merge');
const WEB = fixtureImage(SUITE, 'merge-web', '2.0.0');
const HOSTILE = fixtureImage(SUITE, 'merge-hostile', '1');
const engine = connectEngine('/var/run/docker.sock');
const labels = suiteLabels(SUITE);

function buildHostileImage(): void {
  const ctx = scratch('hostile-image');
  try {
    const site = join(ctx, 'rootfs/etc/site');
    mkdirSync(join(site, 'conf.d'), { recursive: true });
    writeFileSync(join(site, 'site.conf'), 'stock\n');
    writeFileSync(join(site, 'conf.d/a.conf'), 'a\n');
    linkSync(join(site, 'site.conf'), join(site, 'hardlink.conf'));
    symlinkSync('/etc/passwd', join(site, 'passwd.conf'));
    symlinkSync('../../bin/busybox', join(site, 'up.conf'));
    symlinkSync('/etc/site/conf.d/a.conf', join(site, 'abs-inside.conf'));
    writeFileSync(join(site, 'suid'), 'x');
    // COPY drops setuid bits and cannot carry FIFOs or devices: make those with the fixture's busybox.
    const run = (...args: string[]) => `RUN ${JSON.stringify(['/bin/busybox', ...args])}`;
    writeFileSync(
      join(ctx, 'Dockerfile'),
      [`FROM ${WEB}`, 'COPY rootfs/ /', run('chmod', '4755', '/etc/site/suid'), run('mkfifo', '/etc/site/pipe'), run('mknod', '/etc/site/null', 'c', '1', '3'), `LABEL ${TEST_LABEL}=fixture`, ''].join('\n'),
    );
    execFileSync('docker', ['build', '-q', '-t', HOSTILE, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

const extractContainers = () => execFileSync('docker', ['ps', '-aq', '--filter', 'label=refit.role=extract', '--filter', `label=${TEST_LABEL}.suite=${SUITE}`]).toString().trim();

beforeAll(() => {
  sweepLeftovers(SUITE);
  buildWebImage({ tag: WEB, version: '2.0.0', configs: STOCK_V2 });
  buildHostileImage();
});

describe('extractImageConfig', () => {
  it('copies /etc/site out of the fixture image into a fresh private dir, and removes its container', async () => {
    const dest = join(scratch('extract'), 'stock');
    const { tree } = await extractImageConfig(engine, WEB, '/etc/site', dest, { labels });
    expect(tree.refused).toEqual([]);
    expect(statSync(dest).mode & 0o777).toBe(0o700);
    const files = listing(dest);
    expect(Object.keys(files).sort()).toEqual(Object.keys(STOCK_V2).sort());
    for (const [name, content] of Object.entries(STOCK_V2)) expect(files[name]).toBe(`file 644 0:0 ${Buffer.from(content).toString('base64')}`);
    expect(extractContainers()).toBe('');
  });

  it('gives an empty tree and a note for an image without the path', async () => {
    const dest = join(scratch('extract-none'), 'stock');
    const { tree } = await extractImageConfig(engine, WEB, '/etc/nothing-here', dest, { labels });
    expect(tree.nodes.size).toBe(0);
    expect(tree.notes).toEqual([`image ${WEB} has nothing at /etc/nothing-here: it ships no stock configs`]);
    expect(listing(dest)).toEqual({});
    expect(extractContainers()).toBe('');
  });

  it('refuses links out of the tree, setuid files, FIFOs and devices; copies hard links; makes absolute links inside relative', async () => {
    const dest = join(scratch('extract-hostile'), 'stock');
    const { tree } = await extractImageConfig(engine, HOSTILE, '/etc/site', dest, { labels });
    expect(Object.fromEntries(tree.refused.map((r) => [r.path, r.reason]))).toEqual({
      'passwd.conf': expect.stringMatching(/absolute link target "\/etc\/passwd"/),
      'up.conf': expect.stringMatching(/leads out of the tree/),
      'suid': expect.stringMatching(/setuid/),
      'pipe': 'is a FIFO',
      'null': 'is a char device',
    });
    const files = listing(dest);
    expect(files['hardlink.conf']).toBe(files['site.conf']);
    expect(files['abs-inside.conf']).toBe('link -> conf.d/a.conf');
    expect(Object.keys(files).sort()).toEqual(['abs-inside.conf', 'conf.d', 'conf.d/a.conf', 'hardlink.conf', 'httpd.conf', 'new-in-v2.conf', 'site.conf']);
    expect(extractContainers()).toBe('');
  });

  it('says how to fix a missing image', async () => {
    const dest = join(scratch('extract-missing'), 'stock');
    await expect(extractImageConfig(engine, fixtureImage(SUITE, 'never-built', '0'), '/etc/site', dest, { labels })).rejects.toMatchObject({ code: 'docker', hint: expect.stringMatching(/docker pull/) });
  });
});
