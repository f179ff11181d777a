/**
 * After the switch (issue 17), through refit's HAProxy and refit's nginx, on the nginx +
 * php-fpm shop under wrk keep-alive load (its pages, POSTs, and its checkout page):
 *  - `broken` 1.1.0 passes its health check but answers 500 on /checkout.php: the watch reverts
 *    it within its window, the site ends on 1.0.0 with the customer's configs, not one request
 *    fails because of the revert (the checkout's 500s are the release's own, counted apart),
 *    the report says why with the numbers, and the image is held until released;
 *  - a good release under the same load is kept; a quiet site is not judged;
 *  - while old and new share traffic, a client that keeps its cookie gets every answer from one
 *    version, and the drain still moves it on;
 *  - refit SIGKILLed during a revert, then `refit recover`: the revert is finished (or rolled
 *    back and made again), the site serves 1.0.0 with the customer's configs, whole.
 * Nothing here waits for time to pass: the points to act at come from the journal (steps,
 * watches) and the `hold` fault.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassReport } from '../src/maintenance/report.js';
import type { JournalStatus } from '../src/report/journal-status.js';
import { startHarness, type Harness, type Repo, type TestSite } from './support/host-harness.js';
import { journalSeq, lastWatchId, waitForStep, waitForWatch } from './support/journal-watch.js';
import { refitAsync, type CliResult } from './support/refit-cli.js';
import { expectWhole, requestThroughProxy, type ProxyReply } from './support/site-checks.js';
import { suiteName } from './support/suite.js';
import { runWrk, startWrk, type WrkResult } from './support/wrk.js';

const MIN_REQUESTS = 200;
const WINDOW = '15s';
const WATCH = ['maintenance:', `  watch: { window: ${WINDOW}, minRequests: ${MIN_REQUESTS}, maxIncrease: 0.05, intervalMs: 500 }`];

interface Loads {
  /** `/` with a POST every fifth request. */
  page: WrkResult;
  /** `/checkout.php` only. */
  checkout: WrkResult;
}

/** Both loads on the site for as long as `during` runs. */
async function underLoad<T>(h: Harness, site: TestSite, during: () => Promise<T>): Promise<{ value: T } & Loads> {
  const common = { host: site.vhost, url: `http://127.0.0.1:${h.httpPort}`, durationMs: 600_000, timeoutMs: 15_000 };
  const page = startWrk({ ...common, threads: 2, connections: 8, post: { every: 5 } });
  const checkout = startWrk({ ...common, path: '/checkout.php', threads: 1, connections: 4 });
  await Promise.all([page.started, checkout.started]);
  let value: T;
  try {
    value = await during();
  } finally {
    await Promise.all([page.stop(), checkout.stop()]);
  }
  return { value, page: await page.result, checkout: await checkout.result };
}

const failures = (r: WrkResult) => ({ failed: r.failed, byStatus: r.byStatus, unanswered: r.unanswered, connect: r.errors.connect, timeout: r.errors.timeout });
const none = { failed: 0, byStatus: {}, unanswered: 0, connect: 0, timeout: 0 };

/** Not one request failed, none for the revert either: a 500 on the checkout is the only failure there is, and it is the broken release's own. */
function expectOnlyTheReleasesOwn500s(load: Loads, story: string): number {
  expect(failures(load.page), story).toEqual(none);
  expect(load.page.ok, story).toBeGreaterThan(0);
  const own = load.checkout.byStatus['500'] ?? 0;
  expect(failures(load.checkout), story).toEqual({ ...none, failed: own, byStatus: own ? { 500: own } : {} });
  expect(load.checkout.ok, story).toBeGreaterThan(0);
  return own;
}

