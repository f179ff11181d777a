/**
 * @module registry/credentials
 * Registry credentials found exactly where and how the Docker CLI finds them. The file is
 * `registry.dockerConfig` when set, else `$DOCKER_CONFIG/config.json`, else
 * `$HOME/.docker/config.json`. For a registry, a `credHelpers` entry wins, then `credsStore`,
 * then the `auths` entry (`auth`, `username`/`password`, `identitytoken`). A helper is
 * `docker-credential-<name> get` on PATH, given the server address on stdin, answering JSON
 * `{ Username, Secret }` (`<token>` as Username: Secret is an identity token). What a helper
 * prints is never logged, and a helper that fails is a reason for that registry only.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RegistryConfig } from '../config/schema.js';
import { DOCKER_HUB } from './reference.js';

export type Credential =
  | { kind: 'anonymous' }
  | { kind: 'basic'; username: string; password: string; from: string }
  /** An OAuth2 refresh token (`docker login` to registries that issue them): traded for access tokens. */
  | { kind: 'identity-token'; token: string; from: string }
  /** Found, but refit cannot use it; `reason` says why and what to do. */
  | { kind: 'unusable'; reason: string };

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

export interface DockerAuthFile {
  auths: Record<string, AuthEntry>;
  credsStore: string | null;
  credHelpers: Record<string, string>;
}

/** The file's contents, or null when there is none; an unreadable file is a problem for the registries that need it. */
export type LoadedAuthFile = { ok: true; file: DockerAuthFile | null; path: string } | { ok: false; reason: string; path: string };

/** Where the Docker CLI would look: the configured file, else $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json. */
export function dockerConfigPath(configured: string | undefined, env: NodeJS.ProcessEnv): string {
  if (configured) return configured;
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, 'config.json');
  return join(env.HOME || homedir(), '.docker', 'config.json');
}

export function loadAuthFile(path: string): LoadedAuthFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: true, file: null, path };
    return { ok: false, path, reason: `cannot read Docker config ${path} (${code ?? String(err)})` };
  }
  return parseAuthFile(text, path);
}

export function parseAuthFile(text: string, path: string): LoadedAuthFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, path, reason: `Docker config ${path} is not valid JSON (${(err as Error).message})` };
  }
  if (!raw || typeof raw !== 'object') return { ok: false, path, reason: `Docker config ${path} must be a JSON object` };
  const o = raw as Record<string, unknown>;
  const auths: Record<string, AuthEntry> = {};
  for (const [key, entry] of Object.entries(isObject(o.auths) ? o.auths : {})) {
    if (isObject(entry)) auths[normalizeKey(key)] = entry as AuthEntry;
  }
  const credHelpers: Record<string, string> = {};
  for (const [key, helper] of Object.entries(isObject(o.credHelpers) ? o.credHelpers : {})) {
    if (typeof helper === 'string' && helper) credHelpers[normalizeKey(key)] = helper;
  }
  return { ok: true, path, file: { auths, credsStore: typeof o.credsStore === 'string' && o.credsStore ? o.credsStore : null, credHelpers } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `https://index.docker.io/v1/` and `registry-1.docker.io` are Docker Hub; scheme and path never matter. */
export function normalizeKey(key: string): string {
  const host = key.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

/** What the Docker CLI hands a credential helper for a registry: Docker Hub by its legacy index URL. */
export function helperServerAddress(registry: string): string {
  return normalizeKey(registry) === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/** Where a registry's secret lives, decided from the file alone (pure). */
export type CredentialSource = Credential | { kind: 'helper'; helper: string; key: 'credHelpers' | 'credsStore' };

export function credentialSource(loaded: LoadedAuthFile, registry: string): CredentialSource {
  if (!loaded.ok) return { kind: 'unusable', reason: loaded.reason };
  const file = loaded.file;
  if (!file) return { kind: 'anonymous' };
  const key = normalizeKey(registry);
  const helper = file.credHelpers[key];
  if (helper) return { kind: 'helper', helper, key: 'credHelpers' };
  if (file.credsStore) return { kind: 'helper', helper: file.credsStore, key: 'credsStore' };
  const entry = file.auths[key];
  const from = `auths["${registry}"] in ${loaded.path}`;
  if (entry?.identitytoken) return { kind: 'identity-token', token: entry.identitytoken, from };
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { kind: 'unusable', reason: `${from}: "auth" is not base64 of user:password` };
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1), from };
  }
  if (entry?.username && entry.password !== undefined) return { kind: 'basic', username: entry.username, password: entry.password, from };
  return { kind: 'anonymous' };
}

