import { describe, expect, it } from 'vitest';
import { runDaemon, type DaemonDeps } from './daemon.js';
import type { PassReport } from './report.js';

const schedule = { cron: '0 3 * * 0', timezone: 'UTC', windowMinutes: 60 };
const report = (): PassReport => ({ runId: 1, kind: 'daemon', startedAt: '', finishedAt: '', recovered: [], containers: [], ok: true });

/** A fake clock: sleeping moves time forward; `passMinutes` is how long a pass takes. */
function fakeDeps(start: string, opts: { passMinutes?: number; stopAfterPasses?: number; stop: AbortController }) {
  let now = new Date(start).getTime();
  const log: string[] = [];
  const mayStartAnswers: (string | null)[] = [];
  const deps: DaemonDeps = {
    schedule,
    now: () => new Date(now),
    async sleep(ms) {
      log.push(`sleep ${Math.round(ms / 60_000)}m`);
      now += ms;
    },
    async pass(mayStart) {
      log.push(`pass at ${new Date(now).toISOString()}`);
      mayStartAnswers.push(mayStart());
      now += (opts.passMinutes ?? 10) * 60_000;
      mayStartAnswers.push(mayStart());
      return report();
    },
    onPass() {
      if (log.filter((l) => l.startsWith('pass')).length >= (opts.stopAfterPasses ?? 2)) opts.stop.abort();
    },
  };
  return { deps, log, mayStartAnswers };
}

describe('daemon', () => {
  it('runs one pass per window, at the window start', async () => {
    const stop = new AbortController();
    const { deps, log } = fakeDeps('2026-11-26T12:00:00Z', { stop });
    expect(await runDaemon(deps, stop.signal)).toBe(2);
    expect(log).toEqual(['sleep 3780m', 'pass at 2026-11-29T03:00:00.000Z', 'sleep 50m', 'sleep 10020m', 'pass at 2026-12-06T03:00:00.000Z']);
  });

  it('starts at once inside an open window, and stops starting containers when it closes', async () => {
    const stop = new AbortController();
    const { deps, log, mayStartAnswers } = fakeDeps('2026-11-29T03:30:00Z', { stop, passMinutes: 45, stopAfterPasses: 1 });
    await runDaemon(deps, stop.signal);
    expect(log[0]).toBe('pass at 2026-11-29T03:30:00.000Z');
    expect(mayStartAnswers).toEqual([null, 'the maintenance window closed']);
  });

  it('stops between containers when told to', async () => {
    const stop = new AbortController();
    const { deps, mayStartAnswers } = fakeDeps('2026-11-29T03:00:00Z', { stop, stopAfterPasses: 1 });
    const pass = deps.pass;
    deps.pass = async (mayStart) => {
      stop.abort();
      return pass(mayStart);
    };
    expect(await runDaemon(deps, stop.signal)).toBe(1);
    expect(mayStartAnswers).toEqual(['refit is stopping', 'refit is stopping']);
  });

  it('a pass that could not run (another refit holds the host) is tried again while the window is open', async () => {
    const stop = new AbortController();
    const { deps, log } = fakeDeps('2026-11-29T03:00:00Z', { stop, stopAfterPasses: 1 });
    const errors: string[] = [];
    let refusals = 2;
    const pass = deps.pass;
    deps.pass = async (mayStart) => {
      if (refusals-- > 0) throw new Error('another refit holds the host lock');
      return pass(mayStart);
    };
    deps.onPassError = (err) => errors.push((err as Error).message);
    deps.retryMs = 60_000;
    expect(await runDaemon(deps, stop.signal)).toBe(1);
    expect(errors).toEqual(['another refit holds the host lock', 'another refit holds the host lock']);
    expect(log.slice(0, 3)).toEqual(['sleep 1m', 'sleep 1m', 'pass at 2026-11-29T03:02:00.000Z']);
  });
});
