/**
 * Zero-downtime bench: N sites of the realistic fixture app (nginx + php-fpm) behind HAProxy,
 * then behind nginx, each site under a constant keep-alive load from its own `wrk`
 * (test/support/wrk.ts), and one update of every site during the load, done two ways:
 *  - `refit`: one `refit run` pass (shadow, health check, drain, recreate, check, back);
 *  - `baseline`: what image updaters do today, one site after the other: the new tag in the
 *    compose file, `docker compose up -d` (recreate in place, no shadow, no drain), then
 *    `refit proxy sync` at once so the proxy follows the new container's address (as
 *    docker-gen or Traefik do from Docker events; without it the baseline would never recover).
 * Every request is accounted for per site: 2xx, other statuses, requests that got no answer,
 * failed connects, timeouts; plus latency and the longest stretch without a successful
 * response. Bounded: each load stops after the update (wrk's own bounds behind it), each
 * command has a timeout. Writes bench/results/zero-downtime.json (see README.md).
 *
 *   npm run build && npx tsx bench/zero-downtime/run.ts [--proxies haproxy,nginx] [--modes refit,baseline] [--sites 3] [--connections 4] [--delay-ms 10] [--close]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { PassReport } from '../../src/maintenance/report.js';
import { REPO_ROOT, refit } from '../../test/support/refit-cli.js';
import { appServesLine } from '../../test/support/app-image.js';
import { startWrk, type RunningWrk, type WrkResult } from '../../test/support/wrk.js';
import { startImages, startRunSetup, SUITE, type Images, type ProxyType, type RunSetup } from './platform.js';

const { values: opts } = parseArgs({
  options: {
    proxies: { type: 'string', default: 'haproxy,nginx' },
    modes: { type: 'string', default: 'refit,baseline' },
    sites: { type: 'string', default: '3' },
    connections: { type: 'string', default: '4' },
    'delay-ms': { type: 'string', default: '10' },
    'settle-s': { type: 'string', default: '5' },
    close: { type: 'boolean', default: false },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'zero-downtime.json') },
  },
});
const SETTLE_MS = Number(opts['settle-s']) * 1000;
const COMMAND_TIMEOUT_MS = 300_000;

type Mode = 'refit' | 'baseline';

interface Maintenance {
  startedAt: number;
  finishedAt: number;
  perSite: { container: string; result: string; ms: number }[];
}

/** GET / through the proxy by Host: the first line of the body (which version answers). */
function firstLine(port: number, host: string): Promise<string> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? (body.split('\n')[0] ?? '') : `status ${res.statusCode}`));
    })
      .on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`))
      .end();
  });
}

function sync(setup: RunSetup): void {
  const r = refit(['proxy', 'sync'], setup.env, COMMAND_TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`refit proxy sync failed (${r.code}): ${r.stderr || r.stdout}`);
}

function refitPass(setup: RunSetup): Maintenance {
  const startedAt = Date.now();
  const r = refit(['run', '--json', ...setup.sites.flatMap((s) => ['--container', s.container])], setup.env, COMMAND_TIMEOUT_MS);
  const finishedAt = Date.now();
  if (r.code !== 0) throw new Error(`refit run exited with ${r.code}: ${r.stderr || r.stdout}`);
  const report = r.json<PassReport>();
  return { startedAt, finishedAt, perSite: report.containers.map((c) => ({ container: c.container, result: c.result, ms: c.durationMs })) };
}

async function baselinePass(setup: RunSetup, images: Images): Promise<Maintenance> {
  const startedAt = Date.now();
  const perSite: Maintenance['perSite'] = [];
  for (const site of setup.sites) {
    const t0 = Date.now();
    await site.recreateInPlace(images.ref('1.1.0'));
    sync(setup);
    perSite.push({ container: site.container, result: 'recreated', ms: Date.now() - t0 });
  }
  return { startedAt, finishedAt: Date.now(), perSite };
}

/** Per site: every request's fate (see test/support/wrk.ts), latency, and the longest stretch without a 2xx. */
function siteFigures(vhost: string, a: WrkResult, m: Maintenance) {
  return {
    vhost,
    requests: a.sent,
    ok: a.ok,
    failed: a.failed,
    failures: { byStatus: a.byStatus, unanswered: a.unanswered, connect: a.errors.connect, timeout: a.errors.timeout },
    socketErrors: a.errors,
    latencyMs: a.latencyMs,
    longestNoSuccessMs: a.longestNoSuccess.ms,
    // Where that stretch began, relative to the start of the maintenance (negative: before it).
    longestNoSuccessStartsAtMs: Math.round(a.longestNoSuccess.from - m.startedAt),
  };
}

/** Runs `work` under the load, lets it settle, stops every wrk (also when `work` failed). */
async function whileLoaded<T>(loads: RunningWrk[], work: () => Promise<T>) {
  try {
    const value = await work();
    await sleep(SETTLE_MS);
    return { value, accounts: await Promise.all(loads.map((l) => l.stop())) };
  } catch (err) {
    await Promise.allSettled(loads.map((l) => l.stop()));
    throw err;
  }
}

async function oneRun(proxy: ProxyType, mode: Mode, images: Images) {
  const setup = await startRunSetup({ proxy, sites: Number(opts.sites), images });
  try {
    sync(setup);
    for (const s of setup.sites) {
      const line = await firstLine(setup.httpPort, s.vhost);
      if (line !== appServesLine('1.0.0')) throw new Error(`${s.vhost} does not serve 1.0.0 through ${proxy} before the run: ${line}`);
    }
    const loads = setup.sites.map((s) =>
      startWrk({ url: `http://127.0.0.1:${setup.httpPort}`, host: s.vhost, connections: Number(opts.connections), keepAlive: !opts.close, pauseMs: Number(opts['delay-ms']), durationMs: 600_000 }),
    );
    await Promise.all(loads.map((l) => l.started));
    await sleep(SETTLE_MS);
    process.stderr.write(`zero-downtime: ${proxy} ${mode}: updating ${setup.sites.length} sites under load\n`);
    const { value: maintenance, accounts } = await whileLoaded(loads, () => (mode === 'refit' ? Promise.resolve(refitPass(setup)) : baselinePass(setup, images)));
    const sites = setup.sites.map((s, i) => ({ ...siteFigures(s.vhost, accounts[i]!, maintenance), servesAfter: '' }));
    for (const [i, s] of setup.sites.entries()) sites[i]!.servesAfter = await firstLine(setup.httpPort, s.vhost);
    const sum = (f: (s: (typeof sites)[number]) => number) => sites.reduce((n, s) => n + f(s), 0);
    return {
      proxy,
      mode,
      maintenance: { ms: maintenance.finishedAt - maintenance.startedAt, perSite: maintenance.perSite },
      loadMs: Math.round(Math.max(...accounts.map((a) => a.stoppedAt - a.startedAt))),
      totals: { requests: sum((s) => s.requests), ok: sum((s) => s.ok), failed: sum((s) => s.failed), longestNoSuccessMs: Math.max(...sites.map((s) => s.longestNoSuccessMs)) },
      sites,
    };
  } finally {
    await setup.stop();
  }
}