/** What a helper printed, as Docker reads it (pure). */
export function readHelperAnswer(stdout: string, from: string): Credential {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    return { kind: 'unusable', reason: `${from} printed something that is not JSON` };
  }
  const o = isObject(doc) ? doc : {};
  if (typeof o.Secret !== 'string' || !o.Secret) return { kind: 'unusable', reason: `${from} answered without a "Secret"` };
  if (o.Username === '<token>') return { kind: 'identity-token', token: o.Secret, from };
  if (typeof o.Username !== 'string' || !o.Username) return { kind: 'unusable', reason: `${from} answered without a "Username"` };
  return { kind: 'basic', username: o.Username, password: o.Secret, from };
}

export interface HelperResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the helper could not run or was stopped: ENOENT, EACCES, timeout. */
  failure?: string;
}

/** Runs `docker-credential-<helper> get` with the server address on stdin; never throws. */
export function runCredentialHelper(helper: string, serverAddress: string, opts: { timeoutMs: number; env: NodeJS.ProcessEnv }): Promise<HelperResult> {
  return new Promise((resolve) => {
    const child = spawn(`docker-credential-${helper}`, ['get'], { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let failure: string | undefined;
    const timer = setTimeout(() => {
      failure = `did not answer within ${opts.timeoutMs} ms`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 1 << 20) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 1 << 16) stderr += d.toString('utf8');
    });
    child.stdin.on('error', () => undefined); // a helper that exits without reading stdin
    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= err.code === 'ENOENT' ? 'is not on PATH' : `cannot be run (${err.code ?? err.message})`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ...(failure ? { failure } : {}) });
    });
    child.stdin.end(serverAddress);
  });
}

export type HelperRunner = typeof runCredentialHelper;

/** Docker's helper protocol says "not found" with this text: the registry is then asked anonymously. */
const NOT_FOUND = /credentials not found/i;
/** A helper name becomes part of a program name: never a path. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface CredentialStoreOptions {
  /** `registry.dockerConfig`, or undefined for Docker's own lookup. */
  dockerConfig?: string;
  helperTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
  runHelper?: HelperRunner;
}

/** The credentials of one pass: the file read once, each registry's credential resolved once. */
export class CredentialStore {
  readonly path: string;
  private readonly loaded: LoadedAuthFile;
  private readonly env: NodeJS.ProcessEnv;
  private readonly memo = new Map<string, Promise<Credential>>();

  constructor(private readonly opts: CredentialStoreOptions) {
    this.env = opts.env ?? process.env;
    this.path = dockerConfigPath(opts.dockerConfig, this.env);
    this.loaded = loadAuthFile(this.path);
  }

  get(registry: string): Promise<Credential> {
    const key = normalizeKey(registry);
    let p = this.memo.get(key);
    if (!p) {
      p = this.resolve(registry);
      this.memo.set(key, p);
    }
    return p;
  }

  private async resolve(registry: string): Promise<Credential> {
    const source = credentialSource(this.loaded, registry);
    if (source.kind !== 'helper') return source;
    const from = `credential helper docker-credential-${source.helper} (${source.key} in ${this.path})`;
    if (!HELPER_NAME.test(source.helper)) return { kind: 'unusable', reason: `${source.key} in ${this.path} names ${JSON.stringify(source.helper)}, which is not a credential helper name` };
    const r = await (this.opts.runHelper ?? runCredentialHelper)(source.helper, helperServerAddress(registry), { timeoutMs: this.opts.helperTimeoutMs, env: this.env });
    const fix = `fix ${from.replace(/^credential helper /, '')}, or run \`docker login ${registry}\` again`;
    if (r.failure) return { kind: 'unusable', reason: `${from} ${r.failure}; ${fix}` };
    if (r.code !== 0) {
      if (NOT_FOUND.test(r.stderr) || NOT_FOUND.test(r.stdout)) return { kind: 'anonymous' };
      const said = firstLine(r.stderr);
      return { kind: 'unusable', reason: `${from} failed with exit code ${r.code}${said ? ` (${said})` : ''}; ${fix}` };
    }
    return readHelperAnswer(r.stdout, from);
  }
}

function firstLine(text: string): string {
  return (text.trim().split('\n')[0] ?? '').slice(0, 160);
}


/** The credentials of one pass or pull, found as the Docker CLI finds them. */
export function openCredentials(config: RegistryConfig, env?: NodeJS.ProcessEnv): CredentialStore {
  return new CredentialStore({ dockerConfig: config.dockerConfig, helperTimeoutMs: config.credentialHelperTimeoutMs, env });
}
