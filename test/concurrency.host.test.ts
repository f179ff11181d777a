/**
 * `maintenance.concurrency: 2` on the real host: two services of one Compose project (one
 * compose file, one image, one network) updated by one `refit run`, under load through the
 * proxy. Both maintenances run at once (their journal entries interleave), every request gets
 * a 2xx, the compose file changes in the two image values only, each config dir is merged, and
 * nothing of either maintenance is left. Held in the middle of the pass: refit itself and the
 * HAProxy it started run at the priority refit was started with; every Compose command it ran
 * (seen through a `docker` in front of the real one on refit's PATH) at the lower CPU and I/O
 * priority of its heavy work.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveHolder } from '../src/journal/lock.js';
import { masterRecordOf } from '../src/proxy/master.js';
import { childPids } from '../src/proxy/process.js';
import type { PassReport } from '../src/maintenance/report.js';
import { startHarness, tree, type Harness, type TestSite } from './support/host-harness.js';
import { journalSeq, waitForStep } from './support/journal-watch.js';
import { startWrk, type RunningWrk } from './support/wrk.js';
import { refitAsync } from './support/refit-cli.js';
import { getThroughProxy } from './support/site-checks.js';
import { suiteName } from './support/suite.js';
import { threadNices } from './support/proc-nice.js';

const SUITE = suiteName('concurrency');
let h: Harness;
let site: TestSite;
let api: TestSite;
let compose: string;
/** A `docker` first on refit's PATH that notes each run's nice value and I/O priority, then runs the real one. */
let shim: { dir: string; log: string };

beforeAll(async () => {
  h = await startHarness(SUITE);
  writeFileSync(h.env.REFIT_CONFIG, `${h.configText}maintenance: { concurrency: 2, nice: 10 }\n`);
  const dir = mkdtempSync(join(tmpdir(), 'refit-conc-shim-'));
  shim = { dir, log: join(dir, 'runs.log') };
  const docker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
  // Field 19 of /proc/PID/stat is the nice value (the command name, "sh", holds no space).
  writeFileSync(join(dir, 'docker'), `#!/bin/sh\necho "$(cut -d' ' -f19 /proc/$$/stat) $(ionice -p $$) $1" >> ${shim.log}\nexec ${docker} "$@"\n`, { mode: 0o755 });
  const service = (name: string, vhost: string, conf: string) => [
    `  ${name}:`,
    `    image: "${h.ref('web', '1.0.0')}"   # ${name} runs the platform image too`,
    '    labels:',
    ...h.siteLabels(vhost, '      '),
    '    volumes:',
    `      - ./${conf}:/etc/site`,
    '    networks: [front]',
  ];
  const vhosts = { web: `web.${SUITE}.example`, api: `api.${SUITE}.example` };
  compose = ['# one project, two sites', 'services:', ...service('web', vhosts.web, 'conf'), ...service('api', vhosts.api, 'api-conf'), 'networks:', '  front:', '    labels:', `      refit.test.suite: ${SUITE}`, ''].join('\n');
  const apiConf = Object.fromEntries(Object.entries(h.oldTree).map(([name, text]) => [`api-conf/${name}`, text]));
  site = await h.customSite('v2', { vhost: vhosts.web, files: { 'docker-compose.yml': compose, ...apiConf } });
  await site.up(['api']);
  api = { ...site, vhost: vhosts.api, confDir: join(site.dir, 'api-conf'), container: site.containerName('api') };
}, 300_000);

afterAll(async () => {
  await site?.down();
  await h?.stop();
  if (shim) rmSync(shim.dir, { recursive: true, force: true });
});

const ionice = (pid: number) => execFileSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }).trim();

