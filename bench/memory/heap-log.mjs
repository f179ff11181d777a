/* global process, setInterval */
/**
 * Where a `refit run` process's memory goes, sampled every 100 ms: preload it into a bench
 * (NODE_OPTIONS reaches every node process; only `dist/cli/main.js run` logs):
 *
 *   MEMLOG_DIR=/tmp/m NODE_OPTIONS="--import $PWD/bench/memory/heap-log.mjs" \
 *     flock /tmp/refit-host-tests.lock npx tsx bench/window/run.ts --sites 10 ...
 *
 * Writes MEMLOG_DIR/run-PID.jsonl: per sample the RSS, V8's heap (total, used, each space),
 * external and ArrayBuffer memory in MB; at exit VmHWM (KiB), CPU time (µs) and node's flags.
 * An RSS jump with the heap unchanged is memory outside V8's heap (see bench/results/memory.json).
 */
import fs from 'node:fs';
import v8 from 'node:v8';

const argv = process.argv.join(' ');
if (process.env.MEMLOG_DIR && /dist\/cli\/main\.js run\b/.test(argv)) {
  const file = `${process.env.MEMLOG_DIR}/run-${process.pid}.jsonl`;
  const t0 = Date.now();
  const mb = (bytes) => Math.round(bytes / 1048576 * 10) / 10;
  const sample = () => {
    const u = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), mb(s.space_size)]));
    fs.appendFileSync(file, `${JSON.stringify({ t: Date.now() - t0, rss: mb(u.rss), heapTotal: mb(u.heapTotal), heapUsed: mb(u.heapUsed), external: mb(u.external), arrayBuffers: mb(u.arrayBuffers), spaces })}\n`);
  };
  setInterval(sample, 100).unref();
  sample();
  process.on('exit', () => {
    sample();
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
    fs.appendFileSync(file, `${JSON.stringify({ vmHwmKiB: hwm, cpuUs: process.cpuUsage(), execArgv: process.execArgv })}\n`);
  });
}
