/**
 * @module registry/client
 * The few Registry HTTP API v2 calls update detection needs: the digest of a tag (HEAD on
 * the manifest), the per-platform manifests of a multi-arch index, the tag list, and an
 * image's creation time (its config blob, for `refit.min-age`). Auth follows the
 * `WWW-Authenticate` challenge (Bearer tokens cached by scope, or Basic); credentials and
 * tokens are only ever sent to the registry's own host. One
 * client lives for one check pass and memoizes every answer, so 300 containers on 20 images
 * cost about 20 requests.
 */
import { createHash } from 'node:crypto';
import { RefitError } from '../errors.js';
import { nextLink, parseChallenge, type Challenge } from './challenge.js';
import type { Credential, CredentialStore } from './credentials.js';
import { apiHost, repoKey, type ImageRef } from './reference.js';
import { header, type Answer, type Transport } from './transport.js';

export const MANIFEST_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerV2: 'application/vnd.docker.distribution.manifest.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
} as const;
const ACCEPT = Object.values(MANIFEST_TYPES).join(', ');
const INDEX_TYPES: ReadonlySet<string> = new Set([MANIFEST_TYPES.ociIndex, MANIFEST_TYPES.dockerList]);
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG_PAGE = 1000;
const MAX_TAG_PAGES = 100;
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export interface ManifestHead {
  digest: string;
  mediaType: string;
  /** A multi-arch index (OCI index or Docker manifest list). */
  isIndex: boolean;
}

interface Token {
  value: string;
  expiresAt: number;
}

export class RegistryClient {
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly tokens = new Map<string, Promise<Token>>();
  /** The last challenge seen per registry: lets a new scope get its token without a 401 first. */
  private readonly challenges = new Map<string, Challenge>();
  private readonly firstContact = new Map<string, Promise<void>>();

  constructor(
    private readonly transport: Transport,
    private readonly credentials: CredentialStore,
  ) {}

  /** The digest the registry serves for the tag (or digest) now. */
  manifestHead(ref: ImageRef, tagOrDigest: string): Promise<ManifestHead> {
    return this.once(`head ${repoKey(ref)}:${tagOrDigest}`, async () => {
      const what = `${repoKey(ref)}:${tagOrDigest}`;
      const a = await this.call(ref, `/v2/${ref.repository}/manifests/${tagOrDigest}`, 'HEAD', what);
      const mediaType = (header(a, 'content-type') ?? '').split(';')[0]!.trim();
      let digest = header(a, 'docker-content-digest');
      if (!digest) {
        // Some registries omit the header on HEAD; the digest is the hash of the manifest bytes.
        const body = await this.call(ref, `/v2/${ref.repository}/manifests/${tagOrDigest}`, 'GET', what);
        digest = `sha256:${createHash('sha256').update(body.body).digest('hex')}`;
      }
      if (!DIGEST.test(digest)) throw malformed(ref, `a Docker-Content-Digest of ${JSON.stringify(digest.slice(0, 80))} for ${what}`);
      return { digest, mediaType, isIndex: INDEX_TYPES.has(mediaType) };
    });
  }

  /** Digests of the per-platform manifests inside a multi-arch index. */
  indexChildren(ref: ImageRef, digest: string): Promise<string[]> {
    return this.once(`index ${repoKey(ref)}@${digest}`, async () => {
      const a = await this.call(ref, `/v2/${ref.repository}/manifests/${digest}`, 'GET', `${repoKey(ref)}@${digest}`);
      const doc = parseJson(ref, a, 'manifest index') as { manifests?: { digest?: unknown }[] };
      if (!Array.isArray(doc.manifests)) throw malformed(ref, `a manifest index without "manifests" for ${repoKey(ref)}@${digest}`);
      return doc.manifests.map((m) => m.digest).filter((d): d is string => typeof d === 'string');
    });
  }

