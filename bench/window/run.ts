/**
 * A hundred sites in one maintenance window: N sites of the realistic fixture app (nginx +
 * php-fpm) behind refit's HAProxy, every one under a light kept-alive load and `--heavy` of them
 * under a heavy one (load.ts: two `wrk` processes, each request counted for its site), updated
 * in one pass, three ways in the same run, each after a steady stretch under the same load:
 *  - `refit`: `refit run` with `maintenance.concurrency` as configured (`--concurrency`, default auto);
 *  - `refit-c1`: `refit run` with `concurrency: 1`;
 *  - `in-place`: what image updaters do today, site after site: the new tag in the compose file,
 *    `docker compose up -d` (recreate in place), then `refit proxy sync` (zero-downtime/run.ts);
 *  - `churn` (not by default): the engine's share of a refit pass alone, no site touched: per
 *    site two containers of the sites' image started, answering, stopped and removed, one at a
 *    time, on a network of their own. What the sites' tail owes to container starts as such.
 * Each mode but `churn` takes the sites one version further (1.0.0 -> 1.1.0 -> 1.2.0 -> 1.3.0,
 * each with changed stock configs, so every refit update merges). Measured per mode: the pass time,
 * per-site step timings (p50/p95), failed requests per site, latency (p50/p99/max) during the
 * pass against the steady stretch before it, refit's peak and sampled RSS. The goals of issue 14
 * are judged in `goals`.
 *
 * Heavy on a 2-core host: run it alone, under the host-tests lock, after a build:
 *   npm run build && flock /tmp/refit-host-tests.lock npx tsx bench/window/run.ts
 * Writes bench/results/window.json. Bounded: every load and command has a deadline. Everything
 * it starts carries the suite label or lives in its temp dirs; a killed run's leftovers (sites,
 * networks, registry, the proxy refit started, images, temp dirs) are swept at the next start.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { runCompose } from '../../src/compose/cli.js';
import { parseConfigText } from '../../src/config/load.js';
import type { PassReport } from '../../src/maintenance/report.js';
import { passConcurrency } from '../../src/maintenance/schedule.js';
import { createProxy } from '../../src/proxy/adapter.js';
import { APP_STOCK_V2, buildAppImage } from '../../test/support/app-image.js';
import { startHarness, type Harness, type TestSite } from '../../test/support/host-harness.js';
import { REPO_ROOT, refitAsync, refitCommand } from '../../test/support/refit-cli.js';
import { suiteLabels, sweepLeftovers } from '../../test/support/compose-project.js';
import { requestThroughProxy } from '../../test/support/site-checks.js';
import { suiteName } from '../../test/support/suite.js';
import { TEST_LABEL } from '../../test/support/web-image.js';
import { startRotatedLoad, type PhaseResult, type RotatedLoad, type RotatedResult } from './load.js';

const MODES = ['refit', 'refit-c1', 'in-place', 'churn'] as const;
type Mode = (typeof MODES)[number];

const { values: opts } = parseArgs({
  options: {
    sites: { type: 'string', default: '100' },
    heavy: { type: 'string', default: '10' },
    modes: { type: 'string', default: 'refit,refit-c1,in-place' },
    concurrency: { type: 'string', default: 'auto' },
    'warmup-s': { type: 'string', default: '30' },
    'steady-s': { type: 'string', default: '60' },
    'after-s': { type: 'string', default: '10' },
    'light-threads': { type: 'string', default: '20' },
    'light-pause-ms': { type: 'string', default: '50' },
    'heavy-pause-ms': { type: 'string', default: '10' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'window.json') },
  },
});
const SITES = Number(opts.sites);
const HEAVY = Math.min(Number(opts.heavy), SITES);
const WARMUP_MS = Number(opts['warmup-s']) * 1000;
const STEADY_MS = Number(opts['steady-s']) * 1000;
const AFTER_MS = Number(opts['after-s']) * 1000;
const PASS_TIMEOUT_MS = 45 * 60_000;
const VERSIONS = ['1.0.0', '1.1.0', '1.2.0', '1.3.0'] as const;

/** Stock configs of the later versions: each release changes app.ini, so every refit update merges. */
const STOCK: Record<string, Record<string, string>> = {
  '1.2.0': { ...APP_STOCK_V2, 'app.ini': APP_STOCK_V2['app.ini']!.replace('wishlist = on\n', 'wishlist = on\ncompare = on\n') },
  '1.3.0': { ...APP_STOCK_V2, 'app.ini': APP_STOCK_V2['app.ini']!.replace('wishlist = on\n', 'wishlist = on\ncompare = on\ngiftcards = on\n') },
};

