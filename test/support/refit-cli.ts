/** Runs the built CLI (dist/) as an operator would, capturing output and exit code. */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(REPO_ROOT, 'dist', 'cli', 'main.js');

/** The node flags of a `#!/usr/bin/env -S node FLAGS` line; anything else is an error, never silently none. */
export function nodeFlagsOf(shebang: string): string[] {
  const m = /^#!\/usr\/bin\/env(?: -S)? node((?: --[a-z0-9-]+(?:=[^\s]+)?)*)$/.exec(shebang);
  if (!m) throw new Error(`not a "#!/usr/bin/env -S node FLAGS" line: ${shebang}`);
  return m[1]!.split(' ').filter(Boolean);
}

/**
 * `node` and its arguments for `refit ARGS`, with the node flags of the CLI's `#!` line: as
 * the installed command (npm's bin link, the systemd units) runs it.
 */
export function refitCommand(args: string[]): [string, string[]] {
  const shebang = readFileSync(main, 'utf8').split('\n', 1)[0]!;
  return [process.execPath, [...nodeFlagsOf(shebang), main, ...args]];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = unknown>(): T;
}

export function refit(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): CliResult {
  const r = spawnSync(...refitCommand(args), { env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    json: <T>() => JSON.parse(r.stdout) as T,
  };
}

/** Like refit(), without blocking the event loop (so a load loop in the test keeps running). */
export function refitAsync(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(...refitCommand(args), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : -1), stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
    });
  });
}
