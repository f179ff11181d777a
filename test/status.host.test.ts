/**
 * `refit status` on a real host: a managed fixture site, an unlabelled container and
 * labelled containers that cannot be managed, started by Compose v1 and by Compose v2.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Discovery } from '../src/site/discover.js';
import { composeProject, FLAVORS, sweepLeftovers, type TestProject } from './support/compose-project.js';
import { refit } from './support/refit-cli.js';
import { buildWebImage } from './support/web-image.js';
import { fixtureImage, suiteName } from './support/suite.js';

const SUITE = suiteName('status');
const WEB = fixtureImage(SUITE, 'web', '1.0.0');
const PLAIN = fixtureImage(SUITE, 'not-web', '1.0.0');

const composeFile = (suite: string) => `# a customer site
services:
  web:
    image: ${WEB}
    labels:
      refit.enable: "true"
      refit.vhosts: "A.example,www.a.example"
      refit.config: /etc/site
      refit.policy: minor
      refit.port: "80"
      refit.test.suite: ${suite}
    volumes:
      - ./site-config:/etc/site
    networks: [front]
  unlabelled:
    image: ${WEB}
    labels:
      refit.test.suite: ${suite}
  disallowed:
    image: ${PLAIN}
    labels:
      refit.enable: "true"
      refit.test.suite: ${suite}
  badlabel:
    image: ${WEB}
    labels:
      refit.enable: "true"
      refit.port: "http"
      refit.test.suite: ${suite}
networks:
  front:
    labels:
      refit.test.suite: ${suite}
`;

let configFile: string;

beforeAll(() => {
  sweepLeftovers(SUITE);
  buildWebImage({ tag: WEB, version: '1.0.0' });
  buildWebImage({ tag: PLAIN, version: '1.0.0', web: false });
  const dir = mkdtempSync(join(tmpdir(), 'refit-status-cfg-'));
  configFile = join(dir, 'refit.yml');
  writeFileSync(configFile, `stateDir: ${dir}/state\n`);
});

describe.each(FLAVORS)('refit status with Compose %s', (flavor) => {
  let project: TestProject;

  beforeAll(async () => {
    project = await composeProject(flavor, SUITE, { 'docker-compose.yml': composeFile(SUITE), 'site-config/site.conf': 'greeting=hi\n' });
    await project.up();
  });
  afterAll(async () => project?.down());

  it('lists the managed site with every field, the disallowed and malformed ones with reasons, and not the unlabelled', () => {
    const r = refit(['status', '--json'], { REFIT_CONFIG: configFile });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const status = r.json<Discovery>();
    const ours = status.sites.filter((s) => s.compose.project === project.project);
    expect(ours).toHaveLength(1);
    const site = ours[0]!;
    const webName = project.containerName('web');
    const inspect = JSON.parse(execFileSync('docker', ['inspect', webName]).toString())[0];
    const image = JSON.parse(execFileSync('docker', ['image', 'inspect', WEB]).toString())[0];
    expect(site).toEqual({
      name: webName,
      id: inspect.Id,
      state: 'running',
      compose: {
        project: project.project,
        workingDir: realpathSync(project.dir),
        configFiles: [join(realpathSync(project.dir), 'docker-compose.yml')],
        envFiles: [],
        service: 'web',
        version: inspect.Config.Labels['com.docker.compose.version'],
      },
      networks: [{ name: `${project.project}_front`, ip: inspect.NetworkSettings.Networks[`${project.project}_front`].IPAddress }],
      image: { reference: WEB, id: image.Id, repoDigests: image.RepoDigests },
      vhosts: ['a.example', 'www.a.example'],
      port: 80,
      policy: 'minor',
      healthPath: '/refit/health',
      hooks: { preUpdate: null, postUpdate: null },
      tagRules: { include: null, exclude: null, minAge: null },
      watchMs: null,
      config: { containerPath: '/etc/site', hostPath: join(realpathSync(project.dir), 'site-config') },
    });
    expect(site.networks[0]!.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(site.compose.version).toMatch(flavor === 'v1' ? /^1\./ : /^2\./);

    const names = (svc: string) => project.containerName(svc);
    const unmanaged = status.unmanaged.filter((u) => u.name.startsWith(project.project));
    expect(unmanaged.map((u) => u.name).sort()).toEqual([names('badlabel'), names('disallowed')].sort());
    expect(unmanaged.find((u) => u.name === names('disallowed'))!.reason).toMatch(/not on the allowlist/);
    expect(unmanaged.find((u) => u.name === names('badlabel'))!.reason).toMatch(/refit\.port="http" must be a TCP port/);
    const everyName = [...status.sites, ...status.unmanaged].map((c) => c.name);
    expect(everyName).not.toContain(names('unlabelled'));
  });

  it('prints the same in text', () => {
    const r = refit(['status'], { REFIT_CONFIG: configFile });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(project.containerName('web'));
    expect(r.stdout).toMatch(/refit\.port="http" must be a TCP port/);
  });
});

describe('bad configuration', () => {
  it('a malformed config file: one line naming the key, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'refit-badcfg-'));
    writeFileSync(join(dir, 'refit.yml'), 'health:\n  attempts: -3\n');
    const r = refit(['status'], { REFIT_CONFIG: join(dir, 'refit.yml') });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/health\.attempts/);
  });

  it('an unreachable Docker socket: one line saying what to check, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'refit-nosock-'));
    writeFileSync(join(dir, 'refit.yml'), `docker:\n  socket: ${dir}/nothing.sock\n`);
    const r = refit(['status'], { REFIT_CONFIG: join(dir, 'refit.yml') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the Docker Engine.*dockerd/);
  });
});
