/**
 * What refit's server changes cost kept-alive clients in each guest mode (docs/proxy.md): one
 * site behind the operator's proxy (test/support/operator-proxy.ts) with two loopback app
 * servers, under a keep-alive `wrk` load (test/support/wrk.ts accounts for every request),
 * while refit moves traffic between them as an update does: add B, drain + remove A, add A,
 * drain + remove B, `--cycles` times (4 server changes per cycle, as one update). Writes
 * bench/results/guest-reloads.json.
 *
 *   npx tsx bench/guest-reloads/run.ts [--modes haproxy-guest,nginx-guest,nginx-router,caddy,caddy-router] [--cycles 10] [--connections 20]
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createProxy } from '../../src/proxy/adapter.js';
import { freePort } from '../../src/registry/testing/local-registry.js';
import { startOperatorProxy, type GuestMode } from '../../test/support/operator-proxy.js';
import { REPO_ROOT } from '../../test/support/refit-cli.js';
import { startWrk } from '../../test/support/wrk.js';

const { values: opts } = parseArgs({
  options: {
    modes: { type: 'string', default: 'haproxy-guest,nginx-guest,nginx-router,caddy,caddy-router' },
    cycles: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'guest-reloads.json') },
  },
});

async function app(): Promise<{ port: number; close(): void }> {
  const port = await freePort();
  const server = createServer((_req, res) => res.end(`app ${port}\n`));
  // Longer than any proxy's upstream keep-alive, so the app never closes under the proxy.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, close: () => server.close() };
}

async function oneMode(mode: GuestMode, cycles: number, connections: number) {
  const dir = mkdtempSync(join(tmpdir(), 'refit-bench-guest-'));
  chmodSync(dir, 0o755);
  const apps = [await app(), await app()];
  const op = await startOperatorProxy(mode, join(dir, mode), [{ id: 'bench.web', vhost: 'bench.example' }]);
  const proxy = createProxy(op.proxyConfig);
  const [a, b] = apps.map((x, i) => ({ name: `app${i}`, ip: '127.0.0.1', port: x.port }));
  try {
    await proxy.apply([{ id: 'bench.web', vhosts: ['bench.example'], servers: [a!] }]);
    const load = startWrk({ url: `http://127.0.0.1:${op.httpPort}`, host: 'bench.example', threads: 2, connections, durationMs: 600_000 });
    await load.started;
    const started = Date.now();
    for (let i = 0; i < cycles; i++) {
      for (const [incoming, outgoing] of [[b!, a!], [a!, b!]] as const) {
        await proxy.add('bench.web', incoming);
        await proxy.drain('bench.web', outgoing, { timeoutMs: 10_000 });
        await proxy.remove('bench.web', outgoing);
      }
    }
    const ms = Date.now() - started;
    const r = await load.stop();
    const changes = cycles * 4;
    return { mode, changes, ms, requests: r.sent, ok: r.ok, failed: r.failed, failedPerChange: Math.round((r.failed / changes) * 100) / 100, unanswered: r.unanswered, byStatus: r.byStatus, errors: r.errors, latencyMs: r.latencyMs };
  } finally {
    await proxy.stop();
    await op.stop();
    apps.forEach((x) => x.close());
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const mode of opts.modes.split(',') as GuestMode[]) {
  process.stderr.write(`guest-reloads: ${mode}\n`);
  results.push(await oneMode(mode, Number(opts.cycles), Number(opts.connections)));
}
mkdirSync(dirname(opts.out), { recursive: true });
writeFileSync(
  opts.out,
  `${JSON.stringify({ command: `npx tsx bench/guest-reloads/run.ts --modes ${opts.modes} --cycles ${opts.cycles} --connections ${opts.connections}`, date: new Date().toISOString(), host: { cpus: cpus().length, loadavg: loadavg() }, results }, null, 2)}\n`,
);
for (const r of results) process.stdout.write(`${r.mode.padEnd(14)} ${r.changes} changes, ${r.requests} requests, failed ${r.failed} (${r.failedPerChange} per change)\n`);
