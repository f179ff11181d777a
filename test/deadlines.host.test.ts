/**
 * Deadlines on a real host: refit's Docker Engine socket is a front that stalls one request
 * (support/stalling-engine.ts). A pull whose progress stops and an Engine call that never
 * answers each end the maintenance with the reason, within the configured deadline, while
 * refit holds the host lock; the site is rolled back whole and the lock is released.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassReport } from '../src/maintenance/report.js';
import { startHarness, type Harness, type TestSite } from './support/host-harness.js';
import { refitAsync, type CliResult } from './support/refit-cli.js';
import { expectWhole } from './support/site-checks.js';
import { startStallingEngine, type StallingEngine } from './support/stalling-engine.js';
import { suiteName } from './support/suite.js';

const SUITE = suiteName('deadlines');
const DEADLINE_MS = 8000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness(SUITE);
});
afterAll(async () => h?.stop());

/** refit's config with its Engine socket on the stalling front and short deadlines. */
function configWith(front: StallingEngine): { REFIT_CONFIG: string } {
  const file = join(h.stateDir, '..', 'stalling.yml');
  writeFileSync(file, `${h.configText}docker: { socket: ${front.path}, timeoutMs: ${DEADLINE_MS} }\nregistry: { pullStallMs: ${DEADLINE_MS} }\n`);
  return { REFIT_CONFIG: file };
}

/** The pass ended, the stalled request was the reason: rolled back, the lock released, the site whole. */
async function expectRolledBack(site: TestSite, front: StallingEngine, r: CliResult, reason: RegExp): Promise<void> {
  expect(front.stalled()).toBe(true);
  expect(r.code, r.stdout + r.stderr).toBe(1);
  const report = r.json<PassReport>().containers[0]!;
  expect(report.result).toBe('rolled-back');
  expect(report.reason).toMatch(reason);
  expect(existsSync(join(h.stateDir, 'refit.lock'))).toBe(false);
  await expectWhole(h, site, 'old');
}

describe('a stalled Docker Engine never hangs a pass', () => {
  it('a pull whose progress stops is abandoned after pullStallMs: rolled back, lock released', async () => {
    const site = await h.site('v2');
    const front = await startStallingEngine({ path: join(h.stateDir, '..', 'engine-pull.sock'), stall: /^POST (\/v[\d.]+)?\/images\/create\?/, at: 'body' });
    try {
      const r = await refitAsync(['run', '--json', '--container', site.container], configWith(front), 120_000);
      await expectRolledBack(site, front, r, new RegExp(`^rolled back: pull: pull of \\S+ stalled: no progress for ${DEADLINE_MS} ms`));
    } finally {
      await front.stop();
      await site.down();
    }
  });

  it('an Engine call that never answers fails its step after docker.timeoutMs: rolled back, lock released', async () => {
    const site = await h.site('v1');
    // The inspect of the shadow right after Compose started it.
    const shadow = `${site.container}-refit-shadow`;
    const front = await startStallingEngine({ path: join(h.stateDir, '..', 'engine-inspect.sock'), stall: new RegExp(`^GET (/v[\\d.]+)?/containers/${shadow}/json`), at: 'request' });
    try {
      const r = await refitAsync(['run', '--json', '--container', site.container], configWith(front), 120_000);
      await expectRolledBack(site, front, r, new RegExp(`^rolled back: shadow: Docker Engine did not answer within ${DEADLINE_MS} ms to inspect the shadow ${shadow}`));
    } finally {
      await front.stop();
      await site.down();
    }
  });
});
