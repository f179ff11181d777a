/**
 * `refit proxy sync` as an operator runs it: a Compose site is discovered, HAProxy is started
 * from a temp run dir on loopback high ports and routes the site's vhost to its container.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { composeProject, sweepLeftovers, type TestProject } from '../../test/support/compose-project.js';
import { refit } from '../../test/support/refit-cli.js';
import { buildWebImage } from '../../test/support/web-image.js';
import { createProxy } from './adapter.js';
import type { SyncOutput } from '../cli/commands/proxy.js';
import { fixtureImage, suiteName } from '../../test/support/suite.js';

const SUITE = suiteName('proxysync');
const IMAGE = fixtureImage(SUITE, 'web', '1.0.0');

let project: TestProject;
let dir: string;
// Unique per run, so another suite's site on this host cannot claim it.
const vhost = `sync${process.pid}.example`;
let httpPort: number;
let httpsPort: number;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function get(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: httpPort, path: '/', agent: false, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const config = (type: string) => `stateDir: ${dir}/state
images: { labels: [], references: ["${IMAGE}"] }
proxy:
  type: ${type}
  network: ${project.project}_front
  haproxy:
    runDir: ${dir}/haproxy
    bind: 127.0.0.1
    httpPort: ${httpPort}
    httpsPort: ${httpsPort}
    certDir: ${dir}/no-certs
`;

beforeAll(async () => {
  sweepLeftovers(SUITE);
  buildWebImage({ tag: IMAGE, version: '1.0.0' });
  dir = mkdtempSync(join(tmpdir(), 'refit-proxysync-'));
  httpPort = await freePort();
  httpsPort = await freePort();
  project = await composeProject('v2', SUITE, {
    'docker-compose.yml': `services:
  web:
    image: ${IMAGE}
    labels:
      refit.enable: "true"
      refit.vhosts: "${vhost}"
      refit.test.suite: ${SUITE}
    networks: [front]
networks:
  front:
    labels:
      refit.test.suite: ${SUITE}
`,
  });
  await project.up();
});

afterAll(async () => {
  if (dir) await createProxy(parseConfigText(config('haproxy')).proxy).stop();
  await project?.down();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('refit proxy sync', () => {
  it('starts HAProxy with the running site and routes its vhost to the container', async () => {
    writeFileSync(join(dir, 'refit.yml'), config('haproxy'));
    const r = refit(['proxy', 'sync', '--json'], { REFIT_CONFIG: join(dir, 'refit.yml') });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = r.json<SyncOutput>();
    expect(report.proxy).toBe('haproxy');
    expect(report.applied).toBe(true);
    const ours = report.sites.find((s) => s.id === `${project.project}.web`);
    const name = project.containerName('web');
    expect(ours).toMatchObject({ vhosts: [vhost], servers: [{ name, port: 80 }] });
    const reply = await get(vhost);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatch(/fixture version=1\.0\.0/);
  });

  it('with proxy type none applies nothing and says why', () => {
    writeFileSync(join(dir, 'refit-none.yml'), config('none'));
    const r = refit(['proxy', 'sync'], { REFIT_CONFIG: join(dir, 'refit-none.yml') });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/proxy\.type is none/);
  });

  it('a bad proxy section is one line naming the key, exit 2', () => {
    writeFileSync(join(dir, 'refit-bad.yml'), 'proxy:\n  type: traefik\n');
    const r = refit(['proxy', 'sync'], { REFIT_CONFIG: join(dir, 'refit-bad.yml') });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/proxy\.type/);
  });
});
