/**
 * refit as a guest in the proxy the operator already runs, end to end, one site per guest mode
 * (the realistic php app of host-harness.ts), each behind its own operator proxy started from
 * an operator-written config with other frontends, ACLs and a custom error page
 * (test/support/operator-proxy.ts):
 * - `refit proxy sync` and `refit proxy doctor` as an operator runs them;
 * - an update (`refit run`) under wrk keep-alive load: the modes whose changes never reload the
 *   operator's client-facing processes lose no request; include/api modes lose only requests on
 *   kept-alive connections their reloads closed (docs/proxy.md), never get a wrong answer;
 * - an operator reload in the middle of a pass (held right after the shadow took traffic) keeps
 *   the servers refit added: the pass finishes and no request gets an error answer (HAProxy,
 *   whose reloads keep kept-alive connections, loses none at all);
 * - the operator's config files byte-identical afterwards.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassReport } from '../src/maintenance/report.js';
import type { DoctorReport } from '../src/proxy/doctor.js';
import { createProxy } from '../src/proxy/adapter.js';
import { startHarness, type Harness, type TestSite } from './support/host-harness.js';
import { journalSeq, waitForStep } from './support/journal-watch.js';
import { startOperatorProxy, type GuestMode, type OperatorProxy } from './support/operator-proxy.js';
import { refit, refitAsync } from './support/refit-cli.js';
import { expectWhole, getThroughProxy } from './support/site-checks.js';
import { suiteName } from './support/suite.js';
import { startWrk, type WrkResult } from './support/wrk.js';

const SUITE = suiteName('guest');

/** Modes whose changes never reload the operator's client-facing processes: zero requests lost. */
const ZERO_DROP: Record<GuestMode, boolean> = { 'haproxy-guest': true, 'nginx-router': true, 'caddy-router': true, 'nginx-guest': false, caddy: false };

let h: Harness;
let dir: string;

beforeAll(async () => {
  h = await startHarness(SUITE, { app: 'php' });
  dir = mkdtempSync(join(tmpdir(), 'refit-guest-'));
  // The operator's workers (an unprivileged user) reach refit's files and router socket inside it.
  chmodSync(dir, 0o755);
}, 600_000);

afterAll(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const mode of ['haproxy-guest', 'nginx-router', 'caddy-router', 'nginx-guest', 'caddy'] as const) {
  describe(`${mode}: updates inside the operator's proxy`, () => {
    const sites: TestSite[] = [];
    let op: OperatorProxy;
    let env: { REFIT_CONFIG: string };
    let before: Record<string, string>;
    // The harness's checks, through the operator's listener.
    const via = () => ({ ...h, httpPort: op.httpPort });
    const load = (site: TestSite) => startWrk({ url: `http://127.0.0.1:${op.httpPort}`, host: site.vhost, threads: 2, connections: 8, durationMs: 300_000 });
    const story = (r: WrkResult) => JSON.stringify({ ...r, firstLines: undefined, lines: r.firstLines });

    beforeAll(async () => {
      sites.push(await h.site('v2'), await h.site('v1'));
      op = await startOperatorProxy(mode, join(dir, mode), sites.map((s) => ({ id: `${s.project}.web`, vhost: s.vhost })));
      before = op.files();
      const config = join(dir, `${mode}.yml`);
      // The harness's refit.yml with the operator's proxy instead of refit's own.
      writeFileSync(config, `${h.configText.replace(/^proxy:[\s\S]*$/m, '')}proxy:\n  drainTimeoutMs: 10000\n${op.refitProxyYaml}\n`);
      env = { REFIT_CONFIG: config };
    }, 300_000);

    afterAll(async () => {
      if (op) await createProxy(op.proxyConfig).stop();
      await op?.stop();
      for (const site of sites) await site.down();
    });

    it("proxy sync routes the sites through the operator's listener, and the doctor finds nothing to fix", async () => {
      const sync = refit(['proxy', 'sync'], env);
      expect(sync.code, sync.stderr).toBe(0);
      for (const site of sites) {
        const served = await getThroughProxy(via(), site);
        expect([served.status, served.body.split('\n')[0]]).toEqual([200, h.servesLine('1.0.0')]);
      }
      const doctor = refit(['proxy', 'doctor', '--json'], env);
      const report = doctor.json<DoctorReport>();
      for (const site of sites) expect(report.sites.find((s) => s.id === `${site.project}.web`)).toMatchObject({ manageable: true });
      expect(doctor.code, doctor.stdout).toBe(0);
      // The include and api modes say plainly what their reloads cost kept-alive clients.
      expect(report.findings.some((f) => f.level === 'warning' && /kept-alive/.test(f.what))).toBe(!ZERO_DROP[mode]);
    });

    it('updates a site under keep-alive load', async () => {
      const site = sites[0]!;
      const running = load(site);
      try {
        await running.started;
        const r = await refitAsync(['run', '--json', '--container', site.container], env);
        expect(r.code, r.stderr).toBe(0);
        expect(r.json<PassReport>().containers.map((c) => c.result)).toEqual(['updated']);
      } finally {
        await running.stop().catch(() => undefined);
      }
      const result = await running.result;
      expect(result.drained, story(result)).toBe(true);
      // Never a wrong answer: a server refit lost or left dead would answer 5xx.
      expect(result.byStatus, story(result)).toEqual({});
      expect(result.errors.connect + result.errors.timeout, story(result)).toBe(0);
      if (ZERO_DROP[mode]) expect(result.failed, story(result)).toBe(0);
      expect(result.firstLines[h.servesLine('1.1.0')], story(result)).toBeGreaterThan(0);
      await expectWhole(via(), site, 'new');
    }, 600_000);

    it("keeps the servers it added when the operator reloads in the middle of a pass; the operator's files stay byte-identical", async () => {
      const site = sites[1]!;
      const release = join(dir, `${mode}.release`);
      const running = load(site);
      try {
        await running.started;
        const seq = journalSeq(h.stateDir);
        const pass = refitAsync(['run', '--json', '--container', site.container], { ...env, REFIT_FAULT: 'hold:shadow-traffic:done', REFIT_FAULT_RELEASE: release });
        expect(await waitForStep(h.stateDir, { step: 'shadow-traffic', phase: 'done', afterSeq: seq, until: pass, timeoutMs: 240_000 })).toBe(true);
        // refit holds with the shadow it added in rotation; the operator reloads their proxy now.
        await op.reload();
        const proxy = createProxy(op.proxyConfig);
        const servers = await proxy.list(`${site.project}.web`);
        expect(h.shadows()).toHaveLength(1);
        expect(servers.filter((s) => s.state === 'ready').map((s) => s.name).sort()).toEqual([site.container, ...h.shadows()].sort());
        writeFileSync(release, '');
        // The rest of the pass drains the original: the shadow alone serves the site, as the reloaded proxy has it.
        const r = await pass;
        expect(r.code, r.stderr).toBe(0);
        expect(r.json<PassReport>().containers.map((c) => c.result)).toEqual(['updated']);
      } finally {
        if (!existsSync(release)) writeFileSync(release, '');
        await running.stop().catch(() => undefined);
      }
      const result = await running.result;
      expect(result.drained, story(result)).toBe(true);
      expect(result.byStatus, story(result)).toEqual({});
      expect(result.errors.connect + result.errors.timeout, story(result)).toBe(0);
      // HAProxy with idle-close-on-response: even the operator's own reload costs no request.
      if (mode === 'haproxy-guest') expect(result.failed, story(result)).toBe(0);
      await expectWhole(via(), site, 'new');
      expect(op.files()).toEqual(before);
    }, 600_000);
  });
}
