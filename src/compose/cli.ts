/**
 * @module compose/cli
 * A thin wrapper over the Compose CLI, v2 (`docker compose`) or v1 (`docker-compose`),
 * whichever this host has. Every call names the project, its files and its env files
 * explicitly, so the result never depends on the caller's working directory or environment.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { RefitError } from '../errors.js';
import { commandAtWorkPriority } from '../priority/priority.js';
import { parseEnvFile } from './env-file.js';
import { readProjectFile } from './project-files.js';

export type ComposeFlavor = 'v2' | 'v1';

export interface ComposeCli {
  flavor: ComposeFlavor;
  version: string;
  /** argv[0] and the leading args: ['docker', 'compose'] or ['docker-compose']. */
  command: readonly string[];
}

export interface ComposeTarget {
  project: string;
  workingDir: string;
  files: string[];
  /** The `--env-file`s the project was started with; absent or empty: Compose reads the project's `.env`. */
  envFiles?: string[];
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/** Runs a Compose command at refit's work priority (priority/priority.ts): Compose is most of a pass's CPU. */
function exec(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const run = commandAtWorkPriority(cmd, args);
  return new Promise((resolve, reject) => {
    execFile(run.file, run.args, { cwd: opts.cwd, timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env: opts.env ?? process.env }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

/**
 * Finds the Compose CLI. `prefer` (or $REFIT_COMPOSE=v1|v2) picks one when both exist;
 * otherwise v2 wins.
 */
export async function detectCompose(prefer?: ComposeFlavor): Promise<ComposeCli> {
  const want = prefer ?? (process.env.REFIT_COMPOSE as ComposeFlavor | undefined);
  const candidates: { flavor: ComposeFlavor; command: string[] }[] = [
    { flavor: 'v2', command: ['docker', 'compose'] },
    { flavor: 'v1', command: ['docker-compose'] },
  ];
  const order = want ? candidates.filter((c) => c.flavor === want) : candidates;
  for (const c of order) {
    try {
      const { stdout } = await exec(c.command[0]!, [...c.command.slice(1), 'version', '--short'], { timeoutMs: 20_000 });
      return { flavor: c.flavor, command: c.command, version: stdout.trim() };
    } catch {
      // not installed: try the next
    }
  }
  throw new RefitError(
    'compose',
    want ? `Compose ${want} is not installed on this host` : 'neither `docker compose` (v2) nor `docker-compose` (v1) is installed',
    'install Debian package docker-compose, or the Compose v2 CLI plugin',
  );
}

/** The flavor that started a project, from its containers' com.docker.compose.version label. */
export function flavorOf(composeVersion: string): ComposeFlavor | undefined {
  if (/^1\./.test(composeVersion)) return 'v1';
  if (/^\d/.test(composeVersion)) return 'v2';
  return undefined;
}

export async function runCompose(cli: ComposeCli, target: ComposeTarget, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  const envFiles = target.envFiles ?? [];
  if (cli.flavor === 'v1' && envFiles.length > 1) {
    throw new RefitError('compose', `project ${target.project} was started with ${envFiles.length} env files, and Compose v1 takes only one --env-file`, 'start it with Compose v2, or merge the env files');
  }
  const argv = [...cli.command.slice(1), '--project-name', target.project, '--project-directory', target.workingDir];
  for (const f of envFiles) argv.push('--env-file', f);
  for (const f of target.files) argv.push('--file', f);
  argv.push(...args);
  try {
    // The target alone decides what runs: Compose reads COMPOSE_* variables, and refit's own
    // environment would win over the project's env file (where refit reads and bumps the tag).
    const defined = definedIn(target);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMPOSE_') && !(defined.has(k) && !RUNS_COMPOSE.has(k))));
    return await exec(cli.command[0]!, argv, { cwd: target.workingDir, timeoutMs: opts.timeoutMs, env });
  } catch (err) {
    const e = err as Error & { stderr?: string; killed?: boolean; code?: number | string };
    const last = (e.stderr ?? '').trim().split('\n').filter(Boolean).slice(-1)[0] ?? e.message;
    const why = e.killed ? `timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : `failed with exit code ${e.code}`;
    throw new RefitError('compose', `\`${[...cli.command, ...argv].map(shellQuote).join(' ')}\` ${why}: ${last}`, undefined, { cause: err });
  }
}

/** What Compose itself needs to run and reach the engine: an env file never takes these away. */
const RUNS_COMPOSE: ReadonlySet<string> = new Set(['PATH', 'HOME', 'TMPDIR', 'DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY']);

/** Names the project's env files define (unreadable files are Compose's to report). */
function definedIn(target: ComposeTarget): Set<string> {
  const names = new Set<string>();
  for (const file of target.envFiles?.length ? target.envFiles : [join(target.workingDir, '.env')]) {
    let text: string | null;
    try {
      text = readProjectFile(file);
    } catch {
      continue;
    }
    for (const e of parseEnvFile(text ?? '')) names.add(e.name);
  }
  return names;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
