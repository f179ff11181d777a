/**
 * `refit daemon` on a real host: in an open maintenance window it runs a pass; SIGTERM in the
 * middle of a container's maintenance lets that container finish, starts no other, and exits 0.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/host-harness.js';
import { refitAsync, refitCommand } from './support/refit-cli.js';
import { suiteName } from './support/suite.js';

const SUITE = suiteName('daemon');
let h: Harness;

beforeAll(async () => {
  h = await startHarness(SUITE);
});
afterAll(async () => h?.stop());

describe('refit daemon', () => {
  it('SIGTERM during a maintenance: that container finishes, no other starts, exit 0', async () => {
    const first = await h.site('v2');
    const second = await h.site('v2');
    // A window that is open now: every minute, one hour long; one maintenance at a time, so the second waits.
    const config = join(h.stateDir, '..', 'daemon.yml');
    writeFileSync(config, `${h.configText}schedule: { cron: "* * * * *", windowMinutes: 60 }\nmaintenance: { concurrency: 1 }\n`);
    const daemon = spawn(...refitCommand(['daemon']), { env: { ...process.env, REFIT_CONFIG: config }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const exited = new Promise<number | null>((resolve) => daemon.on('close', (code) => resolve(code)));
    try {
      // Stop it as soon as the first container's shadow has started.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the daemon never started a shadow:\n${log}`)), 120_000);
        const watch = (d: Buffer) => {
          log += d.toString();
          if (/"step":"shadow","phase":"done"/.test(log)) {
            clearTimeout(timer);
            resolve();
          }
        };
        daemon.stdout.on('data', watch);
        daemon.stderr.on('data', watch);
      });
      daemon.kill('SIGTERM');
      expect(await exited, log).toBe(0);
      const history = await refitAsync(['history', '--json'], { REFIT_CONFIG: config });
      const maintained = history.json<{ maintenances: { container: string; status: string }[] }>().maintenances;
      // One container was maintained to the end (updated), the other never started.
      expect(maintained).toHaveLength(1);
      expect(maintained[0]!.status).toBe('updated');
      expect([first.container, second.container]).toContain(maintained[0]!.container);
      expect(log).toMatch(/not started: refit is stopping/);
      expect(h.shadows()).toEqual([]);
    } finally {
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
      await first.down();
      await second.down();
    }
  });
});
