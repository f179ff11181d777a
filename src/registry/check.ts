/**
 * @module registry/check
 * Update detection for a pass over the managed containers (SPEC.md step 1): per container,
 * under its `refit.policy` and tag rules (`refit.tag.include`, `refit.tag.exclude`,
 * `refit.min-age`), is there a newer image, which one, and why (or why not), including which
 * newer tags were passed over. One container's failure is its own `error` entry; the pass
 * always goes on. Nothing is changed.
 */
import type { RegistryConfig } from '../config/schema.js';
import type { Engine, ImageInfo } from '../docker/engine.js';
import { oneLine } from '../errors.js';
import type { Site } from '../site/discover.js';
import { NO_TAG_RULES, type Policy } from '../site/labels.js';
import { RegistryClient, type Platform } from './client.js';
import { openCredentials } from './credentials.js';
import { limiter } from './limit.js';
import { digestIsCurrent, localTagIsNewer, rankNewerTags } from './policy.js';
import { parseReference, repoDigestsFor, repoKey, withTag, type ImageRef } from './reference.js';
import { describePassedOver, filterByPatterns, tooYoung, type PassedOver } from './tag-rules.js';
import { Transport } from './transport.js';

export interface UpdateCheck {
  container: string;
  policy: Policy;
  current: { reference: string; imageId: string; digest: string | null };
  candidate: { reference: string; digest: string | null } | null;
  status: 'update' | 'current' | 'error';
  reason: string;
  /** Newer tags in the policy's range that the tag rules passed over, newest first, each with why. */
  passedOver: PassedOver[];
}

export interface CheckDeps {
  engine: Engine;
  config: RegistryConfig;
  /** Where the Docker config and credential helpers are looked up ($DOCKER_CONFIG, $HOME, PATH); default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Whether the site's compose project can be pointed at another tag of its image: null when
   * it can, else why not. Asked for every update that changes the tag, so a project refit
   * cannot bump is refused here, before anything is pulled or drained.
   */
  canNameTag?: (site: Site, reference: string) => Promise<string | null>;
  now?: () => number;
}

/** First delay of the exponential backoff between retries. */
const BACKOFF_BASE_MS = 250;
/** `refit.min-age` reads one config blob per tag: at most this many tags are looked at per container. */
const MAX_AGE_LOOKUPS = 10;

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
    client: new RegistryClient(transport, openCredentials(deps.config, deps.env)),
    images: memoImages(deps.engine),
    includePrereleases: deps.config.includePrereleases,
    canNameTag: deps.canNameTag ?? (async () => null),
    now: deps.now ?? Date.now,
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
  canNameTag: NonNullable<CheckDeps['canNameTag']>;
  now: () => number;
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

type Outcome = Pick<UpdateCheck, 'status' | 'candidate' | 'reason'>;

async function checkSite(site: Site, pass: Pass): Promise<UpdateCheck> {
  const parsed = parseReference(site.image.reference);
  const base = { container: site.name, policy: site.policy };
  if (!parsed.ok) {
    return { ...base, current: { reference: site.image.reference, imageId: site.image.id, digest: null }, candidate: null, status: 'error', reason: parsed.reason, passedOver: [] };
  }
  const ref = parsed.ref;
  const runningDigests = repoDigestsFor(ref, site.image.repoDigests);
  const current = { reference: site.image.reference, imageId: site.image.id, digest: runningDigests[0] ?? null };
  const passedOver: PassedOver[] = [];
  const result = (o: Outcome): UpdateCheck => ({ ...base, current, ...o, passedOver });

  if (ref.digest) return result({ status: 'current', candidate: null, reason: `${ref.original} is pinned by digest; refit does not move pinned references` });
  const tag = ref.tag!;
  const c: SiteCheck = { site, ref, runningDigests, pass };

  let localNote: { candidate: NonNullable<UpdateCheck['candidate']>; reason: string } | null = null;
  try {
    localNote = await localTag(c);
    if (site.policy !== 'digest') {
      const ranking = rankNewerTags(tag, await pass.client.listTags(ref), site.policy, pass.includePrereleases);
      let note = ranking.reason;
      if (ranking.kind === 'ranked') {
        const choice = await chooseTag(c, ranking.tags);
        passedOver.push(...choice.passedOver);
        const rules = passedOver.length ? ' that passes the tag rules' : '';
        if (choice.tag) {
          const head = await pass.client.manifestHead(ref, choice.tag);
          const candidate = { reference: withTag(ref, choice.tag), digest: head.digest };
          return result(await nameable(c, { status: 'update', candidate, reason: `${choice.tag} is the newest tag within the ${site.policy} range after ${tag}${rules}${describePassedOver(passedOver)}${choice.limit}` }));
        }
        if (passedOver.length) note = `no tag newer than ${tag} within the ${site.policy} range passes the tag rules${describePassedOver(passedOver)}${choice.limit}`;
      }
      const then = `; checking whether ${tag} itself has a new digest`;
      if (localNote) return result({ status: 'update', candidate: localNote.candidate, reason: `${note}${then}: ${localNote.reason}` });
      return result(await sameTag(c, `${note}${then}: `));
    }
    if (localNote) return result({ status: 'update', candidate: localNote.candidate, reason: localNote.reason });
    return result(await sameTag(c, ''));
  } catch (err) {
    const why = `cannot check ${ref.original}: ${oneLine(err)}`;
    if (localNote) return result({ status: 'update', candidate: localNote.candidate, reason: `${localNote.reason} (the registry could not be asked: ${why})` });
    return result({ status: 'error', candidate: null, reason: why });
  }
}

