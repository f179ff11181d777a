/**
 * The model-based fault test (src/maintenance/testing/schedules.ts) on the real host, a few
 * seeded schedules: Docker, Compose, a registry and HAProxy, refit's pipeline in this process
 * with its real journal. Each World call is a command a schedule may fail (before or after its
 * effect) or kill refit at, as may every journal write; recovers follow until the maintenance is
 * closed. After every command the site answers through the proxy, every ready server runs the
 * old or the new image, the config dir is the old or the merged tree, the compose file old or
 * bumped, and the journal agrees with the world; once closed, the site is whole.
 * The unit project runs thousands of schedules on the fake world (fault-schedules.test.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJournal, type Journal } from '../src/journal/journal.js';
import type { MaintenanceLog } from '../src/journal/types.js';
import { runSchedule, seeded, watchedWorld } from '../src/maintenance/testing/schedules.js';
import type { World } from '../src/maintenance/world.js';
import type { Site } from '../src/site/discover.js';
import { siteIdOf } from '../src/proxy/sites.js';
import { swapNames } from '../src/site-config/swap.js';
import { NEW_TREE, OLD_TREE, startHarness, type Harness, type TestSite } from './support/host-harness.js';
import { realSite } from './support/real-site.js';
import { getThroughProxy, notWhole, treeOrNull } from './support/site-checks.js';
import { suiteName } from './support/suite.js';

const SUITE = suiteName('schedules');
/**
 * A schedule is the same for the same seed. These cover, on the real host:
 *   1  killed after commit-configs' effect; recover finishes it (updated)
 *   7  recreateService fails; rolled back
 *   9  killed between draining and removing the shadow in retire-shadow; recover finishes it
 *  10  a health check fails in drain-original, then killed inside the rollback; recover continues it
 *  11  killed after the recreated original's check, then again inside an undo; the third process rolls back
 *  12  killed between draining and removing the original; rolled back
 */
const SEEDS = (process.env.REFIT_HOST_SCHEDULE_SEEDS ?? '1,7,9,10,11,12').split(',').map(Number);
let h: Harness;
let journal: Journal;

beforeAll(async () => {
  h = await startHarness(SUITE);
  journal = openJournal(h.stateDir);
});
afterAll(async () => {
  journal?.close();
  await h?.stop();
});

/** The invariants of a maintenance in progress on the real host (the fake world checks more). */
async function broken(world: World, test: TestSite, site: Site, log: MaintenanceLog | null): Promise<string[]> {
  const problems: string[] = [];
  const { status, body } = await getThroughProxy(h, test);
  if (status !== 200 || !/^fixture version=1\.[01]\.0$/.test(body.split('\n')[0]!)) problems.push(`the site answers ${status} ${body.split('\n')[0]}`);
  const ready = (await world.proxy.list(siteIdOf(site))).filter((s) => s.state === 'ready');
  if (!ready.length) problems.push('the site has no ready server');
  // The new image is on the host once pulled.
  const images = [h.ref('web', '1.0.0'), h.ref('web', '1.1.0')].map((ref) => spawnSync('docker', ['image', 'inspect', '-f', '{{.Id}}', ref]).stdout.toString().trim()).filter(Boolean);
  for (const s of ready) {
    const byIp = execFileSync('docker', ['ps', '-q', '--filter', `label=refit.test.suite=${SUITE}`]).toString().split('\n').filter(Boolean)
      .map((id) => execFileSync('docker', ['inspect', '-f', '{{.Image}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', id]).toString().trim().split(' '))
      .find(([, ...ips]) => ips.includes(s.ip));
    if (!byIp || !images.includes(byIp[0]!)) problems.push(`ready server ${s.name} at ${s.ip} is ${byIp ? `on image ${byIp[0]}` : 'no running container'}`);
  }
  const conf = treeOrNull(test.confDir);
  const previous = log ? swapNames(test.confDir, `m${log.id}`).previous : null;
  const confOk = [OLD_TREE, NEW_TREE].some((t) => JSON.stringify(t) === JSON.stringify(conf)) || (conf === null && previous && JSON.stringify(treeOrNull(previous)) === JSON.stringify(OLD_TREE));
  if (!confOk) problems.push(`the config dir holds ${JSON.stringify(conf)}`);
  const compose = readFileSync(join(test.dir, 'docker-compose.yml'), 'utf8');
  const bumped = test.composeText.replace(h.ref('web', '1.0.0'), h.ref('web', '1.1.0'));
  if (compose !== test.composeText && compose !== bumped) problems.push('the compose file is neither the old nor the bumped one');

  const entries = log?.steps ?? [];
  const has = (step: string, phase: string) => entries.some((e) => e.step === step && e.phase === phase);
  const claim = (fact: boolean, what: string, step: string, until?: string) => {
    if (fact && (!has(step, 'begin') || has(step, 'undone') || (until && has(until, 'done')))) problems.push(`${what}, but the journal has ${step} not begun, undone, or ${until} done`);
  };
  claim(h.shadows().length > 0, 'a shadow exists', 'shadow', 'retire-shadow');
  claim(log !== null && existsSync(join(h.stateDir, 'scratch', `m${log.id}`)), 'a scratch dir exists', 'scratch', 'remove-scratch');
  claim(JSON.stringify(conf) === JSON.stringify(NEW_TREE), 'the merged tree is installed', 'config-install');
  claim(compose === bumped, 'the compose file is bumped', 'image-ref');
  return problems;
}

describe('seeded fault schedules on the real host', () => {
  it.each(SEEDS)('seed %i: every invariant holds after every World call; the maintenance ends closed, its site whole', async (seed) => {
    const test = await h.site(seed % 2 ? 'v2' : 'v1');
    try {
      const { world: real, site, proxySiteId } = await realSite(h, test);
      const watched = watchedWorld(real);
      const rand = seeded(seed);
      const rate = 0.004 + rand() * 0.012;
      const options = { failRate: rate, killRate: rate, faultyProcesses: 1 + Math.floor(rand() * 2), undoRetry: { attempts: 3, delayMs: 200 } };
      const r = await runSchedule(
        {
          world: watched.world,
          journal,
          site,
          proxySiteId,
          candidate: { reference: h.ref('web', '1.1.0'), digest: null },
          stateDir: h.stateDir,
          watch: watched.watch,
          nextProcess: () => undefined,
          broken: (log) => broken(real, test, site, log),
          notWholeAsClosed: (log) => notWhole(h, test, log.status === 'updated' ? 'new' : 'old'),
        },
        rand,
        options,
      );
      const trail = r.faults.map((f) => `${f.kind} ${f.at} (process ${f.process}, ${f.during})`).join('; ');
      expect(r.problems, `seed ${seed} (replay: REFIT_HOST_SCHEDULE_SEEDS=${seed}); faults: ${trail || 'none'}`).toEqual([]);
      expect(['updated', 'rolled-back']).toContain(r.status);
    } finally {
      await test.down();
    }
  });
});
