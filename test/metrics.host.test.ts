/**
 * The daemon's /metrics after a REAL pass: `refit daemon` with metrics on a free loopback port
 * and a maintenance window open now updates a harness site (real registry, HAProxy, Compose),
 * then the exposition shows the pass, the update by result, step durations and the last
 * successful pass time. SIGTERM stops it with exit 0.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort } from '../src/registry/testing/local-registry.js';
import { startHarness, type Harness, type TestSite } from './support/host-harness.js';
import { refitCommand } from './support/refit-cli.js';
import { suiteName } from './support/suite.js';

const SUITE = suiteName('metrics');
let h: Harness;
let site: TestSite;

beforeAll(async () => {
  h = await startHarness(SUITE);
  site = await h.site('v2');
});

afterAll(async () => {
  await site?.down();
  await h?.stop();
});

/** The harness config plus a window open now, metrics on `port`, and only this suite's images (other suites' sites share the host). */
function daemonConfig(port: number): string {
  const config = parse(readFileSync(h.env.REFIT_CONFIG, 'utf8')) as Record<string, unknown>;
  const file = join(dirname(h.env.REFIT_CONFIG), 'refit-daemon.yml');
  const now = new Date();
  writeFileSync(
    file,
    stringify({
      ...config,
      // One window, opened this minute, for an hour: exactly one pass (a window every minute opened a second pass while the test read the first).
      schedule: { cron: `${now.getUTCMinutes()} ${now.getUTCHours()} * * *`, timezone: 'UTC', windowMinutes: 60 },
      metrics: { enabled: true, listen: `127.0.0.1:${port}` },
      images: { labels: [], references: [`${h.registry.host}/web:*`] },
    }),
  );
  return file;
}

/** `name{labels} value` lines of a Prometheus exposition, by series. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function scrape(port: number): Promise<{ contentType: string | null; series: Map<string, number> }> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(r.status).toBe(200);
  return { contentType: r.headers.get('content-type'), series: samples(await r.text()) };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('refit daemon metrics after a real pass', () => {
  it('exposes the pass, the update, step durations and the last successful pass time; SIGTERM exits 0', async () => {
    const port = await freePort();
    const startedAt = Date.now() / 1000;
    const daemon = spawn(...refitCommand(['daemon']), {
      env: { ...process.env, REFIT_CONFIG: daemonConfig(port), REFIT_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    daemon.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    daemon.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    try {
      // One pass (pull, shadow, swap) takes well under two minutes here; poll once a second, bounded.
      let series = new Map<string, number>();
      for (let i = 0; i < 180 && daemon.exitCode === null; i++) {
        await sleep(1000);
        const scraped = await scrape(port).catch(() => null);
        if (scraped) series = scraped.series;
        if ((series.get('refit_passes_total{outcome="ok"}') ?? 0) + (series.get('refit_passes_total{outcome="problems"}') ?? 0) >= 1) break;
      }
      expect(daemon.exitCode, logs).toBeNull();
      const { contentType } = await scrape(port);
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

      expect(series.get('refit_passes_total{outcome="ok"}'), logs).toBe(1);
      expect(series.get('refit_passes_total{outcome="problems"}')).toBe(0);
      expect(series.get('refit_updates_total{result="updated"}')).toBe(1);
      for (const result of ['rolled-back', 'failed', 'skipped', 'current']) expect(series.get(`refit_updates_total{result="${result}"}`)).toBe(0);
      expect(series.get('refit_rollbacks_total')).toBe(0);
      for (const step of ['pull', 'merge', 'shadow', 'shadow-health', 'drain-original', 'recreate-original', 'original-health', 'retire-shadow']) {
        expect(series.get(`refit_step_duration_seconds_count{step="${step}"}`), step).toBe(1);
        expect(series.get(`refit_step_duration_seconds_sum{step="${step}"}`), step).toBeGreaterThan(0);
        expect(series.get(`refit_step_duration_seconds_bucket{le="+Inf",step="${step}"}`), step).toBe(1);
      }
      const lastSuccess = series.get('refit_last_successful_pass_timestamp_seconds')!;
      expect(lastSuccess).toBeGreaterThan(startedAt);
      expect(lastSuccess).toBeLessThanOrEqual(Date.now() / 1000);
      expect(series.get('refit_process_resident_memory_bytes')).toBeGreaterThan(0);

      // The pass really happened: the site runs the new image.
      expect(logs).toMatch(/"msg":"daemon #\d+: 1 updated"/);
      expect(execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', site.container]).toString().trim()).toBe(h.ref('web', '1.1.0'));

      daemon.kill('SIGTERM');
      const end = await Promise.race([exited(daemon), sleep(60_000).then(() => null)]);
      expect(end, logs).toEqual({ code: 0, signal: null });
      await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    } finally {
      if (daemon.exitCode === null && daemon.signalCode === null) {
        daemon.kill('SIGKILL');
        await exited(daemon);
      }
    }
  });
});
