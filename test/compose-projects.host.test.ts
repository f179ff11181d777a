/**
 * Compose projects as people write them, updated end to end by `refit run` with Compose v1 and
 * v2: the tag in an `--env-file` (`image: ${REGISTRY}/web:${WEB_TAG}`, the service in a
 * profile), a `container_name` service whose image is pinned in a second compose file, and an
 * image refit cannot point at a new tag, refused at check time before anything moves. Also a
 * rollback after the customer edited the compose file mid-maintenance: the edit stays.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassReport } from '../src/maintenance/report.js';
import type { UpdateCheck } from '../src/registry/check.js';
import { FLAVORS } from './support/compose-project.js';
import { OLD_TREE, startHarness, tree, type Harness, type TestSite } from './support/host-harness.js';
import { journalSeq, waitForStep } from './support/journal-watch.js';
import { refitAsync } from './support/refit-cli.js';
import { getThroughProxy } from './support/site-checks.js';
import { suiteName } from './support/suite.js';
import { removeImageTags } from './support/web-image.js';

const SUITE = suiteName('projects');
let h: Harness;

beforeAll(async () => {
  h = await startHarness(SUITE);
});
afterAll(async () => h?.stop());

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const inspect = (name: string) => JSON.parse(docker('inspect', name))[0] as { Id: string; Name: string; Config: { Image: string; Env: string[] } };
const only = (r: { json<T>(): T }) => r.json<PassReport>().containers[0]!;
const network = (indent = '') => [`${indent}networks:`, `${indent}  front:`, `${indent}    labels:`, `${indent}      refit.test.suite: ${SUITE}`];
const read = (site: TestSite, file: string) => readFileSync(join(site.dir, file), 'utf8');

/** The site answers through the proxy with the new version, and nothing of the maintenance is left. */
async function expectUpdated(site: TestSite): Promise<void> {
  const { status, body } = await getThroughProxy(h, site);
  expect([status, body.split('\n')[0]]).toEqual([200, 'fixture version=1.1.0']);
  expect(h.shadows()).toEqual([]);
  expect(h.scratchLeft()).toEqual([]);
}

