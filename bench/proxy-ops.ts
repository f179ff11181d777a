/**
 * How long proxy operations take, HAProxy (runtime API) against nginx (reload), with requests
 * flowing all the time: N add/drain/remove cycles of a second server next to a steady one,
 * two loopback node backends, one client loop. Every request must succeed.
 * Run: npx tsx bench/proxy-ops.ts [cycles]   -> bench/results/proxy-ops.json
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proxySchema } from '../src/config/schema.js';
import { createProxy } from '../src/proxy/adapter.js';

const cycles = Number(process.argv[2] ?? 20);
const PORT = { http: 38180, https: 38543, a: 38101, b: 38102 };

function backend(port: number, name: string): Promise<Server> {
  return new Promise((resolve) => {
    const srv = createServer((_req, res) => res.end(name)).listen(port, '127.0.0.1', () => resolve(srv));
  });
}

function get(): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: PORT.http, path: '/', agent: false, headers: { host: 'bench.example' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(-1));
    req.end();
  });
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: round(s[Math.floor(s.length / 2)]!), p95: round(s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]!), max: round(s[s.length - 1]!) };
};

async function measure(kind: 'haproxy' | 'nginx') {
  const dir = mkdtempSync(join(tmpdir(), 'refit-bench-proxy-'));
  const proxy = createProxy(proxySchema.parse({ type: kind, [kind]: { runDir: dir, bind: '127.0.0.1', httpPort: PORT.http, httpsPort: PORT.https, certDir: join(dir, 'none') } }));
  const a = { name: 'a', ip: '127.0.0.1', port: PORT.a };
  const b = { name: 'b', ip: '127.0.0.1', port: PORT.b };
  const t = { apply: [] as number[], add: [] as number[], drain: [] as number[], remove: [] as number[] };
  const time = async (what: keyof typeof t, fn: () => Promise<unknown>) => {
    const start = performance.now();
    await fn();
    t[what].push(performance.now() - start);
  };
  let done = false;
  const codes: number[] = [];
  try {
    await time('apply', () => proxy.apply([{ id: 'bench.web', vhosts: ['bench.example'], servers: [a] }]));
    const client = (async () => {
      while (!done && codes.length < 200_000) codes.push(await get());
    })();
    for (let i = 0; i < cycles; i++) {
      await time('add', () => proxy.add('bench.web', b));
      await time('drain', () => proxy.drain('bench.web', b, { timeoutMs: 10_000 }));
      await time('remove', () => proxy.remove('bench.web', b));
      if (i % 5 === 0) await time('apply', () => proxy.apply([{ id: 'bench.web', vhosts: ['bench.example'], servers: [a] }]));
    }
    done = true;
    await client;
  } finally {
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    ms: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { n: v.length, ...stats(v) }])),
    requests: codes.length,
    failed: codes.filter((c) => c !== 200).length,
  };
}

const servers = await Promise.all([backend(PORT.a, 'a'), backend(PORT.b, 'b')]);
const result = {
  command: `npx tsx bench/proxy-ops.ts ${cycles}`,
  date: new Date().toISOString(),
  host: '2 cores, Debian 12, HAProxy 2.6, nginx 1.22',
  cycles,
  haproxy: await measure('haproxy'),
  nginx: await measure('nginx'),
};
servers.forEach((s) => s.close());
writeFileSync(join(import.meta.dirname, 'results', 'proxy-ops.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
