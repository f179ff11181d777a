/**
 * @module proxy/process
 * The proxy processes refit starts: pid files, liveness (a zombie is not alive), children via
 * /proc (nginx workers), running the proxy binary with its output kept for error messages,
 * and polling with a deadline.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { waitForLock } from '../journal/lock.js';
import { commandAtWorkPriority, notStarted } from '../priority/priority.js';
import { RefitError } from '../errors.js';

export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
}

/** Parses /proc/PID/stat; the command name may hold spaces and parentheses, so split after the last ")". */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  const pid = Number(text.slice(0, open).trim());
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !rest[0]) return null;
  return { pid, state: rest[0], ppid };
}

function procStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** Running, and not a zombie left for a parent (or init) to reap. */
export function processAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (st && st.ppid === parent && st.state !== 'Z') out.push(st.pid);
  }
  return out.sort((a, b) => a - b);
}

/** The process's command line as one string ("" once it is gone); nginx puts its process title there. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** The pid in `pidFile` when that process is alive and its command line mentions `marker` (guards against pid reuse). */
export function livePid(pidFile: string, marker: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return null;
  }
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) && commandLine(pid).includes(marker) ? pid : null;
}

const TOOL_TIMEOUT_MS = 30_000;

/**
 * Runs a proxy binary; a failure becomes a RefitError that quotes the command and its output.
 * A config check is refit's heavy work, not the proxy's: it runs at the work priority
 * (priority/priority.ts) with `atWorkPriority`.
 * Its output goes to a file of refit's, not to a pipe: a proxy that daemonizes hands its
 * standard streams to the master it forks, which may hold them until its workers are ready (or
 * for good), and waiting for a pipe to close would then wait for that master. Done is when the
 * command itself exits.
 */
export async function runTool(binary: string, args: string[], what: string, hint?: string, opts: { atWorkPriority?: boolean } = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'refit-tool-'));
  const file = join(dir, 'output');
  const fd = openSync(file, 'wx', 0o600);
  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
      const command = opts.atWorkPriority ? commandAtWorkPriority(binary, args) : { file: binary, args };
      const child = spawn(command.file, command.args, { stdio: ['ignore', fd, fd] });
      const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
      child.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ code: null, signal: null, error });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    const output = readFileSync(file, 'utf8');
    if (exit.code === 0) return output;
    const last = output.trim().split('\n').filter(Boolean).slice(-6).join(' | ');
    const unstarted = opts.atWorkPriority ? notStarted(exit.code, output) : null;
    const reason =
      exit.error?.code === 'ENOENT' || unstarted?.includes('No such file')
        ? `${binary} is not installed`
        : (unstarted ?? (exit.error ? exit.error.message : exit.signal === 'SIGKILL' ? `no exit within ${TOOL_TIMEOUT_MS} ms` : last || `exit code ${exit.code ?? exit.signal}`));
    throw new RefitError('proxy', `${what} failed: \`${binary} ${args.join(' ')}\`: ${reason}`, hint);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or the deadline passes (then undefined). */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 50): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

const PROXY_LOCK_WAIT_MS = 60_000;

/**
 * One proxy change at a time, across processes: the functions run in call order within this
 * process, each holding the proxy lock file (the daemon keeping the proxy in step, a pass
 * moving traffic and `refit proxy sync` all change the same proxy). Held for the change
 * only, never for a drain's wait.
 */
export function exclusiveProxy(lockFile: string, command: string): <T>(fn: () => Promise<T>) => Promise<T> {
  const inOrder = serial();
  return <T>(fn: () => Promise<T>) =>
    inOrder(async () => {
      mkdirSync(dirname(lockFile), { recursive: true, mode: 0o755 });
      const lock = await waitForLock(lockFile, command, PROXY_LOCK_WAIT_MS);
      try {
        return await fn();
      } finally {
        lock.release();
      }
    });
}

/** Runs the given functions one at a time, in call order (one config change and reload at a time). */
export function serial(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
