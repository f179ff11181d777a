/**
 * Tag rules against a real registry (Debian's docker-registry) holding images whose creation
 * times are set here: `refit.tag.include` / `refit.tag.exclude` and `refit.min-age` choose the
 * right tag, and the check says why each newer tag was passed over; the same through
 * `refit check --json` on a real Compose project.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeProject, sweepLeftovers, type TestProject } from '../../test/support/compose-project.js';
import { refit } from '../../test/support/refit-cli.js';
import { suiteName } from '../../test/support/suite.js';
import { buildWebImage } from '../../test/support/web-image.js';
import { registrySchema } from '../config/schema.js';
import type { TagRules } from '../site/labels.js';
import { checkUpdates, type UpdateCheck } from './check.js';
import { engineWithoutImages } from './testing/fake-registry.js';
import { freePort, startRegistry, sweepRegistries, type RunningRegistry } from './testing/local-registry.js';
import { siteFor } from './testing/sites.js';
import { pushSyntheticImage } from './testing/synthetic-image.js';

const SUITE = suiteName('tagrules');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(Date.now() - ms);

let tmp: string;
let registry: RunningRegistry;
let repo: string;
const digests: Record<string, string> = {};

const RULES: TagRules = { include: '^1\\.', exclude: '^1\\.2\\.5$', minAge: { ms: 3 * DAY, text: '3d' } };
const config = () => registrySchema.parse({ dockerConfig: join(tmp, 'none.json'), certsDir: join(tmp, 'certs'), retries: 1 });
const byName = (r: UpdateCheck[], name: string) => r.find((x) => x.container === name)!;

beforeAll(async () => {
  sweepRegistries();
  sweepLeftovers(SUITE);
  tmp = mkdtempSync(join(tmpdir(), 'refit-tagrules-'));
  registry = await startRegistry({ storage: join(tmp, 'storage'), port: await freePort() });
  repo = `${registry.host}/rules/web`;
  const tags: [string, number][] = [['1.0.0', 30 * DAY], ['1.1.0', 20 * DAY], ['1.2.0', 10 * DAY], ['1.2.5', 9 * DAY], ['1.3.0', 2 * HOUR], ['1.4.0', HOUR], ['2.0.0', 10 * DAY], ['stable', 30 * DAY], ['weekly', 30 * DAY]];
  for (const [tag, age] of tags) digests[tag] = await pushSyntheticImage(registry.host, 'rules/web', tag, ago(age));
  // Re-pushed since the containers started: `stable` an hour ago, `weekly` five days ago.
  digests['stable-new'] = await pushSyntheticImage(registry.host, 'rules/web', 'stable', ago(HOUR));
  digests['weekly-new'] = await pushSyntheticImage(registry.host, 'rules/web', 'weekly', ago(5 * DAY));
});

afterAll(async () => {
  await registry?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('tag rules choose among the registry tags', () => {
  let results: UpdateCheck[];
  const running = (tag: string) => ({ id: `sha256:${'1'.repeat(64)}`, repoDigests: [`${repo}@${digests[tag]}`] });

  beforeAll(async () => {
    results = await checkUpdates(
      [
        siteFor('ruled', `${repo}:1.0.0`, 'major', running('1.0.0'), RULES),
        siteFor('unruled', `${repo}:1.0.0`, 'major', running('1.0.0')),
        siteFor('all-young', `${repo}:1.2.5`, 'minor', running('1.2.5'), { include: null, exclude: null, minAge: { ms: 3 * DAY, text: '3d' } }),
        siteFor('stable', `${repo}:stable`, 'digest', running('stable'), { include: null, exclude: null, minAge: { ms: 3 * DAY, text: '3d' } }),
        siteFor('weekly', `${repo}:weekly`, 'digest', running('weekly'), { include: null, exclude: null, minAge: { ms: 3 * DAY, text: '3d' } }),
      ],
      { engine: engineWithoutImages(), config: config() },
    );
  });

  it('include, exclude and min-age pass over 2.0.0, 1.4.0, 1.3.0 and 1.2.5, each with its reason, and choose 1.2.0', () => {
    const r = byName(results, 'ruled');
    expect(r).toMatchObject({ status: 'update', candidate: { reference: `${repo}:1.2.0`, digest: digests['1.2.0'] } });
    expect(r.passedOver.map((p) => p.tag)).toEqual(['2.0.0', '1.4.0', '1.3.0', '1.2.5']);
    expect(r.passedOver[0]!.reason).toBe('does not match refit.tag.include ^1\\.');
    for (const young of r.passedOver.slice(1, 3)) expect(young.reason).toMatch(/^created \d+ (h|min)( \d+ (min|s))? ago \(\S+\), younger than refit\.min-age 3d$/);
    expect(r.passedOver[3]!.reason).toBe('matches refit.tag.exclude ^1\\.2\\.5$');
    expect(r.reason).toMatch(/^1\.2\.0 is the newest tag within the major range after 1\.0\.0 that passes the tag rules; passed over: 2\.0\.0 \(does not match refit\.tag\.include \^1\\\.\), 1\.4\.0 \(created .*\), 1\.3\.0 \(created .*\), 1\.2\.5 \(matches refit\.tag\.exclude \^1\\\.2\\\.5\$\)$/);
  });

  it('without rules the newest tag wins and nothing is passed over', () => {
    expect(byName(results, 'unruled')).toMatchObject({ status: 'update', candidate: { reference: `${repo}:2.0.0` }, passedOver: [], reason: '2.0.0 is the newest tag within the major range after 1.0.0' });
  });

  it('when every newer tag is too young, the running tag stays and the reason says why', () => {
    const r = byName(results, 'all-young');
    expect(r).toMatchObject({ status: 'current', candidate: null });
    expect(r.passedOver.map((p) => p.tag)).toEqual(['1.4.0', '1.3.0']);
    expect(r.reason).toMatch(/^no tag newer than 1\.2\.5 within the minor range passes the tag rules; passed over: 1\.4\.0 \(created .*\), 1\.3\.0 \(created .*\); checking whether 1\.2\.5 itself has a new digest: the registry serves 1\.2\.5 as sha256:\w{12}, the running image's digest$/);
  });

  it('a same-tag update waits for min-age too', () => {
    expect(byName(results, 'stable')).toMatchObject({ status: 'current', candidate: null, reason: expect.stringMatching(/^the registry serves stable as sha256:\w{12}, an image created .* ago \(\S+\), younger than refit\.min-age 3d: the running image stays until then$/) });
    expect(byName(results, 'weekly')).toMatchObject({ status: 'update', candidate: { reference: `${repo}:weekly`, digest: digests['weekly-new'] } });
  });
});

describe('refit check --json on a Compose project with tag rules', () => {
  let project: TestProject;
  let configFile: string;

  beforeAll(async () => {
    const image = `${repo}:1.0.0`;
    buildWebImage({ tag: image, version: '1.0.0' });
    execFileSync('docker', ['push', '-q', image], { stdio: 'ignore' });
    project = await composeProject('v2', SUITE, {
      'docker-compose.yml': [
        'services:',
        '  web:',
        `    image: ${image}`,
        '    labels:',
        '      refit.enable: "true"',
        '      refit.policy: major',
        "      refit.tag.include: '^1\\.'",
        "      refit.tag.exclude: '^1\\.2\\.5$'",
        '      refit.min-age: 3d',
        `      refit.test.suite: ${SUITE}`,
        '',
      ].join('\n'),
    });
    await project.up();
    configFile = join(tmp, 'refit.yml');
    writeFileSync(configFile, `stateDir: ${tmp}/state\nregistry:\n  dockerConfig: ${tmp}/none.json\n  retries: 1\n`);
  });
  afterAll(async () => {
    await project?.down();
    execFileSync('docker', ['rmi', '-f', `${repo}:1.0.0`], { stdio: 'ignore' });
  });

  it('names the chosen tag and every tag passed over, with why', () => {
    const r = refit(['check', '--json', '--container', project.containerName('web')], { REFIT_CONFIG: configFile });
    expect(r.stderr).toBe('');
    const [c] = r.json<{ containers: UpdateCheck[] }>().containers;
    expect(c).toMatchObject({ status: 'update', candidate: { reference: `${repo}:1.2.0` } });
    expect(c!.passedOver).toEqual([
      { tag: '2.0.0', reason: 'does not match refit.tag.include ^1\\.' },
      { tag: '1.4.0', reason: expect.stringMatching(/younger than refit\.min-age 3d$/) },
      { tag: '1.3.0', reason: expect.stringMatching(/younger than refit\.min-age 3d$/) },
      { tag: '1.2.5', reason: 'matches refit.tag.exclude ^1\\.2\\.5$' },
    ]);
    const text = refit(['check', '--container', project.containerName('web')], { REFIT_CONFIG: configFile });
    expect(text.stdout).toContain('passed over: 2.0.0 (does not match refit.tag.include ^1\\.)');
  });
});
