/**
 * A fleet on this machine: a real PostgreSQL (a cluster of the test's own) and several refit
 * "hosts", each with its own refit.yml, state dir, HAProxy on its own ports, Compose projects
 * and host name, all sharing the harness's local registry. What it shows, in order:
 *  - an operator's hold stops even the canary; release lets it go;
 *  - the canary takes a new image; wave 1 takes it only after the soak, wave 2 only after wave 1
 *    reported it and the soak passed again (a short soak, configured; the test waits for what
 *    `refit fleet status` says, never for a time of its own);
 *  - a failing image on the canary holds the whole fleet by itself, with a notification; another
 *    canary and a later wave skip it with that reason;
 *  - the database stopped in the middle of a pass: the pass finishes, the events wait in the
 *    host's outbox, and are all there, once, after the database is back;
 *  - `refit fleet status` and `refit fleet history` agree with every host's own `refit history`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetHistory, FleetHistoryEntry } from '../src/fleet/history.js';
import type { FleetStatus } from '../src/fleet/status.js';
import type { PassReport } from '../src/maintenance/report.js';
import type { HistoryEntry } from '../src/report/history.js';
import { startHarness, type Harness, type RefitHost, type TestSite } from './support/host-harness.js';
import { journalSeq, waitForStep } from './support/journal-watch.js';
import { startPostgres, type RunningPostgres } from './support/postgres.js';
import { refit, refitAsync } from './support/refit-cli.js';
import { suiteName } from './support/suite.js';
import { until } from './support/until.js';

const SUITE = suiteName('fleet');
const SOAK_MS = 30_000;
const LONG = 600_000;

let pgc: RunningPostgres;
let h: Harness;
let dir: string;
let hooks: Server;
const received: Record<string, unknown>[] = [];
const hosts: Record<'canary' | 'canary2' | 'wave1' | 'wave2' | 'outage', RefitHost> = {} as never;
const sites: Record<'webA' | 'webB' | 'webC' | 'webD' | 'badA' | 'badB' | 'badC', TestSite> = {} as never;

/** Which host each site belongs to: a host's passes touch only its own sites (`--container`). */
const owner: Record<keyof typeof sites, keyof typeof hosts> = { webA: 'canary', badA: 'canary', webB: 'wave1', badB: 'wave1', webC: 'wave2', badC: 'canary2', webD: 'outage' };

async function run(site: keyof typeof sites, env: Record<string, string> = {}) {
  const r = await refitAsync(['run', '--json', '--container', sites[site].container], { ...hosts[owner[site]].env, ...env });
  const report = r.json<PassReport>();
  return { ...r, result: report.containers[0]!.result, reason: report.containers[0]!.reason };
}

const imageOf = (site: keyof typeof sites) => execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', sites[site].container]).toString().trim();
const fleet = <T>(...args: string[]) => {
  const r = refit(['fleet', ...args, '--json'], hosts.canary.env);
  expect(r.code, r.stderr).toBe(0);
  return r.json<T>();
};
const status = () => fleet<FleetStatus>('status');
const image = (s: FleetStatus, repo: 'web' | 'bad') => s.images.find((i) => i.repository === h.registry.host + `/${repo}`);
const gateOf = (s: FleetStatus, repo: 'web' | 'bad', wave: string) => image(s, repo)?.waves.find((w) => w.wave === wave)?.gate;