  /** Every tag of the repository, following `Link` pagination. */
  listTags(ref: ImageRef): Promise<string[]> {
    return this.once(`tags ${repoKey(ref)}`, async () => {
      const tags: string[] = [];
      const seen = new Set<string>();
      let target: string | null = `/v2/${ref.repository}/tags/list?n=${TAG_PAGE}`;
      while (target) {
        if (seen.has(target) || seen.size >= MAX_TAG_PAGES) {
          throw malformed(ref, `a tag list for ${repoKey(ref)} whose pages ${seen.has(target) ? 'loop' : `go on past ${MAX_TAG_PAGES}`}`);
        }
        seen.add(target);
        const a = await this.call(ref, target, 'GET', `tags of ${repoKey(ref)}`);
        const doc = parseJson(ref, a, 'tag list') as { tags?: unknown };
        if (doc.tags !== null && !(Array.isArray(doc.tags) && doc.tags.every((t) => typeof t === 'string'))) {
          throw malformed(ref, `a tag list for ${repoKey(ref)} without a "tags" array of strings`);
        }
        tags.push(...((doc.tags as string[] | null) ?? []));
        target = nextLink(header(a, 'link'), a.url);
      }
      return tags;
    });
  }

  /**
   * When the image a tag or digest names was created, from the `created` field of its config
   * blob (for a multi-arch index: of the manifest for `platform`).
   */
  imageCreated(ref: ImageRef, tagOrDigest: string, platform: Platform): Promise<string> {
    return this.once(`created ${repoKey(ref)}:${tagOrDigest} ${platformName(platform)}`, async () => {
      let doc = await this.manifest(ref, tagOrDigest);
      if (Array.isArray(doc.manifests)) {
        const child = pickPlatform(doc.manifests, platform);
        if (!child) throw new RefitError('registry', `the multi-arch index ${repoKey(ref)}:${tagOrDigest} has no image for ${platformName(platform)}`, 'is the image built for this host\'s platform?');
        doc = await this.manifest(ref, child);
      }
      const config = (doc.config as { digest?: unknown } | undefined)?.digest;
      if (typeof config !== 'string' || !DIGEST.test(config)) throw malformed(ref, `a manifest for ${repoKey(ref)}:${tagOrDigest} without a config blob digest (schema 1 images have none)`);
      return this.configCreated(ref, config, tagOrDigest);
    });
  }

  /** Tags of one image share its config blob: read once per pass. */
  private configCreated(ref: ImageRef, config: string, tagOrDigest: string): Promise<string> {
    return this.once(`config ${repoKey(ref)}@${config}`, async () => {
      const a = await this.call(ref, `/v2/${ref.repository}/blobs/${config}`, 'GET', `config blob of ${repoKey(ref)}:${tagOrDigest}`);
      const blob = parseJson(ref, a, 'image config');
      if (typeof blob.created !== 'string' || Number.isNaN(Date.parse(blob.created))) {
        throw new RefitError('registry', `the image ${repoKey(ref)}:${tagOrDigest} records no creation time in its config`, 'refit.min-age needs it: remove the label for this image');
      }
      return new Date(Date.parse(blob.created)).toISOString();
    });
  }

  private manifest(ref: ImageRef, tagOrDigest: string): Promise<Record<string, unknown>> {
    return this.once(`manifest ${repoKey(ref)}:${tagOrDigest}`, async () => {
      const a = await this.call(ref, `/v2/${ref.repository}/manifests/${tagOrDigest}`, 'GET', `${repoKey(ref)}:${tagOrDigest}`);
      return parseJson(ref, a, 'manifest');
    });
  }