const SUITE = suiteName('window');
const execAsync = promisify(execFile);
const log = (line: string) => process.stderr.write(`window: ${line}\n`);
const ref = (h: Harness, version: string) => `${h.registry.host}/web:${version}`;

/** The later versions' images carry the suite label, so that a sweep finds them. */
function removeSuiteImages(): void {
  const ids = execFileSync('docker', ['images', '-q', '--filter', `label=${TEST_LABEL}.suite=${SUITE}`]).toString().split('\n').filter(Boolean);
  if (ids.length) execFileSync('docker', ['rmi', '-f', ...new Set(ids)], { stdio: 'ignore' });
}

/**
 * What a killed run leaves besides containers, networks and the registry (startHarness sweeps
 * those): the proxy refit started (stopped by its pid file, checked against its config), the
 * images it built and pulled, and the temp dirs of the harness, the sites and the loads.
 */
async function sweepKilledRun(): Promise<void> {
  sweepLeftovers(SUITE);
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(`refit-${SUITE}-`))) {
    const dir = join(tmpdir(), name);
    const config = join(dir, 'refit.yml');
    if (existsSync(config)) {
      log(`stopping the proxy of a killed run (${config})`);
      await createProxy(parseConfigText(readFileSync(config, 'utf8')).proxy).stop();
    }
    // The harness's images are named after its registry's port (registry-<port>.yml).
    for (const port of readdirSync(dir).flatMap((n) => /^registry-(\d+)\.yml$/.exec(n)?.[1] ?? [])) {
      const refs = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}']).toString().split('\n').filter((r) => r.startsWith(`127.0.0.1:${port}/`) && !r.endsWith(':<none>'));
      if (refs.length) execFileSync('docker', ['rmi', ...refs], { stdio: 'ignore' });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  removeSuiteImages();
}

/** Runs `fn` over `items`, `size` at a time. */
async function eachLimited<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** The first body line a site serves through the proxy (`status N` for a non-200). */
async function firstLine(h: Harness, site: TestSite): Promise<string> {
  const r = await requestThroughProxy(h, site);
  return r.status === 200 ? (r.body.split('\n')[0] ?? '') : `status ${r.status}`;
}

function quantiles(values: number[]): { p50: number; p95: number; max: number } {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)] ?? 0;
  return { p50: Math.round(at(0.5)), p95: Math.round(at(0.95)), max: Math.round(v.at(-1) ?? 0) };
}

/** Peak and sampled resident memory of a process, from /proc (until it exits). */
function watchMemory(pid: number): { stop(): { peakMB: number; samples: { s: number; rssMB: number }[] } } {
  const started = Date.now();
  const samples: { s: number; rssMB: number }[] = [];
  let peakKiB = 0;
  const sample = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
      peakKiB = Math.max(peakKiB, kib('VmHWM'));
      samples.push({ s: Math.round((Date.now() - started) / 100) / 10, rssMB: Math.round((kib('VmRSS') * 1024) / 1e5) / 10 });
    } catch {
      // gone
    }
  };
  sample();
  const timer = setInterval(sample, 250);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakMB: Math.round((peakKiB * 1024) / 1e5) / 10, samples };
    },
  };
}

