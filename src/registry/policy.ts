/**
 * @module registry/policy
 * What counts as newer, per `refit.policy` (SPEC.md, labels). Pure decisions over tags,
 * digests and image facts; the registry and the engine are asked elsewhere (check.ts).
 *
 * Version tags: an optional `v`, one to four numeric parts (`1.2.3`, `1.2.3.4`, calendar
 * versions such as `2024.06.1`, `24.04` or `20240601`, and dates written `2024-06-01`), then an
 * optional pre-release (`-rc1`, `-beta.2`) and a variant suffix (`-fpm`, `-alpine`). A
 * candidate keeps the shape of the running tag: same `v` prefix, same number of parts, same
 * separator, same variant. A 2-part tag such as `1.25` is a moving tag for its patch releases,
 * so only `minor`/`major` can move it to `1.26`.
 */
import type { Policy } from '../site/labels.js';

export interface VersionTag {
  tag: string;
  prefix: '' | 'v';
  /** One to four numbers; missing trailing parts are absent, not zero. */
  parts: number[];
  /** `.` for versions, `-` only for dates written YYYY-MM-DD. */
  separator: '.' | '-';
  /** Pre-release label without its dash (`rc1`), or null for a release. */
  prerelease: string | null;
  /** Everything after the version and pre-release, with its leading dash (`-fpm-alpine`), or ''. */
  variant: string;
}

const VERSION = /^(v?)(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?((?:-.*)?)$/;
const DATE = /^()((?:19|20)\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])((?:-.*)?)$/;
// A pre-release label right after the version: rc1, rc.1, beta, beta.2, alpha-3, dev, pre ...
const PRERELEASE = /^-((?:alpha|beta|rc|pre|preview|dev|snapshot|canary|nightly|next)(?:[.-]?\d+)*)(?=$|-)/i;

export function parseVersionTag(tag: string): VersionTag | null {
  const date = DATE.exec(tag);
  const m = date ?? VERSION.exec(tag);
  if (!m) return null;
  const parts = m.slice(2, -1).filter((p): p is string => p !== undefined).map(Number);
  let suffix = m.at(-1) ?? '';
  let prerelease: string | null = null;
  const pre = PRERELEASE.exec(suffix);
  if (pre) {
    prerelease = pre[1]!;
    suffix = suffix.slice(pre[0].length);
  }
  return { tag, prefix: m[1] === 'v' ? 'v' : '', parts, separator: date ? '-' : '.', prerelease, variant: suffix };
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

export type TagRanking =
  /** Every tag newer than the current one within the policy's range and shape, newest first (may be empty). */
  | { kind: 'ranked'; tags: string[]; reason: string }
  | { kind: 'none'; reason: string }
  | { kind: 'not-a-version'; reason: string };

/** The tags within the policy's range that keep the current tag's shape and are newer, newest first. */
export function rankNewerTags(currentTag: string, tags: readonly string[], policy: Exclude<Policy, 'digest'>, includePrereleases: boolean): TagRanking {
  const current = parseVersionTag(currentTag);
  if (!current) return { kind: 'not-a-version', reason: `tag ${currentTag} is not a version like 1.2.3, so policy ${policy} cannot rank it` };
  const fixed = FIXED_PARTS[policy];
  if (fixed >= current.parts.length) {
    return { kind: 'none', reason: `tag ${currentTag} already names the whole ${policy} range (it moves with each release)` };
  }
  const newer: VersionTag[] = [];
  for (const tag of tags) {
    const v = parseVersionTag(tag);
    if (!v || v.prefix !== current.prefix || v.separator !== current.separator || v.variant !== current.variant || v.parts.length !== current.parts.length) continue;
    if (v.prerelease !== null && !includePrereleases) continue;
    if (v.parts.slice(0, fixed).some((p, i) => p !== current.parts[i])) continue;
    if (compareVersions(v, current) > 0) newer.push(v);
  }
  newer.sort((a, b) => compareVersions(b, a) || a.tag.localeCompare(b.tag));
  const sep = current.separator === '-' ? '-' : '.';
  const shape = `${current.prefix}${current.parts.map(() => 'N').join(sep)}${current.variant}`;
  const reason = `no tag newer than ${currentTag} within the ${policy} range among ${tags.length} tags (shape ${shape}${includePrereleases ? '' : ', pre-releases ignored'})`;
  return { kind: 'ranked', tags: newer.map((v) => v.tag), reason };
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