describe.each(FLAVORS)('Compose %s', (flavor) => {
  it('an --env-file project with `${REGISTRY}/web:${WEB_TAG}` in a profile: the env file changes in that one value, the site is recreated with the same env file', async () => {
    const vhost = `envfile-${flavor}.${SUITE}.example`;
    const compose = [
      '# the tag lives in the env file',
      'services:',
      '  web:',
      '    image: "${REGISTRY}/web:${WEB_TAG}"',
      '    profiles: [site]',
      '    labels:',
      ...h.siteLabels(vhost, '      '),
      '    volumes:',
      '      - ./conf:/etc/site',
      '    environment:',
      '      SITE_MODE: ${SITE_MODE}',
      '    networks: [front]',
      ...network(),
      '',
    ].join('\n');
    const envText = ['# production settings: refit may change WEB_TAG, nothing else', `REGISTRY=${h.registry.host}`, '', 'WEB_TAG=1.0.0   # the platform web image', "SITE_MODE='from the env file'", ''].join('\n');
    const decoy = 'WEB_TAG=0.0.1\nREGISTRY=127.0.0.1:9\n';
    const site = await h.customSite(flavor, { vhost, files: { 'docker-compose.yml': compose, 'deploy/prod.env': envText, '.env': decoy }, envFiles: ['deploy/prod.env'] });
    try {
      expect(inspect(site.container).Config.Image).toBe(h.ref('web', '1.0.0'));
      const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(only(r).result).toBe('updated');
      expect(read(site, 'deploy/prod.env')).toBe(envText.replace('WEB_TAG=1.0.0 ', 'WEB_TAG=1.1.0 '));
      expect(read(site, 'docker-compose.yml')).toBe(compose);
      expect(read(site, '.env')).toBe(decoy);
      const now = inspect(site.container);
      expect(now.Config.Image).toBe(h.ref('web', '1.1.0'));
      expect(now.Config.Env).toContain('SITE_MODE=from the env file');
      await expectUpdated(site);
    } finally {
      docker('rm', '-f', site.container);
      await site.down();
    }
  });

  it('a container_name service whose image is pinned in a second compose file: that file changes, the name stays', async () => {
    const vhost = `named-${flavor}.${SUITE}.example`;
    const name = `rt${SUITE}named${flavor}`.replace(/[^a-z0-9]/g, '');
    const base = ['services:', '  web:', `    image: ${h.ref('web', '1.0.0')}`, `    container_name: ${name}`, '    labels:', ...h.siteLabels(vhost, '      '), '    volumes:', '      - ./conf:/etc/site', '    networks: [front]', ...network(), ''].join('\n');
    const prod = ['# production pin', 'services:', '  web:', `    image: "${h.ref('web', '1.0.0')}"   # pinned by the platform`, '    environment:', '      SITE_MODE: prod', ''].join('\n');
    const site = await h.customSite(flavor, { vhost, files: { 'docker-compose.yml': base, 'docker-compose.prod.yml': prod }, composeFiles: ['docker-compose.yml', 'docker-compose.prod.yml'] });
    try {
      expect(site.container).toBe(name);
      const r = await refitAsync(['run', '--json', '--container', name], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(only(r).result).toBe('updated');
      expect(read(site, 'docker-compose.prod.yml')).toBe(prod.replace('web:1.0.0', 'web:1.1.0'));
      expect(read(site, 'docker-compose.yml')).toBe(base);
      const now = inspect(name);
      expect([now.Name, now.Config.Image]).toEqual([`/${name}`, h.ref('web', '1.1.0')]);
      expect(now.Config.Env).toContain('SITE_MODE=prod');
      await expectUpdated(site);
    } finally {
      await site.down();
    }
  });

  it('an image whose tag refit cannot change is refused at check time: nothing is pulled, drained or rewritten', async () => {
    const vhost = `refused-${flavor}.${SUITE}.example`;
    const compose = ['services:', '  web:', `    image: "${h.registry.host}/web:\${WEB_TAG:-1.0.0}"`, '    labels:', ...h.siteLabels(vhost, '      '), '    volumes:', '      - ./conf:/etc/site', '    networks: [front]', ...network(), ''].join('\n');
    const site = await h.customSite(flavor, { vhost, files: { 'docker-compose.yml': compose, '.env': 'OTHER=1\n' } });
    try {
      const before = inspect(site.container);
      const c = await refitAsync(['check', '--json', '--container', site.container], h.env);
      const [check] = c.json<{ containers: UpdateCheck[] }>().containers;
      expect(check).toMatchObject({ status: 'error', candidate: null });
      expect(check!.reason).toBe(
        `1.1.0 is the newest tag within the minor range after 1.0.0; refit cannot apply it: the image of service web in ${site.dir}/docker-compose.yml is "${h.registry.host}/web:\${WEB_TAG:-1.0.0}", and WEB_TAG is not defined in the project's env file ${site.dir}/.env (the compose file's default is used); define WEB_TAG there, or write the tag in the compose file`,
      );
      const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
      // No step ran: nothing was pulled, no shadow started, nothing drained.
      expect(only(r)).toMatchObject({ result: 'failed', steps: [], reason: `update check failed: ${check!.reason}` });
      expect(inspect(site.container).Id).toBe(before.Id);
      expect(read(site, 'docker-compose.yml')).toBe(compose);
      expect(tree(site.confDir)).toEqual(OLD_TREE);
    } finally {
      await site.down();
    }
  });
});

describe('a rollback after the customer edited the compose file mid-maintenance', () => {
  it('puts back only the image value: the edit stays', async () => {
    const site = await h.site('v2');
    const release = join(h.stateDir, '..', 'release-compose-edit');
    try {
      const from = journalSeq(h.stateDir);
      const pass = refitAsync(['run', '--json', '--container', site.container], { ...h.env, REFIT_FAULT: 'hold:image-ref:done', REFIT_FAULT_RELEASE: release });
      expect(await waitForStep(h.stateDir, { step: 'image-ref', phase: 'done', afterSeq: from, until: pass })).toBe(true);
      expect(read(site, 'docker-compose.yml')).toBe(site.composeText.replace(h.ref('web', '1.0.0'), h.ref('web', '1.1.0')));
      appendFileSync(join(site.dir, 'docker-compose.yml'), '# the customer, during the update\n');
      // The new tag now names the old image: the recreated original will not run the new one.
      docker('tag', inspect(site.container).Config.Image, h.ref('web', '1.1.0'));
      writeFileSync(release, '');
      const r = await pass;
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(only(r)).toMatchObject({ result: 'rolled-back', reason: expect.stringMatching(/^rolled back: recreate-original: recreated \S+ runs sha256:\w+, not the new image/) });
      expect(read(site, 'docker-compose.yml')).toBe(`${site.composeText}# the customer, during the update\n`);
      expect(inspect(site.container).Config.Image).toBe(h.ref('web', '1.0.0'));
      const { status, body } = await getThroughProxy(h, site);
      expect([status, body.split('\n')[0]]).toEqual([200, 'fixture version=1.0.0']);
    } finally {
      if (existsSync(release)) execFileSync('rm', ['-f', release]);
      removeImageTags([h.ref('web', '1.1.0')]);
      await site.down();
    }
  });
});
