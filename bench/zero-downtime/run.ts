/**
 * Zero-downtime bench: sites of the realistic fixture app (nginx + php-fpm) behind HAProxy,
 * then behind nginx, each site under constant kept-alive loads from `wrk` over HTTP (GETs and
 * POSTs) and HTTPS at once (test/support/wrk.ts), through every way a maintenance can end,
 * each scenario repeated `--repeat` times on fresh sites:
 *  - `update`: one `refit run` pass updates every site;
 *  - `unhealthy`: the new image fails its health check: refit rolls back;
 *  - `dead`: the new image cannot start: refit rolls back;
 *  - `kill`: refit SIGKILLed with the original drained and the shadow serving, then `refit
 *    recover` (rolls back);
 *  - `baseline`: what image updaters do today, one site after the other: the new tag in the
 *    compose file, `docker compose up -d` (recreate in place, no shadow, no drain), then
 *    `refit proxy sync` at once so the proxy follows the new container's address (generous to
 *    the baseline: without the sync its sites would never come back).
 * Every request is accounted for per site (see README.md). Bounded: each load stops after its
 * scenario (wrk's own bounds behind it), each command has a timeout. Writes
 * bench/results/zero-downtime.json.
 *
 *   npm run build && npx tsx bench/zero-downtime/run.ts [--proxies haproxy,nginx] [--scenarios update,unhealthy,dead,kill,baseline] [--repeat 5] [--sites 2]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { runCompose } from '../../src/compose/cli.js';
import { startHarness, type Harness, type Repo, type TestSite } from '../../test/support/host-harness.js';
import { REPO_ROOT, refitAsync } from '../../test/support/refit-cli.js';
import { suiteName } from '../../test/support/suite.js';
import { startWrk, type RunningWrk, type WrkResult } from '../../test/support/wrk.js';

const SCENARIOS = ['update', 'unhealthy', 'dead', 'kill', 'baseline'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: opts } = parseArgs({
  options: {
    proxies: { type: 'string', default: 'haproxy,nginx' },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    repeat: { type: 'string', default: '5' },
    sites: { type: 'string', default: '2' },
    connections: { type: 'string', default: '4' },
    'settle-s': { type: 'string', default: '3' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'zero-downtime.json') },
  },
});
const SETTLE_MS = Number(opts['settle-s']) * 1000;
const COMMAND_TIMEOUT_MS = 300_000;

const REPO: Record<Scenario, Repo> = { update: 'web', unhealthy: 'bad', dead: 'dead', kill: 'web', baseline: 'web' };
/** What each site must serve afterwards. */
const ENDS_ON: Record<Scenario, '1.0.0' | '1.1.0'> = { update: '1.1.0', unhealthy: '1.0.0', dead: '1.0.0', kill: '1.0.0', baseline: '1.1.0' };

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

async function must(args: string[], h: Harness, expectCode: number, env: Record<string, string> = {}): Promise<string> {
  const r = await refitAsync(args, { ...h.env, ...env }, COMMAND_TIMEOUT_MS);
  if (r.code !== expectCode) throw new Error(`refit ${args.join(' ')} exited with ${r.code}, not ${expectCode}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** The scenario itself; resolves with per-site durations where refit reports them. */
async function play(scenario: Scenario, h: Harness, sites: TestSite[]): Promise<{ container: string; ms: number }[]> {
  const containers = sites.flatMap((s) => ['--container', s.container]);
  const timed = async (fn: () => Promise<unknown>) => {
    const t0 = Date.now();
    await fn();
    return Date.now() - t0;
  };
  switch (scenario) {
    case 'update':
    case 'unhealthy':
    case 'dead': {
      const out = await must(['run', '--json', ...containers], h, scenario === 'update' ? 0 : 1);
      return (JSON.parse(out) as { containers: { container: string; durationMs: number }[] }).containers.map((c) => ({ container: c.container, ms: c.durationMs }));
    }
    case 'kill': {
      const per: { container: string; ms: number }[] = [];
      for (const s of sites) {
        per.push({
          container: s.container,
          ms: await timed(async () => {
            await must(['run', '--container', s.container], h, 137, { REFIT_FAULT: 'kill:drain-original:done' });
            await must(['recover'], h, 0);
          }),
        });
      }
      return per;
    }
    case 'baseline': {
      const per: { container: string; ms: number }[] = [];
      for (const s of sites) {
        per.push({
          container: s.container,
          ms: await timed(async () => {
            const file = s.files[0]!;
            writeFileSync(file, readFileSync(file, 'utf8').replace(h.ref('web', '1.0.0'), h.ref('web', '1.1.0')));
            await runCompose(s.cli, s, ['up', '-d']);
            await must(['proxy', 'sync'], h, 0);
          }),
        });
      }
      return per;
    }
  }
}

function figures(r: WrkResult, startedAt: number) {
  return {
    requests: r.sent,
    ok: r.ok,
    failed: r.failed,
    failures: { byStatus: r.byStatus, unanswered: r.unanswered, connect: r.errors.connect, timeout: r.errors.timeout },
    socketErrors: r.errors,
    latencyMs: r.latencyMs,
    longestNoSuccessMs: r.longestNoSuccess.ms,
    longestNoSuccessStartsAtMs: Math.round(r.longestNoSuccess.from - startedAt),
  };
}

async function oneRun(h: Harness, scenario: Scenario, siteCount: number) {
  const sites: TestSite[] = [];
  try {
    for (let i = 0; i < siteCount; i++) sites.push(await h.site('v2', { repo: REPO[scenario] }));
    await must(['proxy', 'sync'], h, 0);
    const loads: { site: TestSite; http: RunningWrk; https: RunningWrk }[] = sites.map((s) => {
      const common = { host: s.vhost, connections: Number(opts.connections), durationMs: 600_000, timeoutMs: 10_000 };
      return { site: s, http: startWrk({ ...common, url: `http://127.0.0.1:${h.httpPort}`, post: { every: 5 } }), https: startWrk({ ...common, url: `https://127.0.0.1:${h.httpsPort}` }) };
    });
    await Promise.all(loads.flatMap((l) => [l.http.started, l.https.started]));
    await sleep(SETTLE_MS);
    const startedAt = Date.now();
    let perSite: { container: string; ms: number }[];
    try {
      perSite = await play(scenario, h, sites);
      await sleep(SETTLE_MS);
    } finally {
      await Promise.allSettled(loads.flatMap((l) => [l.http.stop(), l.https.stop()]));
    }
    const ms = Date.now() - startedAt - SETTLE_MS;
    const out = [];
    for (const l of loads) {
      const [http, https] = [await l.http.result, await l.https.result];
      out.push({ vhost: l.site.vhost, http: figures(http, startedAt), https: figures(https, startedAt), servesAfter: await firstLine(h.httpPort, l.site.vhost), expected: h.servesLine(ENDS_ON[scenario]) });
    }
    const failed = out.reduce((n, s) => n + s.http.failed + s.https.failed, 0);
    const requests = out.reduce((n, s) => n + s.http.requests + s.https.requests, 0);
    const wrongVersion = out.filter((s) => s.servesAfter !== s.expected).length;
    return { scenario, ms, perSite, totals: { requests, failed, sitesOnWrongVersion: wrongVersion, longestNoSuccessMs: Math.max(...out.flatMap((s) => [s.http.longestNoSuccessMs, s.https.longestNoSuccessMs])) }, sites: out };
  } finally {
    for (const s of sites) await s.down();
  }
}

