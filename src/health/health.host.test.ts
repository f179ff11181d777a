/**
 * The health checker against the real fixture web app (busybox httpd) on a Docker network,
 * reached by the container's internal IP, and `refit health` as an operator runs it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthSchema } from '../config/schema.js';
import { composeProject, sweepLeftovers, type TestProject } from '../../test/support/compose-project.js';
import { refit } from '../../test/support/refit-cli.js';
import { buildWebImage } from '../../test/support/web-image.js';
import { checkHealth } from './check.js';
import { probe } from './probe.js';
import type { HealthTarget, Verdict } from './types.js';
import { fixtureImage, suiteName } from '../../test/support/suite.js';

const SUITE = suiteName('health');
const HEALTHY = fixtureImage(SUITE, 'web', '1.0.0');
const NO_ENDPOINT = fixtureImage(SUITE, 'health-absent', '1.0.0');
const SICK = fixtureImage(SUITE, 'health-unhealthy', '1.0.0');

const service = (image: string, labels: Record<string, string>) => `
    image: ${image}
    labels:
${Object.entries({ ...labels, 'refit.test.suite': SUITE })
  .map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`)
  .join('\n')}
    networks: [front]`;

const composeFile = `services:
  healthy:${service(HEALTHY, { 'refit.enable': 'true', 'refit.vhosts': 'Shop.example,www.shop.example' })}
  noendpoint:${service(NO_ENDPOINT, { 'refit.enable': 'true' })}
  sick:${service(SICK, { 'refit.enable': 'true', 'refit.vhosts': 'sick.example' })}
  custompath:${service(HEALTHY, { 'refit.enable': 'true', 'refit.health.path': '/robots.txt' })}
  stopped:${service(HEALTHY, { 'refit.enable': 'true' })}
  unlabelled:${service(HEALTHY, {})}
networks:
  front:
    labels:
      refit.test.suite: ${SUITE}
`;

let project: TestProject;
let configDir: string;
const env = () => ({ REFIT_CONFIG: join(configDir, 'refit.yml') });
const ipOf = (name: string): string => execFileSync('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name]).toString().trim();
const target = (svc: string, vhosts: string[]): HealthTarget => ({ ip: ipOf(project.containerName(svc)), port: 80, vhosts, healthPath: '/refit/health' });
const options = healthSchema.parse({ attempts: 20, intervalMs: 250 });

beforeAll(async () => {
  sweepLeftovers(SUITE);
  buildWebImage({ tag: HEALTHY, version: '1.0.0' });
  buildWebImage({ tag: NO_ENDPOINT, version: '1.0.0', health: 'absent' });
  buildWebImage({ tag: SICK, version: '1.0.0', health: 'unhealthy' });
  configDir = mkdtempSync(join(tmpdir(), 'refit-health-cfg-'));
  writeFileSync(join(configDir, 'refit.yml'), `stateDir: ${configDir}/state\nhealth:\n  intervalMs: 250\n  attempts: 20\n`);
  project = await composeProject('v2', SUITE, { 'docker-compose.yml': composeFile });
  await project.up();
  execFileSync('docker', ['stop', '-t', '1', project.containerName('stopped')], { stdio: 'ignore' });
});

afterAll(async () => {
  await project?.down();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

describe('checkHealth against the fixture container by its internal IP', () => {
  it('the custom endpoint says healthy', async () => {
    const v = await checkHealth(target('healthy', ['shop.example', 'www.shop.example']), options);
    expect(v.healthy).toBe(true);
    expect(v.attempts.at(-1)).toMatchObject({ decidedBy: 'custom', path: '/refit/health', host: 'shop.example', status: 200 });
  });

  it('without a custom endpoint, GET / decides', async () => {
    const v = await checkHealth(target('noendpoint', []), options);
    expect(v.healthy).toBe(true);
    expect(v.attempts.at(-1)!.requests.map((r) => [r.path, r.status])).toEqual([
      ['/refit/health', 404],
      ['/', 200],
    ]);
  });

  it('a custom endpoint saying "unhealthy" fails every attempt', async () => {
    const v = await checkHealth(target('sick', ['sick.example']), { ...options, attempts: 3, intervalMs: 50 });
    expect(v.healthy).toBe(false);
    expect(v.attempts).toHaveLength(3);
    expect(v.attempts.at(-1)!.reason).toMatch(/status "unhealthy", not "healthy"/);
  });

  it('the app sees the Host and the forwarded https headers the checker sends', async () => {
    const t = target('healthy', ['shop.example']);
    const { request, body } = await probe({ ip: t.ip, port: 80, path: '/cgi-bin/echo', host: 'www.shop.example', forwardedHttps: true, connectTimeoutMs: 2000, responseTimeoutMs: 5000, maxBodyBytes: 4096, keepBody: true });
    expect(request.status).toBe(200);
    expect(body.toString()).toMatch(/host=www\.shop\.example\n/);
    expect(body.toString()).toMatch(/x-forwarded-proto=https\nx-forwarded-ssl=on\n/);
  });
});

describe('refit health', () => {
  it('CONTAINER: healthy is exit 0, with the target from its labels and the Engine API', () => {
    const name = project.containerName('healthy');
    const r = refit(['health', name, '--json'], env());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.json<{ container: string; target: HealthTarget } & Verdict>();
    expect(out.container).toBe(name);
    expect(out.target).toEqual({ ip: ipOf(name), port: 80, vhosts: ['shop.example', 'www.shop.example'], healthPath: '/refit/health' });
    expect(out.healthy).toBe(true);
  });

  it('CONTAINER with refit.health.path: that path is the custom endpoint (a non-JSON file: unhealthy, exit 1)', () => {
    const r = refit(['health', project.containerName('custompath'), '--attempts', '2', '--interval-ms', '10'], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/custom endpoint \/robots\.txt/);
    expect(r.stdout).toMatch(/unhealthy: not healthy after 2 attempts; last: GET \/robots\.txt .* not JSON/);
  });

  it('CONTAINER unhealthy is exit 1, with every attempt in the text report', () => {
    const r = refit(['health', project.containerName('sick'), '--attempts', '2', '--interval-ms', '10'], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^checking .* as Host sick\.example/);
    expect(r.stdout).toMatch(/#1 failed/);
    expect(r.stdout).toMatch(/#2 failed/);
  });

  it('--url with --host: exit 0 healthy, exit 1 when nothing listens', () => {
    const ip = ipOf(project.containerName('healthy'));
    const ok = refit(['health', '--url', `http://${ip}`, '--host', 'shop.example', '--json'], env());
    expect(ok.code).toBe(0);
    expect(ok.json<Verdict>().attempts[0]).toMatchObject({ host: 'shop.example', passed: true });
    const closed = refit(['health', '--url', `http://${ip}:81`, '--attempts', '1'], env());
    expect(closed.code).toBe(1);
    expect(closed.stdout).toMatch(/connection refused/);
  });

  it.each([
    [['health', '--url', 'http://127.0.0.1', '--attempts', '0'], /--attempts "0" is not a whole number/],
    [['health', '--url', 'http://127.0.0.1', '--interval-ms', 'soon'], /--interval-ms "soon"/],
    [['health', '--url', 'ftp://127.0.0.1'], /must be http:\/\//],
    [['health'], /nothing to check/],
    [['health', '--bogus'], /unknown option '--bogus'/],
    [['health', 'no-such-container-refit-test'], /no container named "no-such-container-refit-test"/],
  ])('bad usage %j: the reason on stderr, nothing on stdout, exit 2', (args, message) => {
    const r = refit(args, env());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('an unlabelled container is exit 2 and a stopped one exit 1, each saying what to do', () => {
    const unlabelled = refit(['health', project.containerName('unlabelled')], env());
    expect(unlabelled.code).toBe(2);
    expect(unlabelled.stderr).toMatch(/is not managed by refit \(no refit\.enable=true label\)/);
    const stopped = refit(['health', project.containerName('stopped')], env());
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/is exited, not running \(start it/);
  });

  it('--help shows an example', () => {
    const r = refit(['health', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/refit health --url http:\/\/172\.18\.0\.5 --host example\.com/);
  });
});