/** `refit run --json` with its memory watched. */
function refitRun(h: Harness): Promise<{ report: PassReport; ms: number; memory: ReturnType<ReturnType<typeof watchMemory>['stop']> }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(...refitCommand(['run', '--json']), { env: { ...process.env, ...h.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const memory = watchMemory(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), PASS_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const mem = memory.stop();
      try {
        resolve({ report: JSON.parse(stdout) as PassReport, ms: Date.now() - t0, memory: mem });
      } catch {
        reject(new Error(`refit run exited with ${code}: ${stderr.slice(-2000)}`));
      }
    });
  });
}

/**
 * The engine's share of a refit pass alone: per site, two containers of `image` (a shadow's and
 * a recreate's worth) started, waited for until they answer, stopped and removed, one at a time,
 * on a network of their own; the Docker CLI at refit's work priority, as refit runs Compose.
 */
async function churn(image: string, siteCount: number): Promise<{ ms: number; perSiteMs: number[] }> {
  const labels = Object.entries(suiteLabels(SUITE)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const docker = async (...args: string[]) => (await execAsync('nice', ['-n', '10', 'docker', ...args], { timeout: 120_000 })).stdout.trim();
  const network = `${SUITE}-churn`;
  await docker('network', 'create', ...labels, '--subnet', '10.212.0.0/24', network);
  const t0 = Date.now();
  const perSiteMs: number[] = [];
  try {
    for (let i = 0; i < siteCount; i++) {
      if (Date.now() - t0 > PASS_TIMEOUT_MS) throw new Error(`churn: not done after ${PASS_TIMEOUT_MS / 60_000} min`);
      const t = Date.now();
      for (const copy of ['a', 'b']) {
        const name = `${SUITE}-churn-${i}${copy}`;
        await docker('run', '-d', '--name', name, ...labels, '--network', network, image);
        const ip = await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name);
        const deadline = Date.now() + 30_000;
        while (!(await answers(ip))) {
          if (Date.now() > deadline) throw new Error(`churn: ${name} (${image}) did not answer on ${ip}:80 within 30 s`);
          await sleep(50);
        }
        await docker('stop', name);
        await docker('rm', name);
      }
      perSiteMs.push(Date.now() - t);
    }
  } finally {
    const left = (await docker('ps', '-aq', '--filter', `name=${SUITE}-churn-`)).split('\n').filter(Boolean);
    if (left.length) await docker('rm', '-f', ...left);
    await docker('network', 'rm', network);
  }
  return { ms: Date.now() - t0, perSiteMs };
}

