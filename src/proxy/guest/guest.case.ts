/**
 * @module proxy/guest/guest.case
 * What every guest mode's host test holds the operator's proxy to, besides the adapter
 * contract (contract.case.ts): the operator's own config keeps doing its own things beside
 * refit's sites, the doctor finds nothing to fix in a config written as docs/proxy.md says, and
 * the operator's files are byte-identical after everything refit did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_404, OPERATOR_ADMIN_403, startOperatorProxy, type GuestMode, type OperatorProxy } from '../../../test/support/operator-proxy.js';
import { createProxy } from '../adapter.js';
import { CONTRACT_SITES, get, proxyContract, servedBy, site, type ContractWorld } from '../contract.case.js';
import { doctorExitCode } from '../doctor.js';
import type { ProxyAdapter } from '../types.js';

export function guestSuite(mode: GuestMode, dir: string, world: ContractWorld, o: { keepAliveSafe: boolean }): void {
  let operator: OperatorProxy;
  let proxy: ProxyAdapter;
  let before: Record<string, string>;
  const router = mode.endsWith('-router');

  beforeAll(async () => {
    operator = await startOperatorProxy(mode, dir, CONTRACT_SITES);
    before = operator.files();
    proxy = createProxy(operator.proxyConfig);
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await operator?.stop();
  });

  proxyContract(
    mode,
    world,
    { keepAliveSafe: o.keepAliveSafe, operatorReloads: true },
    async () => ({
      proxy,
      httpPort: operator.httpPort,
      // In router mode the process refit keeps is its router; otherwise the operator restarts their proxy.
      restart: () => (router ? proxy.stop() : operator.restart()),
      operatorReload: () => operator.reload(),
    }),
    async () => undefined,
  );

  describe(`${mode}: the operator's proxy around refit`, () => {
    it("keeps doing the operator's own things: other frontend, ACLs, unknown hosts, custom error page", async () => {
      await proxy.apply([site('empty', [])]);
      expect((await get(operator.otherPort, 'anything.example')).body).toContain('operator stats');
      expect((await get(operator.httpPort, 'nobody.example')).body).toContain(OPERATOR_404);
      expect((await get(operator.httpPort, 'a.example', '/operator-admin/x')).body).toContain(OPERATOR_ADMIN_403);
      expect((await get(operator.httpPort, 'a.example', '/', { headers: { 'user-agent': 'badbot/1.0' } })).status).toBe(403);
      const dark = await get(operator.httpPort, 'empty.example');
      expect(dark.status).toBeGreaterThanOrEqual(500);
      expect(dark.body).toContain('operator: sorry');
    });

    it('the doctor finds nothing to fix in a config written as docs/proxy.md says', async () => {
      const report = await proxy.doctor!(CONTRACT_SITES.map((s) => ({ id: s.id, vhosts: [s.vhost], servers: [] })));
      expect(report.findings.filter((f) => f.level === 'problem')).toEqual([]);
      expect(report.sites.filter((s) => !s.manageable)).toEqual([]);
      expect(doctorExitCode(report)).toBe(0);
    });

    it("leaves the operator's files byte-identical (refit's own files apart)", () => {
      expect(operator.files()).toEqual(before);
      expect(Object.keys(before).length).toBeGreaterThan(0);
    });

    it('serves a site again after everything above', async () => {
      await proxy.apply([site('a', [world.web[0]!])]);
      expect(servedBy(await get(operator.httpPort, 'a.example'))).toBe(world.web[0]!.name);
    });
  });
}