interface SiteCheck {
  site: Site;
  ref: ImageRef;
  runningDigests: string[];
  pass: Pass;
}

/** An update to another tag stands only if the compose project can be pointed at that tag. */
async function nameable(c: SiteCheck, o: Outcome): Promise<Outcome> {
  if (o.status !== 'update' || !o.candidate || o.candidate.reference === c.site.image.reference) return o;
  const why = await c.pass.canNameTag(c.site, o.candidate.reference);
  return why ? { status: 'error', candidate: null, reason: `${o.reason}; refit cannot apply it: ${why}` } : o;
}

/**
 * The newest of `ranked` (newest first) that the tag rules allow. The tags passed over on the
 * way are returned with their reasons; older ones are not listed.
 */
async function chooseTag(c: SiteCheck, ranked: string[]): Promise<{ tag: string | null; passedOver: PassedOver[]; limit: string }> {
  const rules = c.site.tagRules ?? NO_TAG_RULES;
  const { kept, passedOver } = filterByPatterns(ranked, rules);
  const rank = new Map(ranked.map((t, i) => [t, i]));
  const before = (tag: string | null) => (tag === null ? passedOver : passedOver.filter((p) => rank.get(p.tag)! < rank.get(tag)!)).sort((a, b) => rank.get(a.tag)! - rank.get(b.tag)!);
  if (!rules.minAge) return { tag: kept[0] ?? null, passedOver: before(kept[0] ?? null), limit: '' };
  const platform = await platformOf(c);
  for (const [i, tag] of kept.entries()) {
    if (i >= MAX_AGE_LOOKUPS) return { tag: null, passedOver: before(null), limit: ` (refit looked at the newest ${MAX_AGE_LOOKUPS} candidates for refit.min-age; ${kept.length - i} older ones not examined)` };
    const young = tooYoung(await c.pass.client.imageCreated(c.ref, tag, platform), rules, c.pass.now());
    if (!young) return { tag, passedOver: before(tag), limit: '' };
    passedOver.push({ tag, reason: young });
  }
  return { tag: null, passedOver: before(null), limit: '' };
}

/** The running image's platform: which image of a multi-arch index refit.min-age is about. */
async function platformOf(c: SiteCheck): Promise<Platform> {
  const running = await c.pass.images(c.site.image.id);
  if (running?.Os && running.Architecture) return { os: running.Os, architecture: running.Architecture, ...(running.Variant ? { variant: running.Variant } : {}) };
  return { os: 'linux', architecture: GO_ARCH[process.arch] ?? process.arch };
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/** A local tag that already points at a newer image than the running one (and, under refit.min-age, old enough). */
async function localTag(c: SiteCheck): Promise<{ candidate: NonNullable<UpdateCheck['candidate']>; reason: string } | null> {
  const { site, ref, pass } = c;
  const [running, local] = await Promise.all([pass.images(site.image.id), pass.images(site.image.reference)]);
  if (!running || !local) return null;
  if (!localTagIsNewer({ id: running.Id, created: running.Created }, { id: local.Id, created: local.Created })) return null;
  if (tooYoung(local.Created, site.tagRules ?? NO_TAG_RULES, pass.now())) return null;
  return {
    candidate: { reference: site.image.reference, digest: repoDigestsFor(ref, local.RepoDigests ?? [])[0] ?? null },
    reason: `the local tag ${site.image.reference} already points at image ${short(local.Id)} (created ${local.Created}), newer than the running ${short(running.Id)} (created ${running.Created})`,
  };
}

async function sameTag(c: SiteCheck, prefix: string): Promise<Outcome> {
  const { ref, runningDigests, pass } = c;
  const tag = ref.tag!;
  const head = await pass.client.manifestHead(ref, tag);
  const children = head.isIndex && !runningDigests.includes(head.digest) ? await pass.client.indexChildren(ref, head.digest) : [];
  if (digestIsCurrent(head.digest, children, runningDigests)) {
    const how = runningDigests.includes(head.digest) ? '' : ' (as one platform of its multi-arch index)';
    return { status: 'current', candidate: null, reason: `${prefix}the registry serves ${tag} as ${short(head.digest)}, the running image's digest${how}` };
  }
  const served = `${prefix}the registry serves ${tag} as ${short(head.digest)}${head.isIndex ? ' (multi-arch index)' : ''}`;
  const rules = c.site.tagRules ?? NO_TAG_RULES;
  if (rules.minAge) {
    const young = tooYoung(await pass.client.imageCreated(ref, head.digest, await platformOf(c)), rules, pass.now());
    if (young) return { status: 'current', candidate: null, reason: `${served}, an image ${young}: the running image stays until then` };
  }
  const had = runningDigests.length ? `the running image is ${runningDigests.map(short).join(', ')}` : `the running image has no digest from ${repoKey(ref)} (built locally or pulled under another name)`;
  return { status: 'update', candidate: { reference: ref.original, digest: head.digest }, reason: `${served}; ${had}` };
}

function short(digestOrId: string): string {
  return digestOrId.replace(/^(sha256:[a-f0-9]{12})[a-f0-9]*$/, '$1');
}