const story = (...results: CliResult[]) => results.map((r) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`).join('\n---\n');
const firstLine = (r: ProxyReply) => (r.status === 200 ? r.body.split('\n')[0]! : `status ${r.status}`);
const cookieOf = (r: ProxyReply) => [r.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('refit_srv='))?.split(';')[0];

describe.each(['haproxy', 'nginx'] as const)('the watch after an update, through %s, under keep-alive load', (proxy) => {
  let h: Harness;
  const sites: TestSite[] = [];
  const site = async (repo: Repo, labels: Record<string, string> = {}) => {
    const s = await h.site('v2', { repo, labels });
    sites.push(s);
    const sync = await refitAsync(['proxy', 'sync'], h.env);
    expect(sync.code, story(sync)).toBe(0);
    return s;
  };
  const run = (s: TestSite, env: Record<string, string> = {}) => refitAsync(['run', '--container', s.container, '--json'], { ...h.env, ...env });
  const status = async () => (await refitAsync(['status', '--json'], h.env)).json<JournalStatus>();

  beforeAll(async () => {
    h = await startHarness(suiteName(`watch-${proxy}`), { app: 'php', proxy, config: WATCH });
  });
  afterAll(async () => {
    for (const s of sites) await s.down();
    await h?.stop();
  });

  it('reverts a release that answers 500 on its checkout: back on 1.0.0 with the customer configs, no request failed for it, the reason and the hold', async () => {
    const s = await site('broken');
    const load = await underLoad(h, s, () => run(s));
    const r = load.value;
    expect(r.code, story(r)).toBe(1);
    const [c] = r.json<PassReport>().containers;
    expect(c!.result, story(r)).toBe('reverted');
    expect(c!.watch).toMatchObject({ decision: 'reverted', from: h.ref('broken', '1.0.0'), to: h.ref('broken', '1.1.0'), holdId: expect.any(Number) });
    expect(c!.watch!.observed.requests).toBeGreaterThanOrEqual(MIN_REQUESTS);
    expect(c!.watch!.observed.errors).toBeGreaterThan(0);
    expect(c!.watch!.baseline).toMatchObject({ errors: 0 });
    expect(c!.reason).toMatch(new RegExp(`^reverted to ${h.ref('broken', '1.0.0')} after its update: 5xx rate \\d+\\.\\d% \\(\\d+ of \\d+ requests\\) on ${h.ref('broken', '1.1.0')}, against 0\\.0% \\(0 of \\d+ requests\\) on ${h.ref('broken', '1.0.0')} before the switch: more than 5\\.0 points worse$`));
    expect(c!.watch!.revert).toMatchObject({ kind: 'revert', result: 'updated' });
    const own = expectOnlyTheReleasesOwn500s(load, story(r));
    expect(own, 'the release answered its checkout with 500s while it served').toBeGreaterThan(0);
    expect(Object.keys(load.checkout.firstLines).every((l) => l.startsWith('checkout ok'))).toBe(true);
    await expectWhole(h, s, 'old');
    expect(existsSync(join(h.stateDir, 'watch')) ? readdirSync(join(h.stateDir, 'watch')) : []).toEqual([]);

    // After the revert the checkout works again: a load on it alone fails nothing.
    const after = await runWrk({ host: s.vhost, url: `http://127.0.0.1:${h.httpPort}`, path: '/checkout.php', connections: 4, durationMs: 3_000 });
    expect(failures(after)).toEqual(none);
    expect(after.ok).toBeGreaterThan(0);

    // The watch and the hold, as operators see them; the next pass leaves the held image alone.
    const st = await status();
    expect(st.watches.find((w) => w.container === s.container)).toMatchObject({ state: 'reverted', to: h.ref('broken', '1.1.0') });
    expect(st.holds).toContainEqual(expect.objectContaining({ holdId: c!.watch!.holdId, reference: h.ref('broken', '1.1.0'), container: s.container }));
    const holds = await refitAsync(['holds', '--json'], h.env);
    expect(holds.json<{ holds: { holdId: number }[] }>().holds.map((x) => x.holdId)).toContain(c!.watch!.holdId);
    const again = await run(s);
    expect(again.code, story(again)).toBe(0);
    expect(again.json<PassReport>().containers[0]).toMatchObject({ result: 'skipped', reason: expect.stringMatching(/is held on this host since/) });
    const released = await refitAsync(['holds', 'release', String(c!.watch!.holdId)], h.env);
    expect(released.code, story(released)).toBe(0);
    expect((await status()).holds).toEqual([]);
  });

  it('keeps a good release under the same load, once its window has passed', async () => {
    const s = await site('web');
    const load = await underLoad(h, s, () => run(s));
    const r = load.value;
    expect(r.code, story(r)).toBe(0);
    const [c] = r.json<PassReport>().containers;
    expect(c!.result).toBe('updated');
    expect(c!.watch).toMatchObject({ decision: 'kept', observed: { errors: 0 } });
    expect(c!.watch!.observed.requests).toBeGreaterThanOrEqual(MIN_REQUESTS);
    expect(failures(load.page)).toEqual(none);
    expect(failures(load.checkout)).toEqual(none);
    await expectWhole(h, s, 'new');
  });

  it('does not judge a quiet site on a handful of requests', async () => {
    const s = await site('web');
    const before = lastWatchId(h.stateDir);
    const running = run(s);
    expect(await waitForWatch(h.stateDir, { state: 'watching', afterId: before, until: running })).toBe(true);
    for (let i = 0; i < 3; i++) expect((await requestThroughProxy(h, s)).status).toBe(200);
    const r = await running;
    expect(r.code, story(r)).toBe(0);
    const [c] = r.json<PassReport>().containers;
    expect(c!.result).toBe('updated');
    expect(c!.watch).toMatchObject({ decision: 'not-judged', reason: expect.stringMatching(new RegExp(`answered \\d+ request\\(s\\) in the ${WINDOW} watch, fewer than the ${MIN_REQUESTS} needed to judge it$`)) });
    expect(c!.watch!.observed.requests).toBeGreaterThanOrEqual(3);
    expect(c!.watch!.observed.requests).toBeLessThan(MIN_REQUESTS);
    await expectWhole(h, s, 'new');
  });

  it('while both versions serve, keeps a client with its cookie on one version, and the drain still moves it on', async () => {
    const s = await site('web', { 'refit.watch': 'off' });
    expect(cookieOf(await requestThroughProxy(h, s)), 'no cookie outside a maintenance').toBeUndefined();
    const release = join(h.stateDir, '..', `release-share-${proxy}`);
    const seq = journalSeq(h.stateDir);
    const running = run(s, { REFIT_FAULT: 'hold:shadow-traffic:done:update', REFIT_FAULT_RELEASE: release });
    const answers: string[] = [];
    let done = false;
    let asking: Promise<void> | undefined;
    try {
      expect(await waitForStep(h.stateDir, { step: 'shadow-traffic', phase: 'done', afterSeq: seq, until: running })).toBe(true);
      // New clients are balanced over both versions, each with the cookie of the one that answered.
      const cookies = new Map<string, string>();
      for (let i = 0; i < 40 && cookies.size < 2; i++) {
        const reply = await requestThroughProxy(h, s);
        expect(reply.status).toBe(200);
        cookies.set(firstLine(reply), cookieOf(reply)!);
      }
      expect([...cookies.keys()].sort()).toEqual([h.servesLine('1.0.0'), h.servesLine('1.1.0')]);
      // A client that keeps its cookie gets every answer from its version, on a new connection each time.
      for (const [version, cookie] of cookies) {
        expect(cookie).toMatch(/^refit_srv=\S+$/);
        for (let i = 0; i < 20; i++) {
          const reply = await requestThroughProxy(h, s, { headers: { cookie } });
          expect(firstLine(reply), `client of ${version}, request ${i}`).toBe(version);
          expect(cookieOf(reply) ?? cookie).toBe(cookie);
        }
      }
      // The old version's client keeps asking while the pass goes on: the original is drained and recreated.
      const pinnedToOld = cookies.get(h.servesLine('1.0.0'))!;
      asking = (async () => {
        while (!done) answers.push(firstLine(await requestThroughProxy(h, s, { headers: { cookie: pinnedToOld } })));
      })();
      while (answers.length === 0) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      writeFileSync(release, '');
    }
    const r = await running;
    done = true;
    await asking;
    expect(r.code, story(r)).toBe(0);
    expect(answers[0]).toBe(h.servesLine('1.0.0'));
    expect(answers.filter((a) => a !== h.servesLine('1.0.0') && a !== h.servesLine('1.1.0')), answers.join(' | ')).toEqual([]);
    expect(answers.at(-1)).toBe(h.servesLine('1.1.0'));
    // HAProxy moves it once, for good. nginx's router reload that drains the old server lets its old
    // workers answer for a moment more by the old routing (docs/proxy.md): it may flip back meanwhile.
    const switches = answers.filter((a, i) => i > 0 && a !== answers[i - 1]).length;
    if (proxy === 'haproxy') expect(switches, answers.join(' | ')).toBe(1);
    const [c] = r.json<PassReport>().containers;
    expect(c!.drains.find((d) => d.server === s.container)?.result.drained).toBe(true);
    expect(cookieOf(await requestThroughProxy(h, s)), 'no cookie after the maintenance').toBeUndefined();
    await expectWhole(h, s, 'new');
  });

  it.each([
    ['before its commit point (the new version drained, the old one serving from the shadow)', 'kill:drain-original:done:revert', ['rolled-back', 'updated']],
    ['after its commit point (the old version proven in place)', 'kill:original-health:done:revert', ['updated']],
  ] as const)('refit SIGKILLed during a revert %s, then refit recover: reverted, the site whole on 1.0.0', async (_when, fault, recovered) => {
    const s = await site('broken');
    const load = await underLoad(h, s, async () => {
      const killed = await run(s, { REFIT_FAULT: fault });
      const recover = await refitAsync(['recover', '--json'], h.env);
      return { killed, recover };
    });
    const { killed, recover } = load.value;
    expect(killed.code, story(killed)).toBe(137);
    expect(recover.code, story(killed, recover)).toBe(0);
    expect(recover.json<{ recovered: { kind?: string; result: string }[] }>().recovered.map((x) => [x.kind, x.result])).toEqual(recovered.map((result) => ['revert', result]));
    expectOnlyTheReleasesOwn500s(load, story(killed, recover));
    await expectWhole(h, s, 'old');
    const st = await status();
    expect(st.watches.find((w) => w.container === s.container)).toMatchObject({ state: 'reverted' });
    for (const hold of st.holds) expect((await refitAsync(['holds', 'release', String(hold.holdId)], h.env)).code).toBe(0);
  });
});
