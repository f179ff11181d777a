/**
 * refit as a guest in the proxy the operator already runs, end to end, one site per guest mode
 * (the realistic php app of host-harness.ts), each behind its own operator proxy started from
 * an operator-written config with other frontends, ACLs and a custom error page
 * (test/support/operator-proxy.ts):
 * - `refit proxy sync` and `refit proxy doctor` as an operator runs them;
 * - an update (`refit run`) under wrk keep-alive load, with the operator reloading their proxy
 *   in the middle of the pass (held right after the shadow took traffic, so only the servers
 *   refit added serve the site while the original is drained): the modes that never reload
 *   client-facing processes lose no request; include/api modes lose only requests on kept-alive
 *   connections their reloads closed (docs/proxy.md), never a wrong answer;
 * - the operator's config files byte-identical afterwards.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassReport } from '../src/maintenance/report.js';
import type { DoctorReport } from '../src/proxy/doctor.js';
import type { UpstreamState } from '../src/proxy/types.js';
import { createProxy } from '../src/proxy/adapter.js';
import { startHarness, type Harness, type TestSite } from './support/host-harness.js';
import { journalSeq, waitForStep } from './support/journal-watch.js';
import { startOperatorProxy, type GuestMode, type OperatorProxy } from './support/operator-proxy.js';
import { refit, refitAsync } from './support/refit-cli.js';
import { expectWhole, getThroughProxy } from './support/site-checks.js';
import { suiteName } from './support/suite.js';
import { startWrk } from './support/wrk.js';

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
  describe(`${mode}: an update inside the operator's proxy`, () => {
    let site: TestSite;
    let op: OperatorProxy;
    let env: { REFIT_CONFIG: string };
    // The harness's checks, through the operator's listener.
    const via = () => ({ ...h, httpPort: op.httpPort });

    beforeAll(async () => {
      site = await h.site('v2');
      op = await startOperatorProxy(mode, join(dir, mode), [{ id: `${site.project}.web`, vhost: site.vhost }]);
      const config = join(dir, `${mode}.yml`);
      // The harness's refit.yml with the operator's proxy instead of refit's own.
      writeFileSync(config, `${h.configText.replace(/^proxy:[\s\S]*$/m, '')}proxy:\n  drainTimeoutMs: 10000\n${op.refitProxyYaml}\n`);
      env = { REFIT_CONFIG: config };
    }, 300_000);

    afterAll(async () => {
      await createProxy(op.proxyConfig).stop();
      await op?.stop();
      await site?.down();
    });

    it('proxy sync routes the site through the operator\'s listener, and the doctor finds nothing to fix', async () => {
      const sync = refit(['proxy', 'sync'], env);
      expect(sync.code, sync.stderr).toBe(0);
      const served = await getThroughProxy(via(), site);
      expect([served.status, served.body.split('\n')[0]]).toEqual([200, h.servesLine('1.0.0')]);
      const doctor = refit(['proxy', 'doctor', '--json'], env);
      const report = doctor.json<DoctorReport>();
      expect(report.sites.find((s) => s.id === `${site.project}.web`)).toMatchObject({ manageable: true });
      expect(doctor.code, doctor.stdout).toBe(0);
      // The include and api modes say plainly what their reloads cost kept-alive clients.
      expect(report.findings.some((f) => f.level === 'warning' && /kept-alive/.test(f.what))).toBe(!ZERO_DROP[mode]);
    });

    it('updates the site under keep-alive load while the operator reloads in the middle of the pass; the operator\'s files stay byte-identical', async () => {
      const before = op.files();
      const release = join(dir, `${mode}.release`);
      const load = startWrk({ url: `http://127.0.0.1:${op.httpPort}`, host: site.vhost, threads: 2, connections: 8, durationMs: 300_000 });
      try {
        await load.started;
        const seq = journalSeq(h.stateDir);
        const pass = refitAsync(['run', '--json', '--container', site.container], { ...env, REFIT_FAULT: 'hold:shadow-traffic:done', REFIT_FAULT_RELEASE: release });
        expect(await waitForStep(h.stateDir, { step: 'shadow-traffic', phase: 'done', afterSeq: seq, until: pass, timeoutMs: 240_000 })).toBe(true);
        // The operator reloads while refit holds: the shadow refit added must survive it.
        await op.reload();
        const servers: UpstreamState[] = await createProxy(op.proxyConfig).list(`${site.project}.web`);
        expect(servers.filter((s) => s.state === 'ready').map((s) => s.name).sort()).toEqual([site.container, ...h.shadows()].sort());
        expect(h.shadows()).toHaveLength(1);
        writeFileSync(release, '');
        const r = await pass;
        expect(r.code, r.stderr).toBe(0);
        const report = r.json<PassReport>();
        expect(report.containers.map((c) => c.result)).toEqual(['updated']);
        const result = await load.stop();
        const story = JSON.stringify({ result: { ...result, firstLines: undefined }, lines: result.firstLines });
        expect(result.drained, story).toBe(true);
        expect(result.byStatus, story).toEqual({});
        expect(result.errors.connect + result.errors.timeout, story).toBe(0);
        if (ZERO_DROP[mode]) expect(result.failed, story).toBe(0);
        expect(result.firstLines[h.servesLine('1.1.0')], story).toBeGreaterThan(0);
      } finally {
        if (!existsSync(release)) writeFileSync(release, '');
        await load.stop().catch(() => undefined);
      }
      await expectWhole(via(), site, 'new');
      expect(op.files()).toEqual(before);
    }, 600_000);
  });
}