/** Whether an HTTP GET / on ip:80 answers 200 within a second. */
function answers(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet({ host: ip, port: 80, path: '/', timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** The recreate in place of today's updaters, site after site, each followed by a proxy sync. */
async function inPlace(h: Harness, sites: TestSite[], from: string, to: string): Promise<{ ms: number; perSiteMs: number[] }> {
  const t0 = Date.now();
  const perSiteMs: number[] = [];
  for (const s of sites) {
    if (Date.now() - t0 > PASS_TIMEOUT_MS) throw new Error(`in-place: not done after ${PASS_TIMEOUT_MS / 60_000} min`);
    const t = Date.now();
    const file = s.files[0]!;
    writeFileSync(file, readFileSync(file, 'utf8').replace(ref(h, from), ref(h, to)));
    await runCompose(s.cli, s, ['up', '-d']);
    const r = await refitAsync(['proxy', 'sync'], h.env, 120_000);
    if (r.code !== 0) throw new Error(`refit proxy sync exited with ${r.code}: ${r.stderr}`);
    perSiteMs.push(Date.now() - t);
  }
  return { ms: Date.now() - t0, perSiteMs };
}

interface RunRecord {
  mode: Mode;
  from: string;
  to: string;
  startedAt: string;
  passMs: number;
  sitesOnWrongVersion: number;
  concurrency?: string | number;
  results?: Record<string, number>;
  notOk?: { container: string; result: string; reason: string }[];
  perSite: { totalMs: ReturnType<typeof quantiles>; steps?: Record<string, ReturnType<typeof quantiles>> };
  refitRss?: { peakMB: number; samples: { s: number; rssMB: number }[] };
}

function latency(p: PhaseResult | undefined) {
  return p ? { requests: p.requests, ...p.latencyMs } : null;
}

function failures(p: PhaseResult | undefined) {
  const sites = Object.entries(p?.sites ?? {});
  const failing = sites.filter(([, s]) => s.failed > 0).map(([host, s]) => ({ host, failed: s.failed, unanswered: s.unanswered, byStatus: s.byStatus }));
  return { sites: sites.length, requests: p?.requests ?? 0, failed: p?.failed ?? 0, sitesWithFailures: failing.length, worst: failing.sort((a, b) => b.failed - a.failed).slice(0, 10) };
}

async function main() {
  const modes = opts.modes.split(',') as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`--modes: ${m} is not one of ${MODES.join(', ')}`);
  const concurrency = opts.concurrency === 'auto' ? 'auto' : Number(opts.concurrency);
  if (!(SITES >= 1 && SITES <= 256)) throw new Error('--sites: from 1 to 256 (one /24 of 10.213.0.0/16 each)');
  await sweepKilledRun();
  const loadBefore = loadavg()[0]!;
  const h = await startHarness(SUITE, { app: 'php', proxy: 'haproxy' });
  const sites: TestSite[] = [];
  let light: RotatedLoad | undefined;
  let heavy: RotatedLoad | undefined;
  try {
    // Built now, pushed only before their mode: with every version in the registry at once,
    // the first pass would take the sites straight to the newest.
    for (const v of ['1.2.0', '1.3.0']) buildAppImage({ tag: ref(h, v), version: v, configs: STOCK[v], labels: { [`${TEST_LABEL}.suite`]: SUITE } });
    // refit's defaults for health checks (the harness's are shortened for tests).
    const config = (c: 'auto' | number) => `${h.configText.replace(/^health: .*\n/m, '')}maintenance: { concurrency: ${c} }\n`;
    log(`starting ${SITES} sites`);
    await eachLimited(
      Array.from({ length: SITES }, (_, i) => i),
      4,
      // Docker's default address pools hold about 30 networks (a host with a hundred sites sets its own).
      async (i) => void sites.push(await h.site('v2', { vhost: `site${i + 1}.${SUITE}.example`, subnet: `10.213.${i}.0/24` })),
    );
    sites.sort((a, b) => a.vhost.localeCompare(b.vhost, 'en', { numeric: true }));
    const sync = await refitAsync(['proxy', 'sync'], h.env, 300_000);
    if (sync.code !== 0) throw new Error(`refit proxy sync: ${sync.stderr}`);

    const url = `http://127.0.0.1:${h.httpPort}`;
    const threads = Math.min(Number(opts['light-threads']), SITES);
    // The loads' outer bound: every mode's stretches and its pass at its deadline.
    const maxMs = WARMUP_MS + modes.length * (STEADY_MS + PASS_TIMEOUT_MS + AFTER_MS + 5 * 60_000);
    light = startRotatedLoad({ name: `${SUITE}-light`, url, maxMs, pauseMs: Number(opts['light-pause-ms']), hostsPerThread: Array.from({ length: threads }, (_, t) => sites.filter((_, i) => i % threads === t).map((s) => s.vhost)) });
    heavy = HEAVY ? startRotatedLoad({ name: `${SUITE}-heavy`, url, maxMs, pauseMs: Number(opts['heavy-pause-ms']), hostsPerThread: sites.slice(0, HEAVY).map((s) => [s.vhost]) }) : undefined;
    const phase = (name: string) => [light, heavy].forEach((l) => l?.phase(name));
    // A hundred sites just started settle for a while (php-fpm children, first requests): not steady yet.
    log(`warm-up ${WARMUP_MS / 1000} s`);
    phase('warmup');
    await sleep(WARMUP_MS);

    const runs: RunRecord[] = [];
    let current = 0;
    for (const mode of modes) {
      // churn updates no site: the sites stay on their version, and its containers run it too.
      const from = VERSIONS[current]!;
      const to = mode === 'churn' ? from : VERSIONS[++current];
      if (!to) throw new Error(`--modes: at most ${VERSIONS.length - 1} modes that update the sites`);
      if (mode !== 'churn' && STOCK[to]) {
        phase('publish');
        log(`pushing ${to}`);
        await execAsync('docker', ['push', '-q', ref(h, to)], { timeout: 300_000 });
        // The sites must pull it from the registry, as on a real host.
        await execAsync('docker', ['rmi', ref(h, to)], { timeout: 60_000 });
      }
      log(`${mode}: steady ${STEADY_MS / 1000} s on ${from}`);
      phase(`${mode}:steady`);
      await sleep(STEADY_MS);
      phase(`${mode}:pass`);
      log(`${mode}: ${from} -> ${to}`);
      const startedAt = new Date().toISOString();
      let run: Omit<RunRecord, 'mode' | 'from' | 'to' | 'startedAt' | 'sitesOnWrongVersion'>;
      if (mode === 'in-place' || mode === 'churn') {
        const r = mode === 'in-place' ? await inPlace(h, sites, from, to) : await churn(ref(h, from), sites.length);
        run = { passMs: r.ms, perSite: { totalMs: quantiles(r.perSiteMs) } };
      } else {
        const c = mode === 'refit-c1' ? 1 : concurrency;
        writeFileSync(h.env.REFIT_CONFIG, config(c));
        const r = await refitRun(h);
        const results: Record<string, number> = {};
        for (const c2 of r.report.containers) results[c2.result] = (results[c2.result] ?? 0) + 1;
        const stepNames = [...new Set(r.report.containers.flatMap((c2) => c2.steps.map((s) => s.step)))];
        const steps = Object.fromEntries(stepNames.map((n) => [n, quantiles(r.report.containers.flatMap((c2) => c2.steps.filter((s) => s.step === n && s.outcome === 'done').map((s) => s.ms)))]));
        const every = Math.max(1, Math.floor(r.memory.samples.length / 40));
        run = {
          concurrency: c === 'auto' ? `auto (${passConcurrency('auto')})` : c,
          passMs: r.ms,
          results,
          notOk: r.report.containers.filter((c2) => c2.result !== 'updated').map((c2) => ({ container: c2.container, result: c2.result, reason: c2.reason })),
          perSite: { totalMs: quantiles(r.report.containers.map((c2) => c2.durationMs)), steps },
          refitRss: { peakMB: r.memory.peakMB, samples: r.memory.samples.filter((_, k) => k % every === 0) },
        };
      }
      phase(`${mode}:after`);
      await sleep(AFTER_MS);
      const wrong: string[] = [];
      for (const s of sites) if ((await firstLine(h, s)) !== h.servesLine(to as '1.1.0')) wrong.push(s.vhost);
      log(`${mode}: ${JSON.stringify({ passMs: run.passMs, wrongVersion: wrong.length })}`);
      runs.push({ mode, from, to, startedAt, ...run, sitesOnWrongVersion: wrong.length });
    }
    phase('end');
    const [lightResult, heavyResult] = await Promise.all([light.stop(), heavy?.stop()]);
    const loadAfter = loadavg()[0]!;

    const measured = runs.map((r) => {
      const m = r.mode;
      const loads = { light: lightResult, ...(heavyResult ? { heavy: heavyResult } : {}) };
      const at = (res: RotatedResult, stretch: string) => res.phases[`${m}:${stretch}`];
      const failedInPass = Object.values(loads).reduce((n, res) => n + failures(at(res, 'pass')).failed, 0);
      const measuredLoads = Object.entries(loads).filter(([, res]) => at(res, 'steady') && at(res, 'pass'));
      const each = (fn: (steady: PhaseResult, pass: PhaseResult) => { text: string; met: boolean }) => {
        const judged = measuredLoads.map(([name, res]) => ({ name, ...fn(at(res, 'steady')!, at(res, 'pass')!) }));
        return { value: judged.map((j) => `${j.name} ${j.text}`).join('; '), met: judged.length > 0 && judged.every((j) => j.met) };
      };
      const latencyGoals = {
        'p99 during the pass at most 2x steady': each((steady, pass) => ({ text: `${pass.latencyMs.p99} ms vs ${steady.latencyMs.p99} ms (${(pass.latencyMs.p99 / steady.latencyMs.p99).toFixed(1)}x)`, met: pass.latencyMs.p99 <= 2 * steady.latencyMs.p99 })),
        'no request slower than 100 ms beyond steady max': each((steady, pass) => ({ text: `max ${Math.round(pass.latencyMs.max)} ms vs ${Math.round(steady.latencyMs.max)} ms (${Math.round(pass.latencyMs.max - steady.latencyMs.max)} ms beyond)`, met: pass.latencyMs.max <= steady.latencyMs.max + 100 })),
      };
      // churn updates nothing: only what its container starts did to the sites' latency.
      const goals = m === 'churn' ? latencyGoals : {
        'all sites updated in under 10 minutes': { value: `${Math.round(r.passMs / 1000)} s, ${r.sitesOnWrongVersion} of ${SITES} sites on the wrong version after it`, met: r.passMs < 600_000 && r.sitesOnWrongVersion === 0 },
        'no failed request on any site': { value: `${failedInPass} failed during the pass`, met: failedInPass === 0 },
        ...latencyGoals,
        ...(r.refitRss ? { 'peak RSS under 150 MB': { value: `${r.refitRss.peakMB} MB`, met: r.refitRss.peakMB < 150 } } : {}),
      };
      const load = Object.fromEntries(
        Object.entries(loads).map(([name, res]) => [
          name,
          {
            latencyMs: { steady: latency(at(res, 'steady')), pass: latency(at(res, 'pass')), after: latency(at(res, 'after')) },
            failures: { steady: failures(at(res, 'steady')), pass: failures(at(res, 'pass')), after: failures(at(res, 'after')) },
          },
        ]),
      );
      return { ...r, load, goals };
    });
    const result = {
      command: `flock /tmp/refit-host-tests.lock npx tsx bench/window/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
      node: process.version,
      date: new Date().toISOString(),
      host: {
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        freeGiBAtEnd: Math.round(freemem() / 2 ** 30),
        loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadAfter.toFixed(2)) },
        docker: execFileSync('docker', ['version', '-f', '{{.Server.Version}}']).toString().trim(),
      },
      setup: {
        sites: SITES,
        app: 'nginx + php-fpm (test/support/app-image.ts), Compose v2 projects, refit HAProxy; health checks at refit defaults (10 attempts, 1000 ms)',
        light: { generator: `one wrk process, ${threads} threads of one kept-alive connection each, every thread rotating over its ${Math.ceil(SITES / threads)} sites, ${opts['light-pause-ms']} ms pause after each response (bench/window/rotate.lua)`, sites: SITES },
        heavy: HEAVY ? { generator: `one wrk process, one kept-alive connection per site, ${opts['heavy-pause-ms']} ms pause after each response`, sites: sites.slice(0, HEAVY).map((s) => s.vhost) } : null,
        steadyMs: STEADY_MS,
        afterMs: AFTER_MS,
        wrkErrors: { light: lightResult.errors, heavy: heavyResult?.errors ?? null },
      },
      runs: measured,
    };
    writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    for (const r of measured) process.stdout.write(`${String(r.mode).padEnd(9)} ${JSON.stringify({ passMs: r.passMs, goals: r.goals })}\n`);
    process.stdout.write(`wrote ${opts.out}\n`);
  } finally {
    await Promise.allSettled([light?.stop(), heavy?.stop()]);
    log('removing the sites');
    await eachLimited(sites, 4, (s) => s.down());
    await h.stop();
    removeSuiteImages();
  }
}

await main();
