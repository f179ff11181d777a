/**
 * @module registry/check
 * Update detection for a pass over the managed containers (SPEC.md step 1): per container,
 * under its `refit.policy`, is there a newer image, which one, and why (or why not). One
 * container's failure is its own `error` entry; the pass always goes on. Nothing is changed.
 */
import type { RegistryConfig } from '../config/schema.js';
import type { Engine, ImageInfo } from '../docker/engine.js';
import { oneLine } from '../errors.js';
import type { Site } from '../site/discover.js';
import type { Policy } from '../site/labels.js';
import { RegistryClient } from './client.js';
import { loadAuthFile } from './credentials.js';
import { limiter } from './limit.js';
import { digestIsCurrent, localTagIsNewer, pickNewerTag } from './policy.js';
import { parseReference, repoDigestsFor, repoKey, withTag, type ImageRef } from './reference.js';
import { Transport } from './transport.js';

export interface UpdateCheck {
  container: string;
  policy: Policy;
  current: { reference: string; imageId: string; digest: string | null };
  candidate: { reference: string; digest: string | null } | null;
  status: 'update' | 'current' | 'error';
  reason: string;
}

export interface CheckDeps {
  engine: Engine;
  config: RegistryConfig;
}

/** First delay of the exponential backoff between retries. */
const BACKOFF_BASE_MS = 250;

function openTransport(config: RegistryConfig): Transport {
  return new Transport({
    certsDir: config.certsDir,
    insecure: config.insecure,
    timeoutMs: config.timeoutMs,
    concurrency: config.concurrency,
    retry: { retries: config.retries, baseDelayMs: BACKOFF_BASE_MS, maxRetryAfterMs: config.maxRetryAfterMs },
  });
}

/** Checks every site; the result has one entry per site, in the same order. */
export async function checkUpdates(sites: Site[], deps: CheckDeps): Promise<UpdateCheck[]> {
  const transport = openTransport(deps.config);
  const pass: Pass = {
    client: new RegistryClient(transport, loadAuthFile(deps.config.dockerConfig)),
    images: memoImages(deps.engine),
    includePrereleases: deps.config.includePrereleases,
  };
  const run = limiter(deps.config.concurrency);
  try {
    return await Promise.all(sites.map((site) => run(() => checkSite(site, pass))));
  } finally {
    await transport.close();
  }
}

interface Pass {
  client: RegistryClient;
  images: (ref: string) => Promise<ImageInfo | null>;
  includePrereleases: boolean;
}

function memoImages(engine: Engine): Pass['images'] {
  const seen = new Map<string, Promise<ImageInfo | null>>();
  return (ref) => {
    let p = seen.get(ref);
    if (!p) {
      p = engine.inspectImage(ref);
      seen.set(ref, p);
    }
    return p;
  };
}

async function checkSite(site: Site, pass: Pass): Promise<UpdateCheck> {
  const parsed = parseReference(site.image.reference);
  const base = { container: site.name, policy: site.policy };
  if (!parsed.ok) {
    return { ...base, current: { reference: site.image.reference, imageId: site.image.id, digest: null }, candidate: null, status: 'error', reason: parsed.reason };
  }
  const ref = parsed.ref;
  const runningDigests = repoDigestsFor(ref, site.image.repoDigests);
  const current = { reference: site.image.reference, imageId: site.image.id, digest: runningDigests[0] ?? null };
  const result = (status: UpdateCheck['status'], candidate: UpdateCheck['candidate'], reason: string): UpdateCheck => ({ ...base, current, candidate, status, reason });

  if (ref.digest) return result('current', null, `${ref.original} is pinned by digest; refit does not move pinned references`);
  const tag = ref.tag!;

  let localNote: { candidate: NonNullable<UpdateCheck['candidate']>; reason: string } | null = null;
  try {
    localNote = await localTag(site, ref, pass);
    if (site.policy !== 'digest') {
      const choice = pickNewerTag(tag, await pass.client.listTags(ref), site.policy, pass.includePrereleases);
      if (choice.kind === 'newer') {
        const head = await pass.client.manifestHead(ref, choice.tag);
        return result('update', { reference: withTag(ref, choice.tag), digest: head.digest }, `${choice.tag} is the newest tag within the ${site.policy} range after ${tag}`);
      }
      const then = `; checking whether ${tag} itself has a new digest`;
      if (localNote) return result('update', localNote.candidate, `${choice.reason}${then}: ${localNote.reason}`);
      return sameTag(ref, tag, runningDigests, pass, `${choice.reason}${then}: `).then((r) => result(r.status, r.candidate, r.reason));
    }
    if (localNote) return result('update', localNote.candidate, localNote.reason);
    const r = await sameTag(ref, tag, runningDigests, pass, '');
    return result(r.status, r.candidate, r.reason);
  } catch (err) {
    const why = `cannot check ${ref.original}: ${oneLine(err)}`;
    if (localNote) return result('update', localNote.candidate, `${localNote.reason} (the registry could not be asked: ${why})`);
    return result('error', null, why);
  }
}

/** A local tag that already points at a newer image than the running one. */
async function localTag(site: Site, ref: ImageRef, pass: Pass): Promise<{ candidate: NonNullable<UpdateCheck['candidate']>; reason: string } | null> {
  const [running, local] = await Promise.all([pass.images(site.image.id), pass.images(site.image.reference)]);
  if (!running || !local) return null;
  if (!localTagIsNewer({ id: running.Id, created: running.Created }, { id: local.Id, created: local.Created })) return null;
  return {
    candidate: { reference: site.image.reference, digest: repoDigestsFor(ref, local.RepoDigests ?? [])[0] ?? null },
    reason: `the local tag ${site.image.reference} already points at image ${short(local.Id)} (created ${local.Created}), newer than the running ${short(running.Id)} (created ${running.Created})`,
  };
}

async function sameTag(ref: ImageRef, tag: string, runningDigests: string[], pass: Pass, prefix: string): Promise<Pick<UpdateCheck, 'status' | 'candidate' | 'reason'>> {
  const head = await pass.client.manifestHead(ref, tag);
  const children = head.isIndex && !runningDigests.includes(head.digest) ? await pass.client.indexChildren(ref, head.digest) : [];
  if (digestIsCurrent(head.digest, children, runningDigests)) {
    const how = runningDigests.includes(head.digest) ? '' : ' (as one platform of its multi-arch index)';
    return { status: 'current', candidate: null, reason: `${prefix}the registry serves ${tag} as ${short(head.digest)}, the running image's digest${how}` };
  }
  const had = runningDigests.length ? `the running image is ${runningDigests.map(short).join(', ')}` : `the running image has no digest from ${repoKey(ref)} (built locally or pulled under another name)`;
  return { status: 'update', candidate: { reference: ref.original, digest: head.digest }, reason: `${prefix}the registry serves ${tag} as ${short(head.digest)}${head.isIndex ? ' (multi-arch index)' : ''}; ${had}` };
}

function short(digestOrId: string): string {
  return digestOrId.replace(/^(sha256:[a-f0-9]{12})[a-f0-9]*$/, '$1');
}
