/**
 * Keeper bench: how soon `refit daemon` has a site served again, between maintenance windows,
 * through HAProxy and through nginx, with the realistic fixture app under a kept-alive wrk load:
 *  - `start`: the daemon starts on a host whose proxy is not running: until the site answers;
 *  - `recreate`: the customer's own `docker compose up -d --force-recreate` (a new container on a
 *    new IP): from the command's return until the site answers 200 from the new container;
 *  - `kill`: the proxy's master SIGKILLed: from the kill until a new master runs and the site
 *    answers (nginx's workers outlive their master and go on serving meanwhile; HAProxy's die
 *    with it, so its site is dark until the restart).
 * Each measure is repeated `--runs` times per proxy. The load's failures are shown for reference
 * only: they are the customer's restart of its only container and the crash itself, and wrk
 * counts every failed reconnect while a listener is down, so they say little; the times do. Bounded: every wait gives up after 60 s, the load
 * after the runs. Writes bench/results/keeper.json.
 *
 *   npm run build && npx tsx bench/keeper/run.ts [--proxies haproxy,nginx] [--runs 5]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { runCompose } from '../../src/compose/cli.js';
import { masterRecordOf } from '../../src/proxy/master.js';
import { startHarness, type Harness, type TestSite } from '../../test/support/host-harness.js';
import { REPO_ROOT, refitCommand } from '../../test/support/refit-cli.js';
import { suiteName } from '../../test/support/suite.js';
import { startWrk, type WrkResult } from '../../test/support/wrk.js';

const { values: opts } = parseArgs({
  options: {
    proxies: { type: 'string', default: 'haproxy,nginx' },
    runs: { type: 'string', default: '5' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'keeper.json') },
  },
});
const RUNS = Number(opts.runs);
const BOUND_MS = 60_000;

function status(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Milliseconds from `since` until the site answers 200 (and the proxy's state has `ip`, when given). */
async function msUntilServed(h: Harness, site: TestSite, since: number, ip?: string): Promise<number> {
  while (Date.now() - since < BOUND_MS) {
    const servers = proxyServers(h, site);
    if ((await status(h.httpPort, site.vhost)) === 200 && (!ip || servers.some((s) => s.ip === ip && s.state === 'ready'))) return Date.now() - since;
    await sleep(20);
  }
  throw new Error(`${site.vhost} not served within ${BOUND_MS} ms`);
}

/** The site's servers in the proxy's state ([] before the proxy wrote any). */
function proxyServers(h: Harness, site: TestSite): { ip: string; state: string }[] {
  try {
    const state = JSON.parse(readFileSync(join(h.stateDir, '..', h.proxy, 'state.json'), 'utf8')) as { sites: { vhosts: string[]; servers: { ip: string; state: string }[] }[] };
    return state.sites.find((s) => s.vhosts.includes(site.vhost))?.servers ?? [];
  } catch {
    return [];
  }
}

const ipOf = (site: TestSite) => execFileSync('docker', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${site.project}_front").IPAddress}}`, site.container]).toString().trim();
/** From refit's record of the master: HAProxy's own pid file is empty for a moment at each reload. */
const masterPid = (h: Harness) => Number(readFileSync(masterRecordOf(h.proxy === 'haproxy' ? join(h.stateDir, '..', 'haproxy', 'haproxy.pid') : join(h.stateDir, '..', 'nginx', 'edge', 'nginx.pid')), 'utf8').trim());
/** A live master other than `old` has written the pid file. */
function newMaster(h: Harness, old: number): boolean {
  try {
    const pid = masterPid(h);
    return pid !== old && existsSync(`/proc/${pid}`);
  } catch {
    return false;
  }
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s.at(-1), all: xs };
};
const loadSummary = (r: WrkResult) => ({ requests: r.sent, ok: r.ok, failed: r.failed, byStatus: r.byStatus, unanswered: r.unanswered, errors: r.errors });

const results: Record<string, unknown> = {};
for (const proxy of opts.proxies.split(',') as ('haproxy' | 'nginx')[]) {
  const h = await startHarness(suiteName(`keeperbench-${proxy}`), { app: 'php', proxy });
  const site = await h.site('v2');
  const config = join(h.stateDir, '..', 'daemon.yml');
  writeFileSync(config, `${h.configText}schedule: { cron: "0 3 1 1 *", windowMinutes: 1 }\n`);
  const started = Date.now();
  const daemon = spawn(...refitCommand(['daemon']), { env: { ...process.env, REFIT_CONFIG: config }, stdio: 'ignore' });
  try {
    const start = await msUntilServed(h, site, started);
    const load = startWrk({ url: `http://127.0.0.1:${h.httpPort}`, host: site.vhost, threads: 1, connections: 4, durationMs: 600_000 });
    await load.started;
    const recreate: number[] = [];
    const kill: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await runCompose(site.cli, site, ['up', '-d', '--force-recreate']);
      const returned = Date.now();
      recreate.push(await msUntilServed(h, site, returned, ipOf(site)));
      await sleep(1000);
      const killed = masterPid(h);
      const killedAt = Date.now();
      process.kill(killed, 'SIGKILL');
      while (Date.now() - killedAt < BOUND_MS && !newMaster(h, killed)) await sleep(20);
      kill.push(await msUntilServed(h, site, killedAt));
      await sleep(1000);
    }
    const during = await load.stop();
    results[proxy] = { startMs: start, recreateMs: stats(recreate), killMs: stats(kill), loadForReference: loadSummary(during) };
    console.log(proxy, JSON.stringify(results[proxy]));
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('close', r));
    await site.down();
    await h.stop();
  }
}

writeFileSync(
  opts.out,
  `${JSON.stringify({ command: `npx tsx bench/keeper/run.ts --proxies ${opts.proxies} --runs ${RUNS}`, at: new Date().toISOString(), host: { cpus: cpus().length, loadavg: loadavg() }, results }, null, 2)}\n`,
);
console.log(`wrote ${opts.out}`);
