/**
 * Update detection against a real registry (Debian's docker-registry on 127.0.0.1) holding
 * images built and pushed here: same-tag digest updates, semver choices among many tags,
 * variants, a local tag, a multi-arch index, a registry that is down; then the same storage
 * served over TLS with a CA made now, and behind htpasswd Basic auth. Also `refit check`
 * through the built CLI, and pulls through the engine.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeProject, sweepLeftovers, type TestProject } from '../../test/support/compose-project.js';
import { refit } from '../../test/support/refit-cli.js';
import { buildWebImage } from '../../test/support/web-image.js';
import { registrySchema, type RegistryConfig } from '../config/schema.js';
import { connectEngine } from '../docker/engine.js';
import type { Policy } from '../site/labels.js';
import { checkUpdates, type UpdateCheck } from './check.js';
import { pullImage } from './pull.js';
import { freePort, startRegistry, sweepRegistries, type RunningRegistry } from './testing/local-registry.js';
import { siteFor } from './testing/sites.js';
import { suiteName } from '../../test/support/suite.js';

const SUITE = suiteName('rcheck');
const engine = connectEngine('/var/run/docker.sock');
const docker = (...args: string[]) => execFileSync('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
const inspect = (ref: string) => JSON.parse(docker('image', 'inspect', ref))[0] as { Id: string; RepoDigests: string[] };

/** Tags of the `rcheck` namespace in any local registry: ours, or leftovers of a killed run. */
function removeOurImages(): void {
  const refs = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((r) => /^127\.0\.0\.1:\d+\/rcheck\//.test(r));
  if (refs.length) docker('rmi', '-f', ...refs);
}

let tmp: string;
let port: number;
let registry: RunningRegistry;
let repo: string;
let A: { Id: string; RepoDigests: string[] };
let B: { Id: string; RepoDigests: string[] };
let digestA: string;
let digestB: string;

function config(extra: Partial<RegistryConfig> = {}): RegistryConfig {
  return registrySchema.parse({ dockerConfig: join(tmp, 'no-docker-config.json'), certsDir: join(tmp, 'no-certs'), timeoutMs: 3000, retries: 1, ...extra });
}

const site = (name: string, tag: string, policy: Policy = 'digest', image = A) => siteFor(name, `${repo}:${tag}`, policy, { id: image.Id, repoDigests: image.RepoDigests });
const byName = (results: UpdateCheck[], name: string) => results.find((r) => r.container === name)!;

function push(image: string, ...tags: string[]): void {
  for (const tag of tags) {
    docker('tag', image, `${repo}:${tag}`);
    docker('push', '-q', `${repo}:${tag}`);
  }
}

beforeAll(async () => {
  sweepRegistries();
  sweepLeftovers(SUITE);
  removeOurImages();
  tmp = mkdtempSync(join(tmpdir(), 'refit-rcheck-'));
  port = await freePort();
  registry = await startRegistry({ storage: join(tmp, 'storage'), port });
  repo = `${registry.host}/rcheck/web`;
  buildWebImage({ tag: `${repo}:1.0.0`, version: '1.0.0' });
  buildWebImage({ tag: `${repo}:b`, version: '2.0.0' });
  push(`${repo}:1.0.0`, '1.0.0', '1.0.1', '1.0.2', '1.0.3-rc1', '1.1.0', '1.2.3', '2.0.0', '3.0.0-rc1', '1.0.0-fpm', '1.1.0-fpm', '2.0.0-rc1-fpm', '1.3.0-alpine', '1.4.0-fpm-alpine', 'stable', 'local');
  push(`${repo}:b`, 'b', '2.1.0', 'stable');
  // The running `stable` is A; the registry's `stable` is now B.
  docker('tag', `${repo}:1.0.0`, `${repo}:stable`);
  // The local `local` tag already points at B, newer than the running A; the registry never saw it.
  docker('tag', `${repo}:b`, `${repo}:local`);
  A = inspect(`${repo}:1.0.0`);
  B = inspect(`${repo}:b`);
  digestA = A.RepoDigests[0]!.split('@')[1]!;
  digestB = B.RepoDigests[0]!.split('@')[1]!;
  // A multi-arch index whose amd64 entry is A (B posing as arm64).
  docker('manifest', 'create', '--insecure', '--amend', `${repo}:multi`, `${repo}:1.0.0`, `${repo}:b`);
  docker('manifest', 'annotate', '--arch', 'arm64', `${repo}:multi`, `${repo}:b`);
  docker('manifest', 'push', '--insecure', '--purge', `${repo}:multi`);
});

afterAll(async () => {
  await registry?.stop();
  removeOurImages();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('plain HTTP registry on loopback', () => {
  let results: UpdateCheck[];
  let deadHost: string;

  beforeAll(async () => {
    deadHost = `127.0.0.1:${await freePort()}`;
    results = await checkUpdates(
      [
        site('same', '1.0.0'),
        site('moved', 'stable'),
        site('patch', '1.0.0', 'patch'),
        site('minor', '1.0.0', 'minor'),
        site('major', '1.0.0', 'major'),
        site('fpm-minor', '1.0.0-fpm', 'minor'),
        site('fpm-major', '1.0.0-fpm', 'major'),
        site('alpine-major', '1.0.0-alpine', 'major'),
        site('newest', '2.1.0', 'major', B),
        site('local', 'local'),
        site('multi', 'multi'),
        siteFor('down', `${deadHost}/rcheck/web:1.0.0`, 'digest', { id: A.Id, repoDigests: A.RepoDigests }),
        siteFor('down-too', `${deadHost}/rcheck/other:2.0.0`, 'minor', { id: A.Id, repoDigests: A.RepoDigests }),
        site('gone', '9.9.9'),
      ],
      { engine, config: config() },
    );
  });

  it('same tag, same digest: current, with both digests named', () => {
    expect(byName(results, 'same')).toEqual({
      container: 'same',
      policy: 'digest',
      current: { reference: `${repo}:1.0.0`, imageId: A.Id, digest: digestA },
      candidate: null,
      status: 'current',
      reason: `the registry serves 1.0.0 as ${digestA.slice(0, 19)}, the running image's digest`,
      passedOver: [],
    });
  });

  it('same tag, new digest: update to that digest', () => {
    expect(byName(results, 'moved')).toMatchObject({
      status: 'update',
      current: { digest: digestA },
      candidate: { reference: `${repo}:stable`, digest: digestB },
      reason: expect.stringContaining(`the registry serves stable as ${digestB.slice(0, 19)}; the running image is ${digestA.slice(0, 19)}`),
    });
  });

  it('patch / minor / major pick the newest release in range, pre-releases ignored', () => {
    expect(byName(results, 'patch').candidate).toEqual({ reference: `${repo}:1.0.2`, digest: digestA });
    expect(byName(results, 'minor').candidate).toEqual({ reference: `${repo}:1.2.3`, digest: digestA });
    expect(byName(results, 'major')).toMatchObject({ status: 'update', candidate: { reference: `${repo}:2.1.0`, digest: digestB }, reason: '2.1.0 is the newest tag within the major range after 1.0.0' });
  });

  it('variant suffixes are kept', () => {
    expect(byName(results, 'fpm-minor').candidate?.reference).toBe(`${repo}:1.1.0-fpm`);
    expect(byName(results, 'fpm-major').candidate?.reference).toBe(`${repo}:1.1.0-fpm`);
    expect(byName(results, 'alpine-major').candidate?.reference).toBe(`${repo}:1.3.0-alpine`);
  });

  it('newest already: falls back to the digest of the same tag', () => {
    expect(byName(results, 'newest')).toMatchObject({ status: 'current', reason: expect.stringMatching(/^no tag newer than 2\.1\.0 within the major range .*; checking whether 2\.1\.0 itself has a new digest: the registry serves 2\.1\.0 as/) });
  });

  it('a local tag already pointing at a newer image is an update', () => {
    expect(byName(results, 'local')).toMatchObject({
      status: 'update',
      candidate: { reference: `${repo}:local`, digest: digestB },
      reason: expect.stringMatching(new RegExp(`^the local tag ${repo}:local already points at image ${B.Id.slice(0, 19)} \\(created .*\\), newer than the running ${A.Id.slice(0, 19)}`)),
    });
  });

  it('a multi-arch index containing the running image is current', () => {
    expect(byName(results, 'multi')).toMatchObject({ status: 'current', reason: expect.stringContaining('(as one platform of its multi-arch index)') });
  });

  it('a registry that is down, a tag that is gone: reasons, and the pass went on', () => {
    const down = byName(results, 'down');
    const downToo = byName(results, 'down-too');
    for (const r of [down, downToo]) expect(r).toMatchObject({ status: 'error', candidate: null, reason: expect.stringMatching(new RegExp(`^cannot check ${deadHost}/rcheck/\\S+: registry ${deadHost}: connection refused, the registry is unreachable .*gave up after 2 attempts`)) });
    expect(byName(results, 'gone')).toMatchObject({ status: 'error', reason: expect.stringMatching(/has no 127\.0\.0\.1:\d+\/rcheck\/web:9\.9\.9 \(HTTP 404\)/) });
    // Whichever of the two containers on the dead registry asked first, the other got the same
    // answer without knocking again (which one goes first depends on the pass's concurrency).
    const [asked, notAsked] = /not asked again/.test(down.reason) ? [downToo, down] : [down, downToo];
    expect(asked.reason).not.toMatch(/not asked again/);
    expect(notAsked.reason).toMatch(/, earlier in this pass; not asked again/);
    expect(results.filter((r) => r.status !== 'error')).toHaveLength(11);
  });

  it('pullImage pulls through the engine and reports progress as plain lines', async () => {
    expect(() => inspect(`${repo}:multi`)).toThrow(/No such image/);
    const lines: string[] = [];
    const pulled = await pullImage(engine, `${repo}:multi`, config(), (l) => lines.push(l));
    expect(pulled).toEqual({ id: A.Id });
    expect(lines.join('\n')).toMatch(/Digest: sha256:|Status: /);
    await expect(pullImage(engine, `${repo}:no-such-tag`, config(), () => undefined)).rejects.toThrow(/pull of .*:no-such-tag failed: .*not found/);
  });
});

describe('refit check through the CLI', () => {
  let project: TestProject;
  let configFile: string;

  beforeAll(async () => {
    project = await composeProject('v2', SUITE, {
      'docker-compose.yml': `services:\n  web:\n    image: ${repo}:1.0.0\n    labels:\n      refit.enable: "true"\n      refit.policy: patch\n      refit.test.suite: ${SUITE}\n`,
    });
    await project.up();
    configFile = join(tmp, 'refit.yml');
    writeFileSync(configFile, `stateDir: ${tmp}/state\nregistry:\n  dockerConfig: ${tmp}/none.json\n  retries: 1\n`);
  });
  afterAll(async () => project?.down());

  it('--json reports the container with current and candidate, exit 0', () => {
    const name = project.containerName('web');
    const r = refit(['check', '--json', '--container', name], { REFIT_CONFIG: configFile });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({
      summary: { checked: 1, updates: 1, current: 0, errors: 0 },
      containers: [
        {
          container: name,
          policy: 'patch',
          // The first of the image's RepoDigests for the repository (the pull above added the index's;
          // other suites may have pushed the same image elsewhere).
          current: { reference: `${repo}:1.0.0`, imageId: A.Id, digest: inspect(`${repo}:1.0.0`).RepoDigests.find((d) => d.startsWith(`${repo}@`))!.split('@')[1] },
          candidate: { reference: `${repo}:1.0.2`, digest: digestA },
          status: 'update',
          reason: '1.0.2 is the newest tag within the patch range after 1.0.0',
          passedOver: [],
        },
      ],
    });
  });

  it('text output, and an unknown --container is a usage error', () => {
    const name = project.containerName('web');
    const text = refit(['check', '--container', name], { REFIT_CONFIG: configFile });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`-> ${repo}:1.0.2`);
    expect(text.stdout).toMatch(/1 checked: 1 with an update, 0 current, 0 could not be checked/);
    const bad = refit(['check', '--container', 'no-such-site'], { REFIT_CONFIG: configFile });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('refit: --container no-such-site: no managed container has that name (run `refit status` to list the managed containers)');
  });
});

describe('the same registry over TLS with a CA made now', () => {
  let certsDir: string;

  beforeAll(async () => {
    await registry.stop();
    const pki = join(tmp, 'pki');
    mkdirSync(pki);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=refit test CA', '-keyout', 'ca.key', '-out', 'ca.crt');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
    writeFileSync(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.crt');
    certsDir = join(tmp, 'certs.d');
    mkdirSync(join(certsDir, registry.host), { recursive: true });
    execFileSync('cp', [join(pki, 'ca.crt'), join(certsDir, registry.host, 'ca.crt')]);
    registry = await startRegistry({ ...registry.options, tls: { cert: join(pki, 'server.crt'), key: join(pki, 'server.key') } });
  });

  it('trusts the registry through certsDir/HOST:PORT/ca.crt, and says where the CA goes when it is missing', async () => {
    const [ok] = await checkUpdates([site('tls', '1.0.0', 'patch')], { engine, config: config({ certsDir }) });
    expect(ok).toMatchObject({ status: 'update', candidate: { reference: `${repo}:1.0.2`, digest: digestA } });
    const [bad] = await checkUpdates([site('tls', '1.0.0')], { engine, config: config() });
    expect(bad).toMatchObject({ status: 'error', reason: expect.stringMatching(new RegExp(`its TLS certificate is not trusted .*put the CA that signed it at ${tmp}/no-certs/${registry.host}/ca.crt`)) });
  });
});

describe('the same registry behind htpasswd Basic auth', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const dockerConfig = (name: string, password: string) => {
    const file = join(tmp, name);
    writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth: b64(`alice:${password}`) } } }));
    return file;
  };

  beforeAll(async () => {
    await registry.stop();
    const htpasswd = join(tmp, 'htpasswd');
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', 'alice', 'right']));
    registry = await startRegistry({ storage: registry.options.storage, port: registry.options.port, htpasswd });
  });

  it('no credentials and wrong credentials fail clearly; right ones check', async () => {
    const run = (file: string) => checkUpdates([site('auth', '1.0.0', 'minor')], { engine, config: config({ dockerConfig: file }) }).then((r) => r[0]!);
    expect((await run(join(tmp, 'none.json'))).reason).toMatch(new RegExp(`auth failed: registry ${registry.host} needs a login and .*none\\.json has no credentials for it`));
    expect((await run(dockerConfig('wrong.json', 'wrong'))).reason).toMatch(new RegExp(`auth failed: registry ${registry.host} rejected the credentials of alice for ${registry.host} from .*wrong\\.json`));
    expect(await run(dockerConfig('right.json', 'right'))).toMatchObject({ status: 'update', candidate: { reference: `${repo}:1.2.3`, digest: digestA } });
  });

  it('pullImage sends the same credentials to the engine', async () => {
    docker('rmi', `${repo}:1.0.1`);
    await expect(pullImage(engine, `${repo}:1.0.1`, config({ dockerConfig: dockerConfig('wrong.json', 'wrong') }), () => undefined)).rejects.toThrow(/pull of .*:1\.0\.1 failed: .*(unauthorized|authentication required)/i);
    expect(await pullImage(engine, `${repo}:1.0.1`, config({ dockerConfig: dockerConfig('right.json', 'right') }), () => undefined)).toEqual({ id: A.Id });
  });
});
