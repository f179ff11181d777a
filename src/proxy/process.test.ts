import { describe, expect, it } from 'vitest';
import { getPriority } from 'node:os';
import { niceOf } from '../../test/support/proc-nice.js';
import { lowerWork } from '../priority/priority.js';
import { parseProcStat, processAlive, runTool, serial, waitFor } from './process.js';

describe('parseProcStat', () => {
  it('reads pid, state and parent even when the name holds spaces and parentheses', () => {
    expect(parseProcStat('4242 (nginx: worker (x)) S 4200 4200 4200 0 -1')).toEqual({ pid: 4242, state: 'S', ppid: 4200 });
    expect(parseProcStat('garbage')).toBeNull();
  });
});

describe('waitFor', () => {
  it('returns the first defined value, or undefined after the deadline', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : undefined), 5_000, 1)).toBe(3);
    expect(await waitFor(() => undefined, 20, 5)).toBeUndefined();
  });
});

describe('serial', () => {
  it('runs one function at a time in call order, and a failure does not block the next', async () => {
    const run = serial();
    const log: string[] = [];
    const slow = run(async () => {
      await new Promise((r) => setTimeout(r, 20));
      log.push('first');
    });
    const failing = run(async () => {
      log.push('second');
      throw new Error('boom');
    });
    const third = run(async () => log.push('third'));
    await slow;
    await expect(failing).rejects.toThrow('boom');
    await third;
    expect(log).toEqual(['first', 'second', 'third']);
  });
});

describe('runTool', () => {
  it('is done when the command exits, though a process it forked (a daemonizing proxy) still holds its output', async () => {
    const out = await runTool('sh', ['-c', 'sleep 60 & echo $!'], 'starting a daemon');
    const daemon = Number(out.trim());
    try {
      expect(processAlive(daemon)).toBe(true);
    } finally {
      process.kill(daemon, 'SIGKILL');
    }
  });

  it('quotes the command and the last lines of its output when it fails, and names a binary that is not there', async () => {
    await expect(runTool('sh', ['-c', 'echo "line 1"; echo "[ALERT] bad bind" >&2; exit 3'], 'starting haproxy', 'check the ports')).rejects.toThrow(
      /starting haproxy failed: `sh -c .*`: line 1 \| \[ALERT\] bad bind/,
    );
    await expect(runTool('refit-no-such-proxy', ['-v'], 'asking its version')).rejects.toThrow(/refit-no-such-proxy is not installed/);
  });

  it('runs a config check at the work priority, and still names a binary that is not there', async () => {
    const { nice } = lowerWork(getPriority() + 5);
    const stat = await runTool('sh', ['-c', 'cat /proc/self/stat'], 'checking a config', undefined, { atWorkPriority: true });
    expect(niceOf(stat)).toBe(nice);
    expect(niceOf(await runTool('sh', ['-c', 'cat /proc/self/stat'], 'starting the proxy'))).toBe(getPriority());
    await expect(runTool('refit-no-such-proxy', ['-t'], 'checking a config', undefined, { atWorkPriority: true })).rejects.toThrow(/checking a config failed: `refit-no-such-proxy -t`: refit-no-such-proxy is not installed/);
  });
});
