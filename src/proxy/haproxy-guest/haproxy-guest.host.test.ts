/**
 * refit as a guest in an operator's HAProxy (an operator-written haproxy.cfg with its own
 * frontends, ACLs and error page): the shared adapter contract and the guest checks, and what
 * the doctor says about a backend that lacks refit's lines.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { suiteName } from '../../../test/support/suite.js';
import { createProxy } from '../adapter.js';
import { useContractWorld } from '../contract.case.js';
import { guestSuite } from '../guest/guest.case.js';
import { parseConfigText } from '../../config/load.js';

const SUITE = suiteName('haproxyguest');
const world = useContractWorld(SUITE);
const dir = mkdtempSync(join(tmpdir(), 'refit-haproxyguest-'));
// The operator's workers (an unprivileged user) reach refit's files and router socket inside it.
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

guestSuite('haproxy-guest', dir, world, { keepAliveSafe: true });

describe('haproxy-guest doctor', () => {
  it('names what a site without a backend lacks', async () => {
    const proxy = createProxy(parseConfigText(`proxy:\n  type: haproxy-guest\n  haproxyGuest:\n    runDir: ${dir}/refit\n    adminSocket: ${dir}/operator/admin.sock\n    config: ${dir}/operator/haproxy.cfg\n`).proxy);
    const report = await proxy.doctor!([{ id: 'nobackend.web', vhosts: ['nobackend.example'], servers: [] }]);
    expect(report.sites[0]).toMatchObject({ id: 'nobackend.web', route: 'refit_nobackend.web', manageable: false });
    expect(report.sites[0]!.findings[0]!.what).toMatch(/no backend refit_nobackend\.web/);
  });
});