  private once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.memo.set(key, p);
    }
    return p;
  }

  /**
   * One authenticated call: answers with 2xx, or throws a RefitError that names the cause.
   * The first call to a registry goes alone: it learns the scheme (HTTPS or plain) and the
   * auth challenge, so the calls waiting behind it need no failed handshake and no 401.
   */
  private async call(ref: ImageRef, target: string, method: 'GET' | 'HEAD', what: string): Promise<Answer> {
    const first = this.firstContact.get(ref.registry);
    if (first) {
      await first;
      return this.authenticatedCall(ref, target, method, what);
    }
    const p = this.authenticatedCall(ref, target, method, what);
    this.firstContact.set(ref.registry, p.then(() => undefined, () => undefined));
    return p;
  }

  /**
   * Credentials and tokens go to the registry's own host only: a Link or a redirect (a blob
   * served from object storage) to another host is followed without them.
   */
  private async authenticatedCall(ref: ImageRef, target: string, method: 'GET' | 'HEAD', what: string): Promise<Answer> {
    const registryHost = apiHost(ref.registry);
    const scope = `repository:${ref.repository}:pull`;
    const headers: Record<string, string> = { accept: ACCEPT };
    let url = target;
    for (let hops = 0; ; hops++) {
      const host = url.includes('://') ? new URL(url).host : registryHost;
      const ours = host === registryHost;
      let auth = ours ? await this.knownAuth(ref.registry, scope) : null;
      let a = await this.transport.fetch(host, url, { method, headers: auth ? { ...headers, authorization: auth } : headers });
      if (a.status === 401 && ours) {
        const challenge = parseChallenge(header(a, 'www-authenticate') ?? '');
        this.challenges.set(ref.registry, challenge);
        auth = await this.answerChallenge(ref, challenge, scope, Boolean(auth));
        a = await this.transport.fetch(host, url, { method, headers: { ...headers, authorization: auth } });
        if (a.status === 401) throw await this.rejected(ref, challenge);
      }
      const location = REDIRECTS.has(a.status) ? header(a, 'location') : null;
      if (location) {
        if (hops >= MAX_REDIRECTS) throw malformed(ref, `more than ${MAX_REDIRECTS} redirects for ${what}`);
        url = new URL(location, a.url).toString();
        continue;
      }
      if (a.status >= 200 && a.status < 300) return a;
      if (a.status === 401) {
        throw new RefitError('registry', `${host}, where registry ${ref.registry} sent refit for ${what}, asks for credentials (HTTP 401)`, `refit sends the credentials of ${ref.registry} to ${registryHost} only`);
      }
      if (a.status === 404) {
        throw new RefitError('registry', `registry ${ref.registry} has no ${what} (HTTP 404)`, 'was the tag or repository deleted? check the image reference');
      }
      if (a.status === 403) throw new RefitError('registry', `registry ${ref.registry} denied access to ${what} (HTTP 403)`, `check that the account in ${this.credentials.path} may pull ${ref.repository}`);
      throw new RefitError('registry', `registry ${ref.registry} answered HTTP ${a.status} to ${method} for ${what}${bodyHint(a)}`);
    }
  }

  /** Credentials we can send up front: a cached Bearer token for the scope, or Basic once the registry asked for it. */
  private async knownAuth(registry: string, scope: string): Promise<string | null> {
    const challenge = this.challenges.get(registry);
    if (challenge?.scheme === 'bearer') return `Bearer ${(await this.token(registry, challenge, scope)).value}`;
    if (challenge?.scheme !== 'basic') return null;
    const cred = await this.credentials.get(registry);
    return cred.kind === 'basic' ? basic(cred) : null;
  }

  private async answerChallenge(ref: ImageRef, challenge: Challenge, scope: string, alreadySent: boolean): Promise<string> {
    if (challenge.scheme === 'bearer') {
      if (alreadySent) this.tokens.delete(tokenKey(ref.registry, challenge, scope));
      return `Bearer ${(await this.token(ref.registry, challenge, challenge.scope ?? scope)).value}`;
    }
    if (challenge.scheme === 'basic') {
      const cred = await this.credentials.get(ref.registry);
      if (cred.kind === 'basic') return basic(cred);
      if (cred.kind === 'identity-token') {
        throw new RefitError('registry', `auth failed: registry ${ref.registry} asks for a password (Basic auth), and ${cred.from} holds only an identity token`, `run \`docker login ${ref.registry}\` with a password`);
      }
      throw this.loginNeeded(ref, cred);
    }
    throw new RefitError('registry', `registry ${ref.registry} asks for an authentication refit does not speak: ${JSON.stringify(challenge.raw.slice(0, 80))}`);
  }

  private token(registry: string, challenge: Extract<Challenge, { scheme: 'bearer' }>, scope: string): Promise<Token> {
    const key = tokenKey(registry, challenge, scope);
    const cached = this.tokens.get(key);
    if (cached) {
      return cached.then((t) => {
        if (t.expiresAt > Date.now()) return t;
        this.tokens.delete(key);
        return this.token(registry, challenge, scope);
      });
    }
    const p = this.fetchToken(registry, challenge, scope);
    this.tokens.set(key, p);
    p.catch(() => this.tokens.delete(key));
    return p;
  }

  /**
   * A token from the challenge's realm: an identity token is exchanged by the OAuth2 refresh
   * grant (POST), a password by Basic auth on a GET, as the Docker CLI does.
   */
  private async fetchToken(registry: string, challenge: Extract<Challenge, { scheme: 'bearer' }>, scope: string): Promise<Token> {
    const url = new URL(challenge.realm);
    const cred = await this.credentials.get(registry);
    let a: Answer;
    if (cred.kind === 'identity-token') {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.token, client_id: 'refit', scope });
      if (challenge.service) form.set('service', challenge.service);
      a = await this.transport.fetch(url.host, url.toString(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    } else {
      if (challenge.service) url.searchParams.set('service', challenge.service);
      url.searchParams.set('scope', scope);
      a = await this.transport.fetch(url.host, url.toString(), { method: 'GET', headers: cred.kind === 'basic' ? { authorization: basic(cred) } : {} });
    }
    if (a.status === 401 || a.status === 403) {
      if (cred.kind === 'basic' || cred.kind === 'identity-token') throw await this.rejected({ registry }, challenge);
      throw this.loginNeeded({ registry }, cred);
    }
    if (a.status !== 200) throw new RefitError('registry', `token service ${url.origin} for ${registry} answered HTTP ${a.status}${bodyHint(a)}`);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(a.body.toString('utf8')) as typeof doc;
    } catch {
      throw new RefitError('registry', `token service ${url.origin} for ${registry} answered with something that is not JSON${bodyHint(a)}`);
    }
    const value = typeof doc.token === 'string' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : null;
    if (!value) throw new RefitError('registry', `token service ${url.origin} for ${registry} answered without a token`);
    // Docker's default lifetime is 60 s; keep a margin so a token never expires mid-request.
    const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    return { value, expiresAt: Date.now() + Math.max(1, seconds - 10) * 1000 };
  }

  private async rejected(ref: Pick<ImageRef, 'registry'>, challenge: Challenge): Promise<RefitError> {
    const cred = await this.credentials.get(ref.registry);
    if (cred.kind !== 'basic' && cred.kind !== 'identity-token') return this.loginNeeded(ref, cred);
    const where = challenge.scheme === 'bearer' ? `token service ${new URL(challenge.realm).origin}` : `registry ${ref.registry}`;
    const whose = cred.kind === 'basic' ? `the credentials of ${cred.username}` : 'the identity token';
    return new RefitError('registry', `auth failed: ${where} rejected ${whose} for ${ref.registry} from ${cred.from}`, `run \`docker login ${ref.registry}\` again`);
  }

  private loginNeeded(ref: Pick<ImageRef, 'registry'>, cred: Credential): RefitError {
    if (cred.kind === 'unusable') return new RefitError('registry', `auth failed: registry ${ref.registry} needs a login and ${cred.reason}`);
    return new RefitError('registry', `auth failed: registry ${ref.registry} needs a login and ${this.credentials.path} has no credentials for it`, `run \`docker login ${ref.registry}\` as the user refit runs as, or set registry.dockerConfig`);
  }
}

