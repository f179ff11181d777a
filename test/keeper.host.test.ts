/**
 * `refit daemon` keeps the proxy all week, outside any maintenance window, through HAProxy and
 * through nginx: it brings the proxy up at start; a site whose container is recreated (a
 * customer's own `docker compose up -d`) or moved to a new address on its network is served
 * again; a proxy killed with SIGKILL is started again; `refit proxy sync` works while the
 * daemon runs; SIGTERM stops the daemon and leaves the proxy serving. How fast each happens is
 * measured in bench/keeper; here every wait is only bounded so a broken keeper fails.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncOutput } from '../src/cli/commands/proxy.js';
import { runCompose } from '../src/compose/cli.js';
import { startHarness, type Harness, type TestSite } from './support/host-harness.js';
import { refitAsync, refitCommand } from './support/refit-cli.js';
import { getThroughProxy } from './support/site-checks.js';
import { suiteName } from './support/suite.js';

const BOUND_MS = 60_000;

/** Polls through the proxy until the site answers 200 from `ip` (when given), bounded. */
async function servedAgain(h: Harness, site: TestSite, ip?: string): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  let last = '';
  while (Date.now() < deadline) {
    const r = await getThroughProxy(h, site, '/', 5_000);
    const servers = readProxyState(h).find((s) => s.vhosts.includes(site.vhost))?.servers ?? [];
    last = `${r.status} ${r.body.split('\n')[0]} via ${JSON.stringify(servers)}`;
    if (r.status === 200 && (!ip || servers.some((s) => s.ip === ip && s.state === 'ready'))) return;
    await sleep(100);
  }
  throw new Error(`${site.vhost} was not served again${ip ? ` from ${ip}` : ''} within ${BOUND_MS} ms; last: ${last}`);
}

function readProxyState(h: Harness): { id: string; vhosts: string[]; servers: { name: string; ip: string; state: string }[] }[] {
  try {
    return (JSON.parse(readFileSync(join(h.stateDir, '..', h.proxy, 'state.json'), 'utf8')) as { sites: never[] }).sites;
  } catch {
    return [];
  }
}

const containerIp = (name: string, network: string) => execFileSync('docker', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name]).toString().trim();

/**
 * The pid of the proxy master refit started (HAProxy's, or the nginx edge's: the tier clients
 * talk to). HAProxy rewrites its pid file on every reload, for a moment missing or empty: read
 * again until it names a pid (bounded).
 */
async function proxyMasterPid(h: Harness): Promise<number> {
  const pidFile = h.proxy === 'haproxy' ? join(h.stateDir, '..', 'haproxy', 'haproxy.pid') : join(h.stateDir, '..', 'nginx', 'edge', 'nginx.pid');
  for (let i = 0; i < BOUND_MS / 10; i++) {
    const pid = Number((existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : '').trim());
    if (pid > 0) return pid;
    await sleep(10);
  }
  throw new Error(`${pidFile} named no pid within ${BOUND_MS} ms`);
}

/** What a failed wait shows besides the daemon's log: the proxy's processes and files, and where the daemon's threads wait. */
function diagnostics(h: Harness, daemonPid: number | undefined): string {
  const runDir = join(h.stateDir, '..', h.proxy);
  const ps = execFileSync('ps', ['-eo', 'pid,ppid,stat,etime,wchan:24,args'], { encoding: 'utf8' }).split('\n');
  const files = execFileSync('sh', ['-c', `for f in $(find ${runDir} -maxdepth 2 \\( -name '*.pid*' -o -name '*.lock' \\)); do echo "$f: $(cat $f)"; done`], { encoding: 'utf8' });
  const threads = daemonPid ? execFileSync('sh', ['-c', `for t in /proc/${daemonPid}/task/*; do echo "$t $(cut -d' ' -f3 $t/stat) $(cat $t/wchan)"; done`], { encoding: 'utf8' }) : '';
  const mine = ps.filter((l) => l.includes(runDir));
  // Standard streams of the proxy's processes: a pipe here is one refit may be waiting on.
  const streams = mine.map((l) => l.trim().split(/\s+/)[0]!).map((pid) => `${pid}: ${[0, 1, 2].map((n) => execFileSync('sh', ['-c', `readlink /proc/${pid}/fd/${n} || true`], { encoding: 'utf8' }).trim()).join(' ')}`);
  return [ps[0], ...mine, ...streams, files, `daemon ${daemonPid} threads (state, wchan):`, threads].join('\n');
}

