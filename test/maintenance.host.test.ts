/**
 * The maintenance engine end to end, on a real host: Compose v1 and v2 sites behind a real
 * HAProxy, images from a real registry, `refit run` and `refit recover` as an operator runs
 * them. A load loop runs through the proxy while sites are updated.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_ORDER } from '../src/maintenance/steps.js';
import type { PassReport } from '../src/maintenance/report.js';
import { FLAVORS } from './support/compose-project.js';
import { OLD_TREE, startHarness, tree, type Harness, type TestSite } from './support/host-harness.js';
import { startWrk } from './support/wrk.js';
import { refitAsync } from './support/refit-cli.js';
import { expectWhole as expectWholeSite, getThroughProxy } from './support/site-checks.js';
import { suiteName } from './support/suite.js';

const SUITE = suiteName('engine');
let h: Harness;

beforeAll(async () => {
  h = await startHarness(SUITE);
});
afterAll(async () => h?.stop());

function inspect(name: string): { id: string; image: string } {
  const [id, image] = execFileSync('docker', ['inspect', '-f', '{{.Id}} {{.Config.Image}}', name]).toString().trim().split(' ');
  return { id: id!, image: image! };
}

const get = (site: TestSite) => getThroughProxy(h, site);
const expectWhole = (site: TestSite, as: 'old' | 'new') => expectWholeSite(h, site, as);

describe.each(FLAVORS)('refit run with Compose %s', (flavor) => {
  it('updates a site under load without dropping a request: merged configs, tag bumped in place, nothing left over', async () => {
    const site = await h.site(flavor);
    try {
      const sync = await refitAsync(['proxy', 'sync'], h.env);
      expect(sync.stderr).toBe('');
      const load = startWrk({ url: `http://127.0.0.1:${h.httpPort}`, host: site.vhost, connections: 4, durationMs: 300_000 });
      await load.started;
      const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
      const served = await load.stop();
      expect(r.stderr).toBe('');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const report = r.json<PassReport>().containers[0]!;
      expect(report.result).toBe('updated');
      expect(report.merge?.summary).toMatchObject({ 'took-latest': 1, added: 1, conflict: 1, 'kept-customer': 1 });
      expect(report.health.shadow?.healthy).toBe(true);
      expect(report.health.original?.healthy).toBe(true);
      expect({ failed: served.failed, byStatus: served.byStatus, unanswered: served.unanswered }).toEqual({ failed: 0, byStatus: {}, unanswered: 0 });
      expect(Object.keys(served.firstLines).sort()).toEqual(['fixture version=1.0.0', 'fixture version=1.1.0']);
      await expectWhole(site, 'new');
      // The customer's old tree is kept as a backup.
      const backups = join(h.stateDir, 'backups', `${site.project}_web`);
      const [backup] = readdirSync(backups);
      expect(tree(join(backups, backup!))).toEqual(OLD_TREE);
    } finally {
      await site.down();
    }
  });

  it('rolls back a new image that fails its health check: the original never stopped', async () => {
    const site = await h.site(flavor, { repo: 'bad' });
    try {
      const before = inspect(site.container);
      const r = await refitAsync(['run', '--json', '--container', site.container], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const report = r.json<PassReport>().containers[0]!;
      expect(report.result).toBe('rolled-back');
      expect(report.reason).toMatch(/shadow-health: shadow .* is unhealthy/);
      expect(inspect(site.container)).toEqual(before);
      const { status, body } = await get(site);
      expect([status, body.split('\n')[0]]).toEqual([200, 'fixture version=1.0.0']);
      expect(tree(site.confDir)).toEqual(OLD_TREE);
      expect(readFileSync(join(site.dir, 'docker-compose.yml'), 'utf8')).toBe(site.composeText);
      expect(h.shadows()).toEqual([]);
      expect(h.scratchLeft()).toEqual([]);
    } finally {
      await site.down();
    }
  });
});

describe('refit run --dry-run', () => {
  it('shows the plan and each config file\'s merge outcome, and changes nothing', async () => {
    const site = await h.site('v1');
    try {
      const before = inspect(site.container);
      const r = await refitAsync(['run', '--dry-run', '--json', '--container', site.container], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const [plan] = r.json<PassReport>().containers;
      expect(plan).toMatchObject({ result: 'planned', to: { reference: h.ref('web', '1.1.0') } });
      expect(plan!.merge?.items.map((i) => [i.path, i.outcome])).toEqual([
        ['extra.conf', 'kept-customer'],
        ['httpd.conf', 'took-latest'],
        ['new-in-v2.conf', 'added'],
        ['site.conf', 'conflict'],
      ]);
      expect(inspect(site.container)).toEqual(before);
      expect(tree(site.confDir)).toEqual(OLD_TREE);
      expect(readFileSync(join(site.dir, 'docker-compose.yml'), 'utf8')).toBe(site.composeText);
      expect(h.shadows()).toEqual([]);
      expect(h.scratchLeft()).toEqual([]);
      const text = await refitAsync(['run', '--dry-run', '--container', site.container], h.env);
      expect(text.stdout).toMatch(/^planned {2}\S+ {2}\S+web:1\.0\.0 -> \S+web:1\.1\.0/m);
      expect(text.stdout).toMatch(/conflict +site\.conf \(you won 1 conflicting hunk\)/);
    } finally {
      await site.down();
    }
  });
});

describe('a pass over several sites', () => {
  it('updates the others when one fails, and says which failed and why', async () => {
    const good = await h.site('v2');
    const bad = await h.site('v1', { repo: 'bad' });
    try {
      const r = await refitAsync(['run', '--container', good.container, '--container', bad.container], h.env);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`^updated  ${good.container}`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^ROLLED BACK  ${bad.container}[^\\n]*\\n    rolled back: shadow-health: shadow \\S+ on \\S+ is unhealthy`, 'm'));
      expect(r.stdout).toMatch(/run #\d+: 1 updated, 1 rolled-back/);
      await expectWhole(good, 'new');
    } finally {
      await good.down();
      await bad.down();
    }
  });
});

describe('a failure injected after a step', () => {
  const beforeCommit = STEP_ORDER.names.slice(0, STEP_ORDER.names.indexOf(STEP_ORDER.commit));
  it.each(beforeCommit)('fail:%s is rolled back to the untouched site', async (step) => {
    const site = await h.site(beforeCommit.indexOf(step) % 2 ? 'v1' : 'v2');
    try {
      const r = await refitAsync(['run', '--container', site.container], { ...h.env, REFIT_FAULT: `fail:${step}` });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`rolled back: ${step}: injected failure`));
      await expectWhole(site, 'old');
    } finally {
      await site.down();
    }
  });

  it.each(['original-traffic', 'retire-shadow'])('fail:%s after the commit: the update stands, recover finishes it', async (step) => {
    const site = await h.site(step === 'retire-shadow' ? 'v1' : 'v2');
    try {
      const r = await refitAsync(['run', '--container', site.container], { ...h.env, REFIT_FAULT: `fail:${step}` });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/the update stands but did not finish/);
      const rec = await refitAsync(['recover'], h.env);
      expect(rec.code, rec.stdout + rec.stderr).toBe(0);
      await expectWhole(site, 'new');
    } finally {
      await site.down();
    }
  });
});

describe('hooks', () => {
  it('a failing pre-update hook skips the container; post-update runs in the new one', async () => {
    const skipped = await h.site('v2', { labels: { 'refit.hook.pre-update': 'echo not now >&2; exit 3' } });
    const hooked = await h.site('v1', { labels: { 'refit.hook.pre-update': 'true', 'refit.hook.post-update': 'touch /tmp/post-update-ran' } });
    try {
      const r = await refitAsync(['run', '--json', '--container', skipped.container, '--container', hooked.container], h.env);
      const [a, b] = r.json<PassReport>().containers;
      expect(a).toMatchObject({ container: skipped.container, result: 'skipped' });
      expect(a!.reason).toMatch(/pre-update hook failed: hook `echo not now >&2; exit 3` in \S+ exited with 3: not now/);
      await expectWhole(skipped, 'old');
      expect(b).toMatchObject({ container: hooked.container, result: 'updated', notes: [] });
      execFileSync('docker', ['exec', hooked.container, 'test', '-f', '/tmp/post-update-ran']);
    } finally {
      await skipped.down();
      await hooked.down();
    }
  });
});

describe('SIGKILL of refit, then refit recover', () => {
  // After every journal entry of a maintenance: each step's begin (killed mid-step) and done.
  const points = STEP_ORDER.names.flatMap((s) => [`${s}:begin`, `${s}:done`]);
  it.each(points)('killed after %s: the site serves, old or new as a whole, nothing orphaned', async (point) => {
    const site = await h.site(points.indexOf(point) % 2 ? 'v1' : 'v2');
    try {
      const killed = await refitAsync(['run', '--container', site.container], { ...h.env, REFIT_FAULT: `kill:${point}` });
      expect(killed.code, killed.stdout + killed.stderr).toBe(137);
      const r = await refitAsync(['recover', '--json'], h.env);
      expect(r.stderr).toBe('');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const [recovered] = r.json<{ recovered: PassReport['containers'] }>().recovered;
      const [step, phase] = point.split(':') as [string, string];
      const at = STEP_ORDER.names.indexOf(step);
      const commit = STEP_ORDER.names.indexOf(STEP_ORDER.commit);
      const committed = at > commit || (at === commit && phase === 'done');
      expect(recovered?.result).toBe(committed ? 'updated' : 'rolled-back');
      await expectWhole(site, committed ? 'new' : 'old');
      const again = await refitAsync(['recover'], h.env);
      expect(again.stdout).toMatch(/nothing to recover/);
      expect(existsSync(join(h.stateDir, 'refit.lock'))).toBe(false);
    } finally {
      await site.down();
    }
  });
});