describe('two services of one project, concurrency 2', () => {
  it('are updated at once under load, each whole, the compose file changed in their two image values only; Compose at the low priority of the work, refit and its proxy at their own', async () => {
    const release = join(mkdtempSync(join(tmpdir(), 'refit-conc-')), 'release');
    const afterSeq = journalSeq(h.stateDir);
    // The proxy is not running yet: this pass starts it.
    const run = refitAsync(['run', '--json'], { ...h.env, PATH: `${shim.dir}:${process.env.PATH}`, REFIT_FAULT: 'hold:shadow-traffic:done', REFIT_FAULT_RELEASE: release });
    let loads: RunningWrk[] = [];
    try {
      expect(await waitForStep(h.stateDir, { step: 'shadow-traffic', phase: 'done', afterSeq, until: run })).toBe(true);
      loads = [site, api].map((s) => startWrk({ url: `http://127.0.0.1:${h.httpPort}`, host: s.vhost, connections: 2, durationMs: 300_000 }));
      await Promise.all(loads.map((l) => l.started));
      const refit = liveHolder(h.stateDir)!.pid;
      expect(new Set(threadNices(refit))).toEqual(new Set([0]));
      expect(ionice(refit)).toBe('none: prio 0');
      // refit's record of the master: HAProxy's own pid file is empty for a moment at each reload.
      const master = Number(readFileSync(masterRecordOf(join(h.stateDir, '..', 'haproxy', 'haproxy.pid')), 'utf8').trim());
      const proxy = [master, ...childPids(master)];
      expect(proxy.length).toBeGreaterThan(1);
      for (const pid of proxy) expect([pid, ...new Set(threadNices(pid))]).toEqual([pid, 0]);
      expect(ionice(master)).toBe('none: prio 0');
    } finally {
      writeFileSync(release, '');
    }
    const r = await run;
    const results = await Promise.all(loads.map((l) => l.stop()));
    rmSync(join(release, '..'), { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(0);
    // Every Compose command of the pass (detection, the shadows, the recreates) ran lowered.
    const runs = readFileSync(shim.log, 'utf8').trim().split('\n');
    expect(runs.filter((l) => / compose$/.test(l)).length).toBeGreaterThanOrEqual(5);
    expect(new Set(runs.map((l) => l.replace(/ \S+$/, '')))).toEqual(new Set(['10 best-effort: prio 7']));
    expect(r.json<PassReport>().containers.map((c) => [c.container, c.result]).sort()).toEqual([
      [api.container, 'updated'],
      [site.container, 'updated'],
    ]);
    for (const l of results) {
      expect({ failed: l.failed, byStatus: l.byStatus, unanswered: l.unanswered }).toEqual({ failed: 0, byStatus: {}, unanswered: 0 });
      expect(l.ok).toBeGreaterThan(0);
    }

    // They ran at once: the journal entries of the two maintenances interleave.
    const db = new Database(join(h.stateDir, 'journal.db'), { readonly: true });
    const spans = db.prepare('SELECT maintenance_id AS id, MIN(seq) AS first, MAX(seq) AS last FROM steps WHERE seq > ? GROUP BY maintenance_id ORDER BY id').all(afterSeq) as { id: number; first: number; last: number }[];
    db.close();
    expect(spans).toHaveLength(2);
    expect(spans[1]!.first).toBeLessThan(spans[0]!.last);

    expect(readFileSync(join(site.dir, 'docker-compose.yml'), 'utf8')).toBe(compose.replaceAll(h.ref('web', '1.0.0'), h.ref('web', '1.1.0')));
    for (const s of [site, api]) {
      const { status, body } = await getThroughProxy(h, s);
      expect([status, body.split('\n')[0]]).toEqual([200, h.servesLine('1.1.0')]);
      expect(tree(s.confDir)).toEqual(h.newTree);
      expect(execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', s.container], { encoding: 'utf8' }).trim()).toBe(h.ref('web', '1.1.0'));
    }
    expect(h.shadows()).toEqual([]);
    expect(h.scratchLeft()).toEqual([]);
    expect(readdirSync(site.dir).filter((n) => n.includes('refit'))).toEqual([]);
    // The stock configs of the two images were kept once each, for both sites.
    expect(existsSync(join(h.stateDir, 'cache', 'stock')) && readdirSync(join(h.stateDir, 'cache', 'stock'))).toHaveLength(2);
  }, 300_000);
});
