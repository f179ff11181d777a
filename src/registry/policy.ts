/**
 * @module registry/policy
 * What counts as newer, per `refit.policy` (SPEC.md, labels). Pure decisions over tags,
 * digests and image facts; the registry and the engine are asked elsewhere (check.ts).
 *
 * Version tags: an optional `v`, one to three numeric parts, then an optional pre-release
 * (`-rc1`, `-beta.2`) and a variant suffix (`-fpm`, `-alpine`). A candidate keeps the shape of
 * the running tag: same `v` prefix, same number of parts, same variant. A 2-part tag such as
 * `1.25` is a moving tag for its patch releases, so only `minor`/`major` can move it to `1.26`.
 */
import type { Policy } from '../site/labels.js';

export interface VersionTag {
  tag: string;
  prefix: '' | 'v';
  /** One to three numbers; missing trailing parts are absent, not zero. */
  parts: number[];
  /** Pre-release label without its dash (`rc1`), or null for a release. */
  prerelease: string | null;
  /** Everything after the version and pre-release, with its leading dash (`-fpm-alpine`), or ''. */
  variant: string;
}

const VERSION = /^(v?)(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?((?:-.*)?)$/;
// A pre-release label right after the version: rc1, rc.1, beta, beta.2, alpha-3, dev, pre ...
const PRERELEASE = /^-((?:alpha|beta|rc|pre|preview|dev|snapshot|canary|nightly|next)(?:[.-]?\d+)*)(?=$|-)/i;

export function parseVersionTag(tag: string): VersionTag | null {
  const m = VERSION.exec(tag);
  if (!m) return null;
  const parts = [m[2], m[3], m[4]].filter((p): p is string => p !== undefined).map(Number);
  let suffix = m[5] ?? '';
  let prerelease: string | null = null;
  const pre = PRERELEASE.exec(suffix);
  if (pre) {
    prerelease = pre[1]!;
    suffix = suffix.slice(pre[0].length);
  }
  return { tag, prefix: m[1] === 'v' ? 'v' : '', parts, prerelease, variant: suffix };
}

/** Release order; a pre-release sorts before its release, pre-releases among themselves by label. */
export function compareVersions(a: VersionTag, b: VersionTag): number {
  for (let i = 0; i < Math.max(a.parts.length, b.parts.length); i++) {
    const d = (a.parts[i] ?? 0) - (b.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === null) return 1;
  if (b.prerelease === null) return -1;
  return a.prerelease.localeCompare(b.prerelease, 'en', { numeric: true });
}

/** How many leading version parts must stay equal under each semver policy. */
const FIXED_PARTS: Record<Exclude<Policy, 'digest'>, number> = { patch: 2, minor: 1, major: 0 };

export type TagChoice =
  | { kind: 'newer'; tag: string }
  | { kind: 'none'; reason: string }
  | { kind: 'not-a-version'; reason: string };

/** The newest tag within the policy's range that keeps the current tag's shape, if any. */
export function pickNewerTag(currentTag: string, tags: readonly string[], policy: Exclude<Policy, 'digest'>, includePrereleases: boolean): TagChoice {
  const current = parseVersionTag(currentTag);
  if (!current) return { kind: 'not-a-version', reason: `tag ${currentTag} is not a version like 1.2.3, so policy ${policy} cannot rank it` };
  const fixed = FIXED_PARTS[policy];
  if (fixed >= current.parts.length) {
    return { kind: 'none', reason: `tag ${currentTag} already names the whole ${policy} range (it moves with each release)` };
  }
  let best: VersionTag | null = null;
  for (const tag of tags) {
    const v = parseVersionTag(tag);
    if (!v || v.prefix !== current.prefix || v.variant !== current.variant || v.parts.length !== current.parts.length) continue;
    if (v.prerelease !== null && !includePrereleases) continue;
    if (v.parts.slice(0, fixed).some((p, i) => p !== current.parts[i])) continue;
    if (compareVersions(v, current) <= 0) continue;
    if (!best || compareVersions(v, best) > 0) best = v;
  }
  if (best) return { kind: 'newer', tag: best.tag };
  const shape = `${current.prefix}${current.parts.map(() => 'N').join('.')}${current.variant}`;
  return { kind: 'none', reason: `no tag newer than ${currentTag} within the ${policy} range among ${tags.length} tags (shape ${shape}${includePrereleases ? '' : ', pre-releases ignored'})` };
}

/**
 * Same tag, new content? `remote` is what the registry serves for the tag now; `children`
 * are the per-platform manifests when that is a multi-arch index (an image pulled by
 * platform records the child's digest, not the index's).
 */
export function digestIsCurrent(remote: string, children: readonly string[], repoDigests: readonly string[]): boolean {
  return repoDigests.includes(remote) || children.some((c) => repoDigests.includes(c));
}

export interface LocalImage {
  id: string;
  /** ISO timestamp from the engine. */
  created: string;
}

/**
 * A local tag that already points at another, newer image than the running one (pulled or
 * built since the container started). An older image under the tag is not an update.
 */
export function localTagIsNewer(running: LocalImage, local: LocalImage | null): boolean {
  if (!local || local.id === running.id) return false;
  return Date.parse(local.created) > Date.parse(running.created);
}