async function main() {
  const proxies = opts.proxies.split(',') as ProxyType[];
  const modes = opts.modes.split(',') as Mode[];
  for (const p of proxies) if (p !== 'haproxy' && p !== 'nginx') throw new Error(`--proxies: ${p} is not haproxy or nginx`);
  for (const m of modes) if (m !== 'refit' && m !== 'baseline') throw new Error(`--modes: ${m} is not refit or baseline`);
  const dir = mkdtempSync(join(tmpdir(), `refit-${SUITE}-images-`));
  const images = await startImages(dir);
  const runs = [];
  try {
    for (const proxy of proxies) for (const mode of modes) runs.push(await oneRun(proxy, mode, images));
  } finally {
    await images.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const result = {
    command: `npx tsx bench/zero-downtime/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    node: process.version,
    date: new Date().toISOString(),
    host: { cores: cpus().length, loadAverage1m: Number(loadavg()[0]!.toFixed(2)), docker: execFileSync('docker', ['version', '-f', '{{.Server.Version}}']).toString().trim() },
    load: { generator: `wrk -t1 (one per site), ${opts.close ? 'Connection: close' : 'keep-alive'}, test/support/wrk.lua`, app: 'nginx + php-fpm (test/support/app-image.ts)', connectionsPerSite: Number(opts.connections), pauseMsPerConnection: Number(opts['delay-ms']), settleMsBeforeAndAfter: SETTLE_MS },
    runs,
  };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  for (const r of runs) {
    process.stdout.write(`${r.proxy.padEnd(8)} ${r.mode.padEnd(9)} ${r.totals.requests} requests, ${r.totals.failed} failed, longest without a 2xx ${r.totals.longestNoSuccessMs} ms, maintenance ${r.maintenance.ms} ms\n`);
  }
  process.stdout.write(`wrote ${opts.out}\n`);
}

await main();