beforeAll(async () => {
  pgc = await startPostgres({ fsync: false });
  await pgc.createDatabase('fleet');
  dir = mkdtempSync(join(tmpdir(), 'refit-fleet-'));
  const passwordFile = join(dir, 'fleet-password');
  writeFileSync(passwordFile, `${pgc.role.password}\n`, { mode: 0o600 });
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks/fleet`;

  h = await startHarness(SUITE);
  const member = (name: string, wave: string) => [
    'fleet:',
    '  enabled: true',
    `  database: { url: "${pgc.url('fleet')}", passwordFile: ${passwordFile} }`,
    `  host: ${name}`,
    `  wave: ${wave}`,
    `  thresholds: { maxFailureRate: 0.1, soakMs: ${SOAK_MS}, minReports: 1 }`,
    'notify:',
    `  webhooks: [{ url: "${hookUrl}", kind: json, passes: problems }]`,
    '  attempts: 2',
    '  deadlineMs: 10000',
  ];
  hosts.canary = await h.host('canary-a', member('canary-a', 'canary'));
  hosts.canary2 = await h.host('canary-b', member('canary-b', 'canary'));
  hosts.wave1 = await h.host('wave1-a', member('wave1-a', '1'));
  hosts.wave2 = await h.host('wave2-a', member('wave2-a', '2'));
  hosts.outage = await h.host('outage-a', member('outage-a', 'canary'));
  for (const name of ['webA', 'webB', 'webC', 'webD'] as const) sites[name] = await h.site('v2');
  for (const name of ['badA', 'badB', 'badC'] as const) sites[name] = await h.site('v2', { repo: 'bad' });
}, LONG);

afterAll(async () => {
  for (const s of Object.values(sites)) await s.down();
  await h?.stop();
  pgc?.stop();
  await new Promise((r) => hooks?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a fleet rolling out by waves', () => {
  it('an operator hold stops even the canary, with its reason; release lets it go', async () => {
    const held = refit(['fleet', 'hold', `${h.registry.host}/web`, '--reason', 'checking the build first'], hosts.canary.env);
    expect(held.code, held.stderr).toBe(0);
    expect(held.stdout).toMatch(new RegExp(`^${esc(h.registry.host)}/web \\(every digest\\) held by \\S+@canary-a at .*: checking the build first\\n$`));

    const skipped = await run('webA');
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.result).toBe('skipped');
    expect(skipped.reason).toMatch(/^fleet: held by \S+@canary-a since \S+: checking the build first$/);
    expect(imageOf('webA')).toBe(h.ref('web', '1.0.0'));
    expect(status().holds).toEqual([expect.objectContaining({ repository: `${h.registry.host}/web`, digest: null, auto: false, reason: 'checking the build first' })]);

    const released = refit(['fleet', 'release', `${h.registry.host}/web`], hosts.canary.env);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toMatch(/^\S+\/web \(every digest\) held by .*: checking the build first, released by \S+@canary-a at /);
    expect(status().holds).toEqual([]);
  }, LONG);

  it('the canary takes the new image; wave 1 follows after the soak, wave 2 after wave 1 and another soak', async () => {
    const canary = await run('webA');
    expect([canary.code, canary.result], canary.stderr).toEqual([0, 'updated']);
    expect(imageOf('webA')).toBe(h.ref('web', '1.1.0'));

    const early = await run('webB');
    expect([early.code, early.result], early.stderr).toEqual([0, 'skipped']);
    expect(early.reason).toMatch(new RegExp(`^fleet: soaking: canary reported ${esc(h.registry.host)}/web@sha256:\\w+ at \\S+; wave 1 may take it from \\S+$`));
    const waiting = await run('webC');
    expect([waiting.code, waiting.result], waiting.stderr).toEqual([0, 'skipped']);
    expect(waiting.reason).toMatch(new RegExp(`^fleet: waiting for wave 1: 0 of 1 report of ${esc(h.registry.host)}/web@sha256:\\w+ so far$`));
    expect(imageOf('webB')).toBe(h.ref('web', '1.0.0'));
    expect(imageOf('webC')).toBe(h.ref('web', '1.0.0'));

    await until('fleet status to open wave 1', () => gateOf(status(), 'web', 'wave 1')?.admit === true, SOAK_MS + 120_000);
    const wave1 = await run('webB');
    expect([wave1.code, wave1.result], wave1.stderr).toEqual([0, 'updated']);
    expect(imageOf('webB')).toBe(h.ref('web', '1.1.0'));

    const soaking = await run('webC');
    expect([soaking.code, soaking.result], soaking.stderr).toEqual([0, 'skipped']);
    expect(soaking.reason).toMatch(/^fleet: soaking: wave 1 reported .* wave 2 may take it from /);
    await until('fleet status to open wave 2', () => gateOf(status(), 'web', 'wave 2')?.admit === true, SOAK_MS + 120_000);
    const wave2 = await run('webC');
    expect([wave2.code, wave2.result], wave2.stderr).toEqual([0, 'updated']);
    expect(imageOf('webC')).toBe(h.ref('web', '1.1.0'));

    const web = image(status(), 'web')!;
    expect(web.references).toEqual([h.ref('web', '1.1.0')]);
    expect(web.waves.map((w) => [w.wave, w.counts])).toEqual([
      ['canary', { skipped: 1, updated: 1 }],
      ['wave 1', { skipped: 1, updated: 1 }],
      ['wave 2', { skipped: 2, updated: 1 }],
    ]);
  }, LONG);

  it('a failing image on the canary holds the whole fleet by itself and notifies; other hosts skip it with the reason', async () => {
    const canary = await run('badA');
    expect([canary.code, canary.result], canary.stderr).toEqual([1, 'rolled-back']);
    expect(imageOf('badA')).toBe(h.ref('bad', '1.0.0'));

    const reason = /^failure rate 100% \(1 of 1 report\) is over fleet.thresholds.maxFailureRate 10%$/;
    const bad = image(status(), 'bad')!;
    expect(bad.holds).toEqual([expect.objectContaining({ auto: true, digest: bad.digest, heldBy: 'canary-a', reason: expect.stringMatching(reason) })]);
    await until('the hold notification', () => received.some((b) => b.event === 'hold'), 30_000);
    expect(received.filter((b) => b.event === 'hold' && b.auto === true)).toEqual([
      expect.objectContaining({ host: 'canary-a', repository: `${h.registry.host}/bad`, digest: bad.digest, reason: expect.stringMatching(reason), text: expect.stringMatching(/^refit fleet: .* held automatically \(seen on canary-a\)/) }),
    ]);

    for (const site of ['badC', 'badB'] as const) {
      const skipped = await run(site);
      expect([skipped.code, skipped.result], skipped.stderr).toEqual([0, 'skipped']);
      expect(skipped.reason).toMatch(/^fleet: held automatically since \S+: failure rate 100% \(1 of 1 report\) is over fleet.thresholds.maxFailureRate 10%$/);
      expect(imageOf(site)).toBe(h.ref('bad', '1.0.0'));
    }
    expect(gateOf(status(), 'bad', 'wave 1')).toMatchObject({ admit: false, reason: expect.stringMatching(/^held automatically/) });
  }, LONG);

  it('the database stopped during a pass: the pass finishes, nothing is lost, and the outbox catches up once it is back', async () => {
    const release = join(dir, 'release-outage');
    const afterSeq = journalSeq(hosts.outage.stateDir);
    const pass = refitAsync(['run', '--json', '--container', sites.webD.container], { ...hosts.outage.env, REFIT_FAULT: 'hold:pull:begin', REFIT_FAULT_RELEASE: release });
    expect(await waitForStep(hosts.outage.stateDir, { step: 'pull', phase: 'begin', afterSeq, until: pass })).toBe(true);
    pgc.pause();
    writeFileSync(release, '');
    const down = await pass;
    expect(down.code, down.stderr).toBe(0);
    expect(down.json<PassReport>().containers[0]).toMatchObject({ result: 'updated' });
    expect(down.stderr).toMatch(/fleet: .*event\(s\) wait in the outbox for the fleet database/);
    const queued = outboxSize(hosts.outage);
    expect(queued).toBeGreaterThan(0);

    await pgc.start();
    const again = await run('webD');
    expect([again.code, again.result], again.stderr).toEqual([0, 'current']);
    expect(outboxSize(hosts.outage)).toBe(0);
    const local = hostHistory(hosts.outage);
    const published = fleet<FleetHistory>('history', '--host', 'outage-a', '--limit', '1000').maintenances;
    expect(published.map((m) => [m.id, m.status])).toEqual(local.map((m) => [m.id, m.status]));
    expect(published).toEqual([expect.objectContaining({ container: sites.webD.container, status: 'updated' })]);
    const runs = await pgc.admin<{ n: string; finished: string }>('fleet', `SELECT count(*) AS n, count(finished) AS finished FROM refit.runs WHERE host = 'outage-a'`);
    expect(runs).toEqual([{ n: '2', finished: '2' }]);
  }, LONG);

  it('refit fleet status and history agree with every host\'s own refit history', () => {
    const s = status();
    const all = fleet<FleetHistory>('history', '--limit', '1000').maintenances;
    for (const host of Object.values(hosts)) {
      const local = hostHistory(host);
      expect(local.length).toBeGreaterThan(0);
      const view = (e: Pick<FleetHistoryEntry, 'id' | 'runId' | 'container' | 'status' | 'imageBefore' | 'imageAfter' | 'endedOn' | 'reason' | 'started' | 'finished'>) => ({
        id: e.id,
        runId: e.runId,
        container: e.container,
        status: e.status,
        imageBefore: e.imageBefore,
        imageAfter: e.imageAfter,
        endedOn: e.endedOn,
        reason: e.reason,
        started: e.started,
        finished: e.finished,
      });
      expect(all.filter((m) => m.host === host.name).map(view)).toEqual(local.map(view));

      const inStatus = s.hosts.find((x) => x.name === host.name)!;
      for (const [name, site] of Object.entries(sites).filter(([n]) => hosts[owner[n as keyof typeof sites]] === host)) {
        const newest = local.find((m) => m.container === site.container)!;
        const shown = inStatus.sites.find((x) => x.container === site.container)!;
        const { container: _c, endedOn: _e, ...last } = view(newest);
        expect(shown.last, `${host.name} ${name}`).toEqual(last);
        expect(shown.image, `${host.name} ${name}`).toBe(imageOf(name as keyof typeof sites));
      }
    }
  });
});

function hostHistory(host: RefitHost): HistoryEntry[] {
  const r = refit(['history', '--json', '--limit', '1000'], host.env);
  expect(r.code, r.stderr).toBe(0);
  return r.json<{ maintenances: HistoryEntry[] }>().maintenances;
}

function outboxSize(host: RefitHost): number {
  const db = new Database(join(host.stateDir, 'journal.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM fleet_outbox').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
