/**
 * @module site/labels
 * The public contract on containers: the `refit.*` labels (SPEC.md, "Labels"). Pure parsing:
 * a malformed label is a value that says which label and what is wrong, never a throw.
 */

export const LABEL = {
  enable: 'refit.enable',
  vhosts: 'refit.vhosts',
  port: 'refit.port',
  config: 'refit.config',
  policy: 'refit.policy',
  healthPath: 'refit.health.path',
  preUpdate: 'refit.hook.pre-update',
  postUpdate: 'refit.hook.post-update',
  tagInclude: 'refit.tag.include',
  tagExclude: 'refit.tag.exclude',
  minAge: 'refit.min-age',
  /** How long refit watches the site after an update (`10m`), or `off`: wins over maintenance.watch. */
  watch: 'refit.watch',
  /** Set by refit on the shadow containers it starts: never a site of its own. */
  shadowOf: 'refit.shadow-of',
} as const;

export const POLICIES = ['digest', 'patch', 'minor', 'major'] as const;
export type Policy = (typeof POLICIES)[number];

/** Which tags a semver policy may choose (regular expressions), and how old an image must be. */
export interface TagRules {
  include: string | null;
  exclude: string | null;
  /** `text` as written (`3d`), for reasons. */
  minAge: { ms: number; text: string } | null;
}

export const NO_TAG_RULES: TagRules = { include: null, exclude: null, minAge: null };

export interface SiteLabels {
  /** Hostnames, preferred first; empty means "health checks use the IP". */
  vhosts: string[];
  port: number;
  /** Container path of the customer config dir, or null: no merge. */
  configPath: string | null;
  policy: Policy;
  healthPath: string;
  hooks: { preUpdate: string | null; postUpdate: string | null };
  tagRules: TagRules;
  /** The site's watch window in ms (0: off); null: the host's maintenance.watch. */
  watchMs: number | null;
}

export type LabelResult = { ok: true; labels: SiteLabels } | { ok: false; reason: string };

// RFC 1123 hostnames, one optional leading wildcard label.
const HOSTNAME = /^(\*\.)?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function isOptedIn(labels: Record<string, string>): boolean {
  return labels[LABEL.enable] === 'true';
}

export function parseSiteLabels(labels: Record<string, string>, defaultHealthPath = '/refit/health'): LabelResult {
  const bad = (label: string, what: string): LabelResult => ({
    ok: false,
    reason: `label ${label}=${JSON.stringify(labels[label])} ${what}`,
  });

  const vhosts: string[] = [];
  const rawVhosts = labels[LABEL.vhosts];
  if (rawVhosts !== undefined) {
    for (const part of rawVhosts.split(',')) {
      const host = part.trim().toLowerCase().replace(/\.$/, '');
      if (host === '') continue;
      if (!HOSTNAME.test(host)) return bad(LABEL.vhosts, `has ${JSON.stringify(part.trim())}, which is not a hostname`);
      if (!vhosts.includes(host)) vhosts.push(host);
    }
    if (vhosts.length === 0) return bad(LABEL.vhosts, 'lists no hostname; remove it or name at least one');
  }

  let port = 80;
  const rawPort = labels[LABEL.port];
  if (rawPort !== undefined) {
    if (!/^\d{1,5}$/.test(rawPort.trim()) || Number(rawPort) < 1 || Number(rawPort) > 65535) {
      return bad(LABEL.port, 'must be a TCP port number from 1 to 65535');
    }
    port = Number(rawPort);
  }

  let configPath: string | null = null;
  const rawConfig = labels[LABEL.config];
  if (rawConfig !== undefined) {
    const p = rawConfig.trim();
    if (!p.startsWith('/') || p.split('/').includes('..') || p === '/') {
      return bad(LABEL.config, 'must be an absolute container path below / without ".."');
    }
    configPath = p.replace(/\/+$/, '');
  }

  let policy: Policy = 'digest';
  const rawPolicy = labels[LABEL.policy];
  if (rawPolicy !== undefined) {
    if (!(POLICIES as readonly string[]).includes(rawPolicy.trim())) return bad(LABEL.policy, `must be one of ${POLICIES.join('|')}`);
    policy = rawPolicy.trim() as Policy;
  }

  let healthPath = defaultHealthPath;
  const rawHealth = labels[LABEL.healthPath];
  if (rawHealth !== undefined) {
    if (!/^\/[\x21-\x7e]*$/.test(rawHealth)) return bad(LABEL.healthPath, 'must be a URL path starting with / and without spaces');
    healthPath = rawHealth;
  }

  const patterns: Record<'include' | 'exclude', string | null> = { include: null, exclude: null };
  for (const [key, label] of [['include', LABEL.tagInclude], ['exclude', LABEL.tagExclude]] as const) {
    const raw = labels[label];
    if (raw === undefined) continue;
    if (raw === '' || raw.length > MAX_PATTERN) return bad(label, `must be a regular expression of 1 to ${MAX_PATTERN} characters`);
    try {
      new RegExp(raw);
    } catch (err) {
      return bad(label, `is not a regular expression: ${(err as Error).message}`);
    }
    patterns[key] = raw;
  }

  let minAge: TagRules['minAge'] = null;
  const rawMinAge = labels[LABEL.minAge];
  if (rawMinAge !== undefined) {
    const ms = parseDuration(rawMinAge.trim());
    if (ms === null) return bad(LABEL.minAge, 'must be a duration such as 30m, 12h, 3d or 2w');
    minAge = { ms, text: rawMinAge.trim() };
  }

  let watchMs: number | null = null;
  const rawWatch = labels[LABEL.watch]?.trim();
  if (rawWatch !== undefined) {
    watchMs = rawWatch === 'off' ? 0 : parseDuration(rawWatch);
    if (watchMs === null) return bad(LABEL.watch, 'must be a duration such as 10m or 1h, or off');
  }

  const hook = (label: string) => {
    const v = labels[label]?.trim();
    return v ? v : null;
  };

  return {
    ok: true,
    labels: {
      vhosts,
      port,
      configPath,
      policy,
      healthPath,
      hooks: { preUpdate: hook(LABEL.preUpdate), postUpdate: hook(LABEL.postUpdate) },
      tagRules: { ...patterns, minAge },
      watchMs,
    },
  };
}

const MAX_PATTERN = 256;
const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `30m`, `12h`, `3d`, `2w`, or a sum such as `1d12h`; null when it is none of these. */
export function parseDuration(text: string): number | null {
  if (!/^(\d{1,6}[smhdw])+$/.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(/(\d+)([smhdw])/g)) ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return ms > 0 && ms <= 2 ** 31 * 1000 ? ms : null;
}
