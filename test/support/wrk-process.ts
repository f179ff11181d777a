/**
 * One `wrk` process run by a script that follows the stop protocol of wrk.lua and
 * bench/window/rotate.lua: each thread prints `<tag> running <id>` once its load is on (optional)
 * and `<tag> drained <id>` once all its connections are parked, which they do from the moment
 * the stop file exists. The stop is graceful: the stop file, then wrk is interrupted once every
 * thread is drained, or after `timeoutMs`. wrk is SIGKILLed at `killAfterMs` whatever happens.
 * The caller's temp dir (which holds the stop file) is removed when wrk has ended.
 */
import { spawn } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';

export interface WrkProcess {
  /** Every thread printed `running` (or wrk ended before that). */
  started: Promise<void>;
  /** Settles when wrk has ended: '' on exit code 0, else what went wrong. */
  exited: Promise<string>;
  /** Ends the load gracefully (once; later calls get the same): wrk's stdout, or an error when wrk failed. */
  stop(): Promise<string>;
  /** wrk's stderr, or the end of its stdout when stderr is empty (for error messages). */
  output(): string;
}

export function spawnWrk(args: string[], o: { tag: string; threads: number; stopFile: string; dir: string; timeoutMs: number; killAfterMs: number; what: string }): WrkProcess {
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onDrained = () => {};
  let onStarted = () => {};
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  const seen = (what: string) => (out.match(new RegExp(`^${o.tag} ${what} \\d+$`, 'gm'))?.length ?? 0) >= o.threads;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (seen('running')) onStarted();
    if (seen('drained')) onDrained();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<string>((resolve) => {
    child.on('error', (e) => resolve(`could not run wrk: ${e.message}`));
    child.on('close', (code, signal) => resolve(code === 0 ? '' : `wrk exited with ${code ?? signal}`));
  });
  void exited.then(() => onStarted());
  const killTimer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs);
  const output = () => err.trim() || out.trim().slice(-2000);
  let ending: Promise<string> | undefined;
  const stop = () =>
    (ending ??= (async () => {
      try {
        if (child.exitCode === null && child.signalCode === null) {
          writeFileSync(`${o.stopFile}.new`, String(Date.now()));
          renameSync(`${o.stopFile}.new`, o.stopFile);
          await new Promise<void>((resolve) => {
            const bound = setTimeout(resolve, o.timeoutMs);
            onDrained = () => {
              clearTimeout(bound);
              resolve();
            };
            void exited.then(onDrained);
          });
          child.kill('SIGINT');
        }
        const failure = await exited;
        if (failure) throw new Error(`${failure} (${o.what}): ${output()}`);
        return out;
      } finally {
        clearTimeout(killTimer);
        rmSync(o.dir, { recursive: true, force: true });
      }
    })());
  return { started, exited, stop, output };
}
