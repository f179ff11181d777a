/**
 * 500 simulated hosts each report one maintenance pass to a real PostgreSQL (a cluster of its
 * own, fsync on), through refit's own code: every host has its own journal (SQLite, with the
 * outbox), opens the fleet as `refit run` does, asks the gate for each of its 3 sites, writes
 * the maintenances to its journal (reports of the usual size), finishes the pass and closes,
 * which drains the outbox. 10 canary hosts go first, then 490 hosts in waves 1–4 (soak 0), 25
 * at a time. Measured: the database's load (pg_stat_statements: statements, calls, rows, time;
 * pg_stat_database: transactions, tuples), each host's pass time, and `refit fleet status` /
 * `refit fleet history` through the built CLI on the result.
 * Writes bench/results/fleet.json.
 *
 *   npm run build && npx tsx bench/fleet/fleet-500.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { fleetSchema } from '../../src/config/schema.js';
import { openFleet } from '../../src/fleet/fleet.js';
import { openJournal } from '../../src/journal/journal.js';
import type { JsonValue } from '../../src/journal/types.js';
import type { ContainerReport, PassReport } from '../../src/maintenance/report.js';
import type { Notifier } from '../../src/notify/notifier.js';
import { siteFor } from '../../src/registry/testing/sites.js';
import { startPostgres } from '../../test/support/postgres.js';
import { refitCommand } from '../../test/support/refit-cli.js';

const HOSTS = 500;
const CANARIES = 10;
const WAVES = 4;
const SITES_PER_HOST = 3;
const AT_ONCE = 25;
const REPOS = ['bench.example/web', 'bench.example/api', 'bench.example/shop'];
const digestOf = (repo: string) => `sha256:${Buffer.from(repo).toString('hex').padEnd(64, '0').slice(0, 64)}`;

const silent = pino({ level: 'silent' });
const noNotifier: Notifier = { pass() {}, incident() {}, hold() {}, flush: async () => ({ delivered: 0, failed: 0, abandoned: 0 }) };

/** A container report of the usual size (~2.5 KB as JSON): step timings, a merge, health attempts, drains. */
function report(container: string, repo: string): ContainerReport {
  const steps = ['pull', 'scratch', 'stock-configs', 'merge', 'override', 'shadow', 'shadow-health', 'shadow-traffic', 'config-backup', 'drain-original', 'config-install', 'image-ref', 'recreate-original', 'original-health', 'original-traffic', 'retire-shadow', 'remove-scratch'];
  const attempt = (n: number) => ({ number: n, passed: true, ms: 12, requests: [{ path: '/refit/health', host: `${container}.example`, status: 200, ms: 3 }] });
  return {
    container,
    project: container,
    service: 'web',
    result: 'updated',
    reason: `updated ${repo}:1.0.0 -> ${repo}:1.1.0`,
    from: { reference: `${repo}:1.0.0`, imageId: `sha256:${'1'.repeat(64)}` },
    to: { reference: `${repo}:1.1.0`, digest: digestOf(repo), imageId: `sha256:${'2'.repeat(64)}` },
    steps: steps.map((step) => ({ step, outcome: 'done', ms: 123.4 })),
    merge: { items: ['site.conf', 'httpd.conf', 'extra.conf', 'new.conf'].map((path) => ({ path, outcome: 'took-latest' })) } as unknown as ContainerReport['merge'],
    health: { shadow: { healthy: true, attempts: [attempt(1)] }, original: { healthy: true, attempts: [attempt(1), attempt(2)] } } as unknown as ContainerReport['health'],
    drains: [{ server: container, result: { drained: true, waitedMs: 210, remainingSessions: 0 } }],
    notes: [],
    durationMs: 8123,
  };
}


/** One host's pass as refit runs it, minus Docker: gate, journal, pass end, close (drains the outbox). */
async function hostPass(i: number, root: string, url: string, passwordFile: string): Promise<{ ms: number; admitted: number }> {
  const t0 = performance.now();
  const wave = i < CANARIES ? 'canary' : 1 + ((i - CANARIES) % WAVES);
  const config = fleetSchema.parse({ enabled: true, database: { url, passwordFile }, host: `host-${String(i).padStart(3, '0')}`, wave, thresholds: { soakMs: 0, minReports: 1, maxFailureRate: 0.1 } });
  const journal = openJournal(join(root, `host-${i}`));
  const fleet = openFleet({ config, journalFile: journal.file, logger: silent, notifier: noNotifier, publish: false });
  const runId = journal.beginRun('run');
  const containers: ContainerReport[] = [];
  let admitted = 0;
  for (let s = 0; s < SITES_PER_HOST; s++) {
    const repo = REPOS[s]!;
    const name = `h${i}-site${s}`;
    const verdict = await fleet.gate.admit(siteFor(name, `${repo}:1.0.0`, 'minor'), { reference: `${repo}:1.1.0`, digest: digestOf(repo) });
    const r = report(name, repo);
    const id = journal.beginMaintenance(runId, { container: name, project: name, service: 'web', imageBefore: r.from.reference, imageAfter: r.to!.reference });
    if (verdict.admit) {
      admitted++;
      journal.finishMaintenance(id, { status: 'updated', reason: r.reason, report: r as unknown as JsonValue });
      containers.push(r);
    } else {
      const skipped = { ...r, result: 'skipped' as const, reason: verdict.reason, steps: [] };
      journal.finishMaintenance(id, { status: 'skipped', reason: verdict.reason, report: skipped as unknown as JsonValue });
      containers.push(skipped);
    }
  }
  journal.finishRun(runId, 'success');
  const pass: PassReport = { runId, kind: 'run', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), recovered: [], containers, ok: true };
  fleet.passFinished(pass);
  await fleet.close();
  journal.close();
  return { ms: performance.now() - t0, admitted };
}

function quantiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 10) / 10;
  return { n: s.length, p50: q(0.5), p95: q(0.95), max: Math.round(s.at(-1)! * 10) / 10 };
}

function cli(args: string[], env: NodeJS.ProcessEnv) {
  const t0 = performance.now();
  const r = spawnSync(...refitCommand(args), { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`refit ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, bytes: Buffer.byteLength(r.stdout), stdout: r.stdout };
}

const root = mkdtempSync(join(tmpdir(), 'refit-bench-fleet-'));
const pgc = await startPostgres({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
try {
  await pgc.createDatabase('fleet');
  await pgc.admin('fleet', 'CREATE EXTENSION pg_stat_statements');
  const passwordFile = join(root, 'password');
  writeFileSync(passwordFile, pgc.role.password, { mode: 0o600 });
  const url = pgc.url('fleet');
  await pgc.admin('fleet', 'SELECT pg_stat_statements_reset(), pg_stat_reset()');
  const before = (await pgc.admin<Record<string, string>>('fleet', `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched, tup_returned FROM pg_stat_database WHERE datname = 'fleet'`))[0]!;

  const t0 = performance.now();
  const passes: { ms: number; admitted: number }[] = [];
  for (let i = 0; i < CANARIES; i++) passes.push(await hostPass(i, root, url, passwordFile));
  for (let start = CANARIES; start < HOSTS; start += AT_ONCE) {
    passes.push(...(await Promise.all(Array.from({ length: Math.min(AT_ONCE, HOSTS - start) }, (_, k) => hostPass(start + k, root, url, passwordFile)))));
  }
  const allPassesMs = performance.now() - t0;

  const after = (await pgc.admin<Record<string, string>>('fleet', `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched, tup_returned FROM pg_stat_database WHERE datname = 'fleet'`))[0]!;
  const statements = await pgc.admin<{ query: string; calls: string; rows: string; ms: number }>(
    'fleet',
    `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls, rows, round(total_exec_time::numeric, 1)::float AS ms
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'fleet' ORDER BY total_exec_time DESC`,
  );
  const counts = await pgc.admin<Record<string, string>>(
    'fleet',
    `SELECT (SELECT count(*) FROM refit.hosts) AS hosts, (SELECT count(*) FROM refit.runs) AS runs, (SELECT count(*) FROM refit.maintenances) AS maintenances,
            (SELECT count(*) FROM refit.sites) AS sites, pg_size_pretty(pg_database_size('fleet')) AS "databaseSize"`,
  );

  const env = { REFIT_CONFIG: join(root, 'refit.yml') };
  writeFileSync(env.REFIT_CONFIG, `stateDir: ${join(root, 'cli-state')}\nfleet:\n  database: { url: "${url}", passwordFile: ${passwordFile} }\n  thresholds: { soakMs: 0 }\n`);
  const runs = (args: string[]) => {
    const times = [1, 2, 3].map(() => cli(args, env));
    return { command: `refit ${args.join(' ')}`, wallMs: quantiles(times.map((t) => t.ms)), outputBytes: times[0]!.bytes };
  };
  const status = runs(['fleet', 'status', '--json']);
  const statusText = runs(['fleet', 'status']);
  const history = runs(['fleet', 'history', '--json', '--limit', '100']);
  const version = cli(['--version'], env);

  const delta = (k: string) => Number(after[k]) - Number(before[k]);
  const totalCalls = statements.reduce((n, s) => n + Number(s.calls), 0);
  const out = {
    command: 'npm run build && npx tsx bench/fleet/fleet-500.ts',
    date: new Date().toISOString(),
    node: process.version,
    postgres: (await pgc.admin<{ v: string }>('postgres', "SELECT current_setting('server_version') AS v"))[0]!.v,
    host: '2 cores, shared with other work (load average at the start below): treat times as rough numbers; statement and row counts are exact',
    loadAverage1m: loadavg()[0],
    setup: {
      hosts: HOSTS,
      canaries: CANARIES,
      waves: WAVES,
      sitesPerHost: SITES_PER_HOST,
      repositories: REPOS.length,
      hostsAtOnce: AT_ONCE,
      thresholds: { soakMs: 0, minReports: 1, maxFailureRate: 0.1 },
      perHostPass: 'open the fleet, ask the gate for each site (1 statement), journal the maintenances (reports ~2.5 KB), finish the run, queue the site versions, close (drain the outbox: 1 transaction)',
      postgresFsync: true,
    },
    passes: {
      allHostsMs: Math.round(allPassesMs),
      perHostMs: quantiles(passes.map((p) => p.ms)),
      sitesAdmitted: passes.reduce((n, p) => n + p.admitted, 0),
    },
    database: {
      // Statements refit sent (pg_stat_statements, top level: foreign-key checks inside them are not counted).
      statements: { total: totalCalls, perHost: Math.round((totalCalls / HOSTS) * 10) / 10, totalExecMs: Math.round(statements.reduce((n, s) => n + s.ms, 0)) },
      transactions: { committed: delta('xact_commit'), rolledBack: delta('xact_rollback') },
      tuples: { inserted: delta('tup_inserted'), updated: delta('tup_updated'), fetched: delta('tup_fetched'), returned: delta('tup_returned') },
      rowsAfter: counts[0],
      topStatementsByTime: statements.slice(0, 8).map((s) => ({ query: s.query.slice(0, 140), calls: Number(s.calls), rows: Number(s.rows), totalMs: s.ms })),
    },
    fleetStatus: { json: status, text: statusText },
    fleetHistory: history,
    cliStartupMs: Math.round(version.ms),
  };
  writeFileSync(new URL('../results/fleet.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
} finally {
  pgc.stop();
  rmSync(root, { recursive: true, force: true });
}
