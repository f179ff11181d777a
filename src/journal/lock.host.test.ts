/**
 * The host lock against real processes: a live holder blocks (and is named), a SIGKILLed holder
 * or a reused pid is taken over, and of several processes racing for a stale lock exactly one wins.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireHostLock, processStartTime, type LockHolder } from './lock.js';

const lockModule = fileURLToPath(new URL('./lock.ts', import.meta.url));
// A refit stand-in: waits until START_AT, tries the lock, prints the outcome, holds for HOLD_MS, exits.
const holderScript = `
import { acquireHostLock } from ${JSON.stringify(lockModule)};
const wait = Number(process.env.START_AT) - Date.now();
if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
try {
  const lock = acquireHostLock(process.env.STATE_DIR, { command: process.env.CMD });
  console.log('acquired');
  setTimeout(() => { lock.release(); process.exit(0); }, Number(process.env.HOLD_MS));
} catch (err) {
  console.log('refused: ' + err.message);
}
`;

let dir: string;
const children: ChildProcess[] = [];

function holder(cmd: string, opts: { startAt?: number; holdMs?: number } = {}): { child: ChildProcess; outcome: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', holderScript], {
    env: { ...process.env, STATE_DIR: dir, CMD: cmd, START_AT: String(opts.startAt ?? 0), HOLD_MS: String(opts.holdMs ?? 20_000) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const outcome = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => resolve(out.trim() || `exited ${code} without an outcome`));
    child.on('error', reject);
  });
  return { child, outcome };
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'refit-lock-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await exited(c);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('host lock', () => {
  it('refuses while another process holds it, naming pid, command and since; takes it over once that process is SIGKILLed', async () => {
    const h = holder('refit daemon');
    expect(await h.outcome).toBe('acquired');

    expect(() => acquireHostLock(dir, { command: 'refit run' })).toThrow(
      new RegExp(`^another refit holds the host lock: pid ${h.child.pid} \\(refit daemon\\) on ${hostname()}, since \\d{4}-\\d\\d-\\d\\dT`),
    );

    h.child.kill('SIGKILL');
    await exited(h.child);
    const lock = acquireHostLock(dir, { command: 'refit run' });
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid, command: 'refit run' });
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
    lock.release();
  });

  it('takes over a lock whose pid was reused by another process, but not one whose pid and start time match', async () => {
    const sleeper = spawn('sleep', ['30']);
    children.push(sleeper);
    const pid = sleeper.pid!;
    const file = join(dir, 'refit.lock');
    const write = (startTime: string | null) => {
      const h: LockHolder = { pid, startTime, command: 'refit run', since: '2025-01-05T03:00:00.000Z', host: hostname() };
      writeFileSync(file, JSON.stringify(h));
    };

    write(processStartTime(pid));
    expect(() => acquireHostLock(dir, { command: 'refit recover' })).toThrow(`another refit holds the host lock: pid ${pid} (refit run)`);

    write('1'); // the same pid, started at another time: a different process
    const lock = acquireHostLock(dir, { command: 'refit recover' });
    expect(lock.holder.pid).toBe(process.pid);
    lock.release();
  });

  it('lets exactly one of several processes racing for a stale lock win', async () => {
    const dead = holder('refit run');
    expect(await dead.outcome).toBe('acquired');
    dead.child.kill('SIGKILL');
    await exited(dead.child);

    const startAt = Date.now() + 1500; // all children loaded and waiting by then
    const racers = Array.from({ length: 6 }, (_, i) => holder(`racer ${i}`, { startAt, holdMs: 3000 }));
    const outcomes = await Promise.all(racers.map((r) => r.outcome));
    expect(outcomes.filter((o) => o === 'acquired')).toHaveLength(1);
    expect(outcomes.filter((o) => o.startsWith('refused: another refit holds the host lock: pid '))).toHaveLength(5);
    expect(existsSync(join(dir, 'refit.lock.takeover'))).toBe(false);
  });

  it('does not delete a lock it no longer owns', () => {
    const first = acquireHostLock(dir, { command: 'refit run' });
    // Simulate this holder having been judged dead and the lock taken over by another process.
    rmSync(first.file);
    writeFileSync(first.file, JSON.stringify({ pid: 1, startTime: processStartTime(1), command: 'other', since: 'x', host: hostname() }));
    first.release();
    expect(existsSync(first.file)).toBe(true);
  });

  it('refuses a lock file that refit did not write, saying what to do', () => {
    writeFileSync(join(dir, 'refit.lock'), 'garbage');
    expect(() => acquireHostLock(dir, { command: 'refit run' })).toThrow(`the host lock ${dir}/refit.lock does not contain a refit lock holder`);
  });
});
