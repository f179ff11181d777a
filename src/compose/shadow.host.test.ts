/**
 * The shadow against real Compose v1 and v2: a site with labels, env, a named volume, a custom
 * network and a bind-mounted config dir gets a shadow that runs the new image on the merged
 * configs, shares the original's network and volume, publishes nothing, and goes away without
 * touching the original, nor the shadow of another service of the project.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeProject, FLAVORS, sweepLeftovers, type TestProject } from '../../test/support/compose-project.js';
import { buildWebImage, STOCK_V2 } from '../../test/support/web-image.js';
import { connectEngine } from '../docker/engine.js';
import { classify, type Site } from '../site/discover.js';
import { removeShadow, shadowRef, startShadow, type Shadow } from './shadow.js';
import { fixtureImage, suiteName } from '../../test/support/suite.js';

const SUITE = suiteName('shadow');
const OLD = fixtureImage(SUITE, 'web', '1.0.0');
const NEW = fixtureImage(SUITE, 'web', '2.0.0');
const engine = connectEngine('/var/run/docker.sock');

const composeFile = (flavor: string) => `services:
  web:
    image: ${OLD}
    labels:
      refit.enable: "true"
      refit.config: /etc/site
      refit.vhosts: site.example
      refit.test.suite: ${SUITE}
    environment:
      GREETING_FROM_ENV: kept
    volumes:
      - ./site-config:/etc/site
      - data:/var/data
    networks: [front]
${flavor === 'v2' ? '    ports: ["127.0.0.1::80"]\n' : ''}  peer:
    image: ${OLD}
    labels:
      refit.test.suite: ${SUITE}
volumes:
  data:
    labels:
      refit.test.suite: ${SUITE}
networks:
  front:
    labels:
      refit.test.suite: ${SUITE}
  default:
    labels:
      refit.test.suite: ${SUITE}
`;

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const inspect = (name: string) => JSON.parse(docker('inspect', name))[0] as { Id: string; State: { Running: boolean }; Config: { Env: string[]; Labels: Record<string, string>; Image: string }; HostConfig: { PortBindings: Record<string, unknown> | null }; NetworkSettings: { Ports: Record<string, unknown[] | null> } };

async function siteOf(p: TestProject): Promise<Site> {
  const info = await engine.inspectContainer(p.containerName('web'));
  const r = classify(info, await engine.inspectImage(info.Image), { labels: ['refit.web=true'], references: [] }, '/refit/health');
  if (!('managed' in r) || !r.managed) throw new Error(`fixture site is not managed: ${JSON.stringify(r)}`);
  return r.site;
}

beforeAll(() => {
  sweepLeftovers(SUITE);
  buildWebImage({ tag: OLD, version: '1.0.0' });
  buildWebImage({ tag: NEW, version: '2.0.0', configs: STOCK_V2 });
});

describe.each(FLAVORS)('shadow with Compose %s', (flavor) => {
  let project: TestProject;
  let site: Site;
  let shadow: Shadow;
  let scratch: string;

  beforeAll(async () => {
    project = await composeProject(flavor, SUITE, { 'docker-compose.yml': composeFile(flavor), 'site-config/site.conf': 'greeting=customer\n' });
    await project.up();
    site = await siteOf(project);
    docker('exec', site.name, 'sh', '-c', 'echo original-data > /var/data/marker');
    scratch = mkdtempSync(join(tmpdir(), 'refit-shadow-scratch-'));
    mkdirSync(join(scratch, 'merged'));
    writeFileSync(join(scratch, 'merged', 'site.conf'), 'greeting=merged\nworkers=4\n');
    shadow = await startShadow(project.cli, site, { engine, image: NEW, scratchDir: scratch, mergedDir: join(scratch, 'merged'), network: `${project.project}_front` });
  });
  afterAll(async () => {
    if (site) await removeShadow(engine, shadowRef(site));
    await project?.down();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('runs the new image on the merged configs, with the env and labels of the original plus refit.shadow-of', () => {
    const s = inspect(shadow.containerName);
    expect(shadow.containerName).toBe(`${site.name}-refit-shadow`);
    expect(s.State.Running).toBe(true);
    expect(s.Config.Image).toBe(NEW);
    expect(docker('exec', shadow.containerName, 'cat', '/etc/site/site.conf')).toBe('greeting=merged\nworkers=4');
    expect(s.Config.Env).toContain('GREETING_FROM_ENV=kept');
    expect(s.Config.Labels).toMatchObject({ 'refit.enable': 'true', 'refit.config': '/etc/site', 'refit.vhosts': 'site.example', 'refit.shadow-of': site.name, 'com.docker.compose.project': `${project.project}-refit-shadow` });
  });

  it('shares the original network (reachable from the original by IP) and its named volume, and publishes no port', () => {
    expect(shadow.networks.map((n) => n.name)).toEqual([`${project.project}_front`]);
    const page = docker('exec', site.name, 'wget', '-qO-', `http://${shadow.ip}/`);
    expect(page).toContain('fixture version=2.0.0');
    expect(page).toContain('greeting=merged');
    expect(docker('exec', shadow.containerName, 'cat', '/var/data/marker')).toBe('original-data');
    const s = inspect(shadow.containerName);
    expect(Object.values(s.NetworkSettings.Ports ?? {}).filter((b) => b && b.length)).toEqual([]);
    expect(Object.keys(s.HostConfig.PortBindings ?? {})).toEqual([]);
  });

  it('leaves the original untouched, and removing the shadow leaves the original, its network and volume in place', async () => {
    const before = inspect(site.name);
    expect(before.Id).toBe(site.id);
    expect(before.Config.Image).toBe(OLD);
    expect(docker('exec', site.name, 'cat', '/etc/site/site.conf')).toBe('greeting=customer');

    const removed = await removeShadow(engine, shadowRef(site));
    expect(removed.containers).toEqual([shadow.containerName]);
    expect(docker('ps', '-aq', '--filter', `name=^${shadow.containerName}$`)).toBe('');
    expect(docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project.project}-refit-shadow`)).toBe('');

    const after = inspect(site.name);
    expect([after.Id, after.State.Running]).toEqual([site.id, true]);
    expect(docker('network', 'inspect', '-f', '{{.Name}}', `${project.project}_front`)).toBe(`${project.project}_front`);
    expect(docker('volume', 'inspect', '-f', '{{.Name}}', `${project.project}_data`)).toBe(`${project.project}_data`);
    expect(await removeShadow(engine, shadowRef(site))).toEqual({ containers: [], networks: [] });
  });

  it('the shadows of two services of the project live side by side: removing one leaves the other running', async () => {
    const peer: Site = { ...site, name: project.containerName('peer'), compose: { ...site.compose, service: 'peer' }, config: null };
    const peerScratch = mkdtempSync(join(tmpdir(), 'refit-shadow-scratch-'));
    try {
      const web = await startShadow(project.cli, site, { engine, image: NEW, scratchDir: scratch, mergedDir: join(scratch, 'merged'), network: `${project.project}_front` });
      const other = await startShadow(project.cli, peer, { engine, image: NEW, scratchDir: peerScratch, mergedDir: null });
      expect((await removeShadow(engine, shadowRef(peer))).containers).toEqual([other.containerName]);
      expect(inspect(web.containerName).State.Running).toBe(true);
      expect((await removeShadow(engine, shadowRef(site))).containers).toEqual([web.containerName]);
    } finally {
      await removeShadow(engine, shadowRef(peer));
      rmSync(peerScratch, { recursive: true, force: true });
    }
  });
});

describe('shadow refusals', () => {
  it('Compose v1 refuses a service that publishes ports, before starting anything', async () => {
    const p = await composeProject('v1', SUITE, { 'docker-compose.yml': composeFile('v2'), 'site-config/site.conf': 'x=1\n' });
    try {
      const fake: Site = { ...({} as Site), name: 'not-started', compose: { project: p.project, workingDir: p.dir, configFiles: p.files, service: 'web', version: '2.26.1' }, config: null };
      await expect(startShadow(p.cli, fake, { engine, image: NEW, scratchDir: p.dir, mergedDir: null })).rejects.toThrow(`service web of project ${p.project} publishes host ports, and a Compose v1 override cannot remove them`);
      expect(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${p.project}-refit-shadow`)).toBe('');
    } finally {
      await p.down();
    }
  });
});
