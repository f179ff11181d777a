/**
 * @module registry/credentials
 * Registry credentials from the Docker client config file (`auths`), the same file
 * `docker login` writes. refit does not run credential helpers: when the file sends a
 * registry to `credsStore`/`credHelpers`, the answer says so and what to put instead.
 */
import { readFileSync } from 'node:fs';
import { DOCKER_HUB } from './reference.js';

export type Credential =
  | { kind: 'anonymous' }
  | { kind: 'basic'; username: string; password: string }
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
    if (typeof helper === 'string') credHelpers[normalizeKey(key)] = helper;
  }
  return { ok: true, path, file: { auths, credsStore: typeof o.credsStore === 'string' ? o.credsStore : null, credHelpers } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `https://index.docker.io/v1/` and `registry-1.docker.io` are Docker Hub; scheme and path never matter. */
export function normalizeKey(key: string): string {
  const host = key.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

/**
 * Docker's order: a credHelpers entry wins, then an auths entry with credentials, then
 * credsStore. Only used once a registry asks for authentication, so an unusable entry never
 * stops anonymous pulls.
 */
export function credentialFor(loaded: LoadedAuthFile, registry: string): Credential {
  if (!loaded.ok) return { kind: 'unusable', reason: loaded.reason };
  const file = loaded.file;
  if (!file) return { kind: 'anonymous' };
  const key = normalizeKey(registry);
  const helperNeeded = (helper: string): Credential => ({
    kind: 'unusable',
    reason: `${loaded.path} keeps the credentials for ${registry} in the credential helper docker-credential-${helper}, which refit does not run; add auths["${registry}"].auth (base64 of user:password) to that file`,
  });
  const helper = file.credHelpers[key];
  if (helper) return helperNeeded(helper);
  const entry = file.auths[key];
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { kind: 'unusable', reason: `auths["${registry}"].auth in ${loaded.path} is not base64 of user:password` };
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry?.username && entry.password !== undefined) return { kind: 'basic', username: entry.username, password: entry.password };
  if (entry?.identitytoken) {
    return { kind: 'unusable', reason: `${loaded.path} holds only an identity token for ${registry}; refit needs auths["${registry}"].auth (base64 of user:password)` };
  }
  if (file.credsStore) return helperNeeded(file.credsStore);
  return { kind: 'anonymous' };
}