/** The platform whose image a multi-arch index is read for: the running image's. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

function platformName(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function pickPlatform(manifests: unknown[], want: Platform): string | null {
  for (const m of manifests) {
    const entry = m as { digest?: unknown; platform?: { os?: unknown; architecture?: unknown; variant?: unknown } };
    const p = entry.platform;
    if (typeof entry.digest !== 'string' || !p || p.os !== want.os || p.architecture !== want.architecture) continue;
    if (want.variant && typeof p.variant === 'string' && p.variant !== want.variant) continue;
    return entry.digest;
  }
  return null;
}

function tokenKey(registry: string, challenge: Extract<Challenge, { scheme: 'bearer' }>, scope: string): string {
  return `${registry} ${challenge.realm} ${challenge.service ?? ''} ${scope}`;
}

function basic(cred: Extract<Credential, { kind: 'basic' }>): string {
  return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
}

function parseJson(ref: ImageRef, a: Answer, what: string): Record<string, unknown> {
  try {
    const doc: unknown = JSON.parse(a.body.toString('utf8'));
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // reported below with the body's first bytes
  }
  throw malformed(ref, `a ${what} that is not a JSON object${bodyHint(a)}`);
}

function malformed(ref: ImageRef, what: string): RefitError {
  return new RefitError('registry', `registry ${ref.registry} sent ${what}`, 'is this really a Docker registry (or a proxy/captive portal in front of it)?');
}

function bodyHint(a: Answer): string {
  const text = a.body.toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 120);
  return text ? `: ${text}` : '';
}
