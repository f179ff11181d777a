/**
 * @module registry/reference
 * Image references as Docker reads them: `nginx` is `docker.io/library/nginx:latest`,
 * `index.docker.io` is Docker Hub, a first path part with a dot, a colon or `localhost` is a
 * registry host. Pure: parsing never touches the network.
 */

export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's Registry API actually lives. */
export const DOCKER_HUB_API = 'registry-1.docker.io';

export interface ImageRef {
  /** Registry as written in credentials and certs.d: `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path inside the registry, `library/` added for Docker Hub's official images. */
  repository: string;
  /** null only when the reference is pinned by digest alone. */
  tag: string | null;
  digest: string | null;
  /** The reference as it was written, kept for display and for swapping the tag. */
  original: string;
}

export type RefResult = { ok: true; ref: ImageRef } | { ok: false; reason: string };

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

export function parseReference(input: string): RefResult {
  const bad = (why: string): RefResult => ({ ok: false, reason: `image reference ${JSON.stringify(input)} ${why}` });
  let rest = input.trim();
  if (!rest) return bad('is empty');

  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return bad(`has a malformed digest ${JSON.stringify(digest)}`);
  }

  let tag: string | null = null;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return bad(`has a malformed tag ${JSON.stringify(tag)}`);
  }

  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!HOST.test(first)) return bad(`has a malformed registry host ${JSON.stringify(first)}`);
    registry = first === 'index.docker.io' ? DOCKER_HUB : first;
    parts.shift();
  }
  if (parts.some((p) => !COMPONENT.test(p))) return bad('has a repository name that is not lower-case letters, digits and separators');
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');

  if (tag === null && digest === null) tag = 'latest';
  return { ok: true, ref: { registry, repository: parts.join('/'), tag, digest, original: input.trim() } };
}

/** The host refit sends Registry API requests to. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** `registry/repository`, the key under which RepoDigests and credentials are compared. */
export function repoKey(ref: Pick<ImageRef, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** `registry/repository` of a written reference (a tag or a digest one), or null when it does not parse. */
export function repoKeyOf(reference: string): string | null {
  const parsed = parseReference(reference);
  return parsed.ok ? repoKey(parsed.ref) : null;
}

/**
 * The same reference with another tag, written the way the operator wrote the original
 * (`nginx:1.25-alpine` becomes `nginx:1.26-alpine`, not `docker.io/library/nginx:...`).
 */
export function withTag(ref: ImageRef, tag: string): string {
  let base = ref.original;
  const at = base.indexOf('@');
  if (at >= 0) base = base.slice(0, at);
  const colon = base.lastIndexOf(':');
  if (colon > base.lastIndexOf('/')) base = base.slice(0, colon);
  return `${base}:${tag}`;
}

/**
 * The digests recorded for this repository among an image's RepoDigests
 * (`127.0.0.1:5000/web@sha256:...`); empty when the image never came from that repository.
 */
export function repoDigestsFor(ref: ImageRef, repoDigests: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of repoDigests) {
    const parsed = parseReference(entry);
    if (parsed.ok && parsed.ref.digest && repoKey(parsed.ref) === repoKey(ref)) out.push(parsed.ref.digest);
  }
  return out;
}
