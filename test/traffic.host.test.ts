/**
 * Zero dropped requests, proven the way real clients load a site: the nginx + php-fpm fixture
 * app behind refit's HAProxy and behind refit's nginx, under wrk keep-alive load over HTTP
 * (GETs and POSTs) and HTTPS at once, through every way a maintenance can end: an update, a new
 * image that fails its health check, one that cannot start, refit SIGKILLed before and after
 * the commit point and then `refit recover`, and a shadow the proxy cannot reach although it
 * answers on its own IP (the public path check rolls it back). Every time: not one request
 * failed, and the site serves the right version, whole, through the proxy afterwards.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness, type Repo, type TestSite } from './support/host-harness.js';
import { waitForStep, journalSeq } from './support/journal-watch.js';
import { refitAsync, type CliResult } from './support/refit-cli.js';
import { expectWhole } from './support/site-checks.js';
import { suiteName } from './support/suite.js';
import { startWrk, type WrkResult } from './support/wrk.js';

/** Both loads on the site for as long as `during` runs; resolves with their results once it is done. */
async function underLoad<T>(h: Harness, site: TestSite, during: () => Promise<T>): Promise<{ value: T; http: WrkResult; https: WrkResult }> {
  const common = { host: site.vhost, durationMs: 300_000, timeoutMs: 15_000 };
  const http = startWrk({ ...common, url: `http://127.0.0.1:${h.httpPort}`, threads: 2, connections: 8, post: { every: 5 } });
  const https = startWrk({ ...common, url: `https://127.0.0.1:${h.httpsPort}`, threads: 1, connections: 4 });
  await Promise.all([http.started, https.started]);
  let value: T;
  try {
    value = await during();
  } finally {
    await Promise.all([http.stop(), https.stop()]);
  }
  return { value, http: await http.result, https: await https.result };
}

function expectNoFailure(load: { http: WrkResult; https: WrkResult }, story: string): void {
  for (const [name, r] of [['http', load.http], ['https', load.https]] as const) {
    expect({ load: name, failed: r.failed, byStatus: r.byStatus, unanswered: r.unanswered, errors: r.errors }, story).toEqual({ load: name, failed: 0, byStatus: {}, unanswered: 0, errors: { ...r.errors, connect: 0, timeout: 0 } });
    expect(r.ok, `${name}: ${story}`).toBeGreaterThan(0);
  }
}

const story = (...results: CliResult[]) => results.map((r) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`).join('\n---\n');

describe.each(['haproxy', 'nginx'] as const)('maintenances through %s under keep-alive load', (proxy) => {
  let h: Harness;
  const sites: TestSite[] = [];
  const site = async (repo: Repo = 'web', flavor: 'v1' | 'v2' = 'v2') => {
    const s = await h.site(flavor, { repo });
    sites.push(s);
    return s;
  };

  beforeAll(async () => {
    h = await startHarness(suiteName(`traffic-${proxy}`), { app: 'php', proxy, tls: true });
    const sync = await refitAsync(['proxy', 'sync'], h.env);
    expect(sync.code, story(sync)).toBe(0);
  });
  afterAll(async () => {
    for (const s of sites) await s.down();
    await h?.stop();
  });

  it.each(['v2', 'v1'] as const)('an update (Compose %s): 0 failed requests, the new version served, whole', async (flavor) => {
    const s = await site('web', flavor);
    await refitAsync(['proxy', 'sync'], h.env);
    const load = await underLoad(h, s, () => refitAsync(['run', '--container', s.container], h.env));
    expect(load.value.code, story(load.value)).toBe(0);
    expectNoFailure(load, story(load.value));
    expect(Object.keys(load.http.firstLines)).toEqual(expect.arrayContaining([h.servesLine('1.0.0'), h.servesLine('1.1.0')]));
    await expectWhole(h, s, 'new');
  });

  it.each([
    ['fails its health check', 'bad'],
    ['cannot start', 'dead'],
  ] as const)('a new image that %s: rolled back, 0 failed requests, the old version served, whole', async (_what, repo) => {
    const s = await site(repo);
    await refitAsync(['proxy', 'sync'], h.env);
    const load = await underLoad(h, s, () => refitAsync(['run', '--container', s.container], h.env));
    expect(load.value.code, story(load.value)).toBe(1);
    expect(load.value.stdout).toMatch(/ROLLED BACK/);
    expectNoFailure(load, story(load.value));
    await expectWhole(h, s, 'old');
  });

  it.each([
    ['before the commit point (the original drained, the shadow serving)', 'old', 'drain-original:done'],
    ['after the commit point (the new original proven)', 'new', 'original-health:done'],
  ] as const)('refit SIGKILLed %s, then refit recover: 0 failed requests, the %s version served, whole', async (_when, as, point) => {
    const s = await site();
    await refitAsync(['proxy', 'sync'], h.env);
    const load = await underLoad(h, s, async () => {
      const killed = await refitAsync(['run', '--container', s.container], { ...h.env, REFIT_FAULT: `kill:${point}` });
      const recovered = await refitAsync(['recover'], h.env);
      return { killed, recovered };
    });
    const { killed, recovered } = load.value;
    expect(killed.code, story(killed)).toBe(137);
    expect(recovered.code, story(recovered)).toBe(0);
    expectNoFailure(load, story(killed, recovered));
    await expectWhole(h, s, as as 'old' | 'new');
  });

  it("a shadow the proxy cannot reach (it answers on its own IP): the public path check rolls back, 0 failed requests", async () => {
    const s = await site();
    await refitAsync(['proxy', 'sync'], h.env);
    const release = join(h.stateDir, '..', `release-route-${proxy}`);
    // The proxy's workers run as this user (refit runs as root); only their route to the shadow breaks.
    const worker = proxy === 'haproxy' ? 'haproxy' : 'www-data';
    let rule: string[] | null = null;
    const load = await underLoad(h, s, async () => {
      const seq = journalSeq(h.stateDir);
      const run = refitAsync(['run', '--container', s.container], { ...h.env, REFIT_FAULT: 'hold:shadow:done', REFIT_FAULT_RELEASE: release });
      try {
        expect(await waitForStep(h.stateDir, { step: 'shadow', phase: 'done', afterSeq: seq, until: run })).toBe(true);
        const shadowIp = execFileSync('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', `${s.container}-refit-shadow`]).toString().trim().split(' ')[0]!;
        rule = ['OUTPUT', '-p', 'tcp', '-m', 'owner', '--uid-owner', worker, '-d', shadowIp, '-j', 'REJECT', '--reject-with', 'tcp-reset'];
        execFileSync('iptables', ['-I', ...rule]);
      } finally {
        writeFileSync(release, '');
      }
      return run;
    }).finally(() => {
      if (rule) execFileSync('iptables', ['-D', ...rule]);
    });
    expect(load.value.code, story(load.value)).toBe(1);
    expect(load.value.stdout).toMatch(/shadow-traffic: shadow \S+ is not served through the proxy's public listener/);
    expectNoFailure(load, story(load.value));
    await expectWhole(h, s, 'old');
  });
});