async function main() {
  const proxies = opts.proxies.split(',') as ('haproxy' | 'nginx')[];
  const scenarios = opts.scenarios.split(',') as Scenario[];
  for (const p of proxies) if (p !== 'haproxy' && p !== 'nginx') throw new Error(`--proxies: ${p} is not haproxy or nginx`);
  for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`--scenarios: ${s} is not one of ${SCENARIOS.join(', ')}`);
  const runs: ({ proxy: string; repetition: number } & Awaited<ReturnType<typeof oneRun>>)[] = [];
  for (const proxy of proxies) {
    const h = await startHarness(suiteName(`zdbench-${proxy}`), { app: 'php', proxy, tls: true });
    try {
      for (const scenario of scenarios) {
        for (let i = 1; i <= Number(opts.repeat); i++) {
          process.stderr.write(`zero-downtime: ${proxy} ${scenario} ${i}/${opts.repeat}\n`);
          const run = { proxy, repetition: i, ...(await oneRun(h, scenario, Number(opts.sites))) };
          process.stderr.write(`  ${run.totals.requests} requests, ${run.totals.failed} failed, longest without a 2xx ${run.totals.longestNoSuccessMs} ms, ${run.totals.sitesOnWrongVersion} site(s) on the wrong version\n`);
          runs.push(run);
        }
      }
    } finally {
      await h.stop();
    }
  }
  const summary = proxies.flatMap((proxy) =>
    scenarios.map((scenario) => {
      const mine = runs.filter((r) => r.proxy === proxy && r.scenario === scenario);
      return {
        proxy,
        scenario,
        runs: mine.length,
        requests: mine.reduce((n, r) => n + r.totals.requests, 0),
        failed: mine.reduce((n, r) => n + r.totals.failed, 0),
        sitesOnWrongVersion: mine.reduce((n, r) => n + r.totals.sitesOnWrongVersion, 0),
        longestNoSuccessMs: Math.max(...mine.map((r) => r.totals.longestNoSuccessMs)),
      };
    }),
  );
  const result = {
    command: `npx tsx bench/zero-downtime/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    node: process.version,
    date: new Date().toISOString(),
    host: { cores: cpus().length, loadAverage1m: Number(loadavg()[0]!.toFixed(2)), docker: execFileSync('docker', ['version', '-f', '{{.Server.Version}}']).toString().trim() },
    load: { generator: 'per site: wrk -t1 over HTTP (keep-alive, every 5th request a POST) and wrk -t1 over HTTPS (keep-alive), test/support/wrk.lua', app: 'nginx + php-fpm (test/support/app-image.ts)', connectionsPerLoad: Number(opts.connections), settleMsBeforeAndAfter: SETTLE_MS, sitesPerRun: Number(opts.sites) },
    summary,
    runs,
  };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  for (const s of summary) process.stdout.write(`${s.proxy.padEnd(8)} ${s.scenario.padEnd(10)} ${s.runs} runs, ${s.requests} requests, ${s.failed} failed, ${s.sitesOnWrongVersion} on the wrong version, longest without a 2xx ${s.longestNoSuccessMs} ms\n`);
  process.stdout.write(`wrote ${opts.out}\n`);
}

await main();