describe.each(['haproxy', 'nginx'] as const)('refit daemon keeps %s serving between windows', (proxy) => {
  let h: Harness;
  let site: TestSite;
  let daemon: ChildProcess;
  let log = '';
  let exited: Promise<number | null>;

  beforeAll(async () => {
    h = await startHarness(suiteName(`keeper-${proxy}`), { proxy });
    site = await h.site('v2');
    // A window far away: no pass runs; what the daemon does here is keep the proxy.
    const config = join(h.stateDir, '..', 'daemon.yml');
    writeFileSync(config, `${h.configText}schedule: { cron: "0 3 1 1 *", windowMinutes: 1 }\n`);
    // At debug level the keeper says what it looks at: a failed wait shows where it stood.
    daemon = spawn(...refitCommand(['daemon']), { env: { ...process.env, REFIT_CONFIG: config, REFIT_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    daemon.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    exited = new Promise((resolve) => daemon.on('close', (code) => resolve(code)));
  });

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    await site?.down();
    await h?.stop();
  });

  /** Resolves once the daemon's log says `what` (bounded). */
  const logged = async (what: RegExp) => {
    for (let i = 0; i < BOUND_MS / 100 && !what.test(log); i++) await sleep(100);
    expect(what.test(log), `the daemon never logged ${what}; its log without the supervisor's every-second lines:\n${log.trim().split('\n').filter((l) => !l.includes('"supervise: ')).slice(-80).join('\n')}\n${what.test(log) ? '' : diagnostics(h, daemon.pid)}`).toBe(true);
  };

  it('brings the proxy up at start and serves the site', async () => {
    await servedAgain(h, site);
    await logged(new RegExp(`${proxy} serving \\d+ site`));
  });

  it("serves a site again after the customer's own docker compose up -d recreated its container", async () => {
    const before = execFileSync('docker', ['inspect', '-f', '{{.Id}}', site.container]).toString().trim();
    await runCompose(site.cli, site, ['up', '-d', '--force-recreate']);
    expect(execFileSync('docker', ['inspect', '-f', '{{.Id}}', site.container]).toString().trim()).not.toBe(before);
    await servedAgain(h, site, containerIp(site.container, `${site.project}_front`));
  });

  it('follows a container moved to another address on its network', async () => {
    const net = `${site.project}_front`;
    const old = containerIp(site.container, net);
    // Off its network; another container takes the free address (the Engine hands out the lowest); back on, it gets a new one.
    execFileSync('docker', ['network', 'disconnect', net, site.container]);
    const squatter = `${site.container}-squatter`;
    execFileSync('docker', ['run', '-d', '--name', squatter, '--network', net, '--label', `refit.test.suite=${suiteName(`keeper-${proxy}`)}`, '--entrypoint', '/bin/sleep', h.ref('web', '1.0.0'), '600'], { stdio: 'ignore' });
    try {
      execFileSync('docker', ['network', 'connect', net, site.container]);
      const moved = containerIp(site.container, net);
      expect(moved).not.toBe(old);
      await servedAgain(h, site, moved);
    } finally {
      execFileSync('docker', ['rm', '-f', squatter], { stdio: 'ignore' });
    }
  });

  it('starts a proxy killed with SIGKILL again, and serves', async () => {
    const pid = await proxyMasterPid(h);
    process.kill(pid, 'SIGKILL');
    log += `(test) ${new Date().toISOString()} SIGKILL to ${pid}\n`;
    // (nginx workers outlive their master and go on serving; only a new master is a restart.)
    await logged(/proxy was not running: started it again from its state/);
    expect(await proxyMasterPid(h)).not.toBe(pid);
    await servedAgain(h, site);
  });

  it('lets refit proxy sync run while the daemon runs', async () => {
    const r = await refitAsync(['proxy', 'sync', '--json'], h.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<SyncOutput>().sites.find((s) => s.vhosts.includes(site.vhost))?.servers.map((s) => s.name)).toEqual([site.container]);
  });

  it('SIGTERM stops the daemon with exit 0 and leaves the proxy serving', async () => {
    daemon.kill('SIGTERM');
    expect(await exited, log).toBe(0);
    await servedAgain(h, site);
  });
});
