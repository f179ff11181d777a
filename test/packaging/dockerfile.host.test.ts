/**
 * packaging/docker/Dockerfile, built as an operator would (against `node:20`, here a stand-in
 * built from local layers: see standin-node.ts) and run against the host's engine through its
 * socket: `refit status --json` from inside the container sees the host's containers.
 *
 * The build passes TOOLS= (empty): installing the Docker CLI, git and the proxies needs a
 * Debian mirror, which build containers cannot reach here. `refit status` needs none of them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Discovery } from '../../src/site/discover.js';
import { suiteLabels, sweepLeftovers } from '../support/compose-project.js';
import { nodeFlagsOf, REPO_ROOT } from '../support/refit-cli.js';
import { buildWebImage } from '../support/web-image.js';
import { assertNoForeignImage, buildStandInNode, removeStandIn, STANDIN_LABEL, STANDIN_TAG } from './standin-node.js';
import { fixtureImage, suiteName } from '../support/suite.js';

const SUITE = suiteName('packaging');
const IMAGE = fixtureImage(SUITE, 'refit', 'packaging');
const WEB = fixtureImage(SUITE, 'packaging-web', '1.0.0');
const CONTAINER = `refit-packaging-${process.pid}`;
const docker = (...args: string[]) => execFileSync('docker', args, { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).toString();

beforeAll(() => {
  sweepLeftovers(SUITE);
  buildStandInNode();
  // The files the Dockerfile copies, as in a checkout (the repository root also holds node_modules and dist, which the build never reads).
  const ctx = mkdtempSync(join(tmpdir(), 'refit-dockerctx-'));
  try {
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src']) cpSync(join(REPO_ROOT, f), join(ctx, f), { recursive: true });
    docker('build', '-q', '-f', join(REPO_ROOT, 'packaging/docker/Dockerfile'), '--build-arg', 'TOOLS=', '--label', 'refit.test=true', '--label', `refit.test.suite=${SUITE}`, '-t', IMAGE, ctx);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  buildWebImage({ tag: WEB, version: '1.0.0' });
  const labels = Object.entries({ ...suiteLabels(SUITE), 'refit.enable': 'true' }).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  docker('run', '-d', '--name', CONTAINER, ...labels, WEB);
}, 900_000);

afterAll(() => {
  sweepLeftovers(SUITE);
  for (const image of [IMAGE, WEB]) spawnSync('docker', ['rmi', '-f', image], { stdio: 'ignore' });
  removeStandIn();
});

describe('the refit container image', () => {
  it('runs refit status --json against the host engine through the mounted socket', () => {
    const r = spawnSync('docker', ['run', '--rm', '-v', '/var/run/docker.sock:/var/run/docker.sock', IMAGE, 'status', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const found = JSON.parse(r.stdout) as Discovery;
    expect(Array.isArray(found.sites)).toBe(true);
    // Seen from inside the container: a labelled container on the host, not started by Compose.
    expect(found.unmanaged).toContainEqual(expect.objectContaining({ name: CONTAINER, reason: 'not started by Docker Compose (no com.docker.compose.* labels)' }));
  });

  it('is built on node:20 (it inherits the stand-in label) and runs the daemon by default', () => {
    const config = JSON.parse(docker('image', 'inspect', '--format', '{{json .Config}}', IMAGE)) as { Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string> };
    expect(config.Labels[STANDIN_LABEL]).toBe('true');
    const shebang = readFileSync(join(REPO_ROOT, 'src/cli/main.ts'), 'utf8').split('\n', 1)[0]!;
    expect(config.Entrypoint).toEqual(['node', ...nodeFlagsOf(shebang), '/opt/refit/dist/cli/main.js']);
    expect(config.Cmd).toEqual(['daemon']);
  });

  it('would refuse to replace an image of that name it did not build', () => {
    expect(() => assertNoForeignImage(STANDIN_TAG)).not.toThrow();
    // Any image without the stand-in label, e.g. the fixture: stands for a real node:20.
    expect(() => assertNoForeignImage(WEB)).toThrow(`an image named ${WEB} exists on this host and was not built by this test`);
  });
});
