/**
 * @module watch/rules
 * Whether and how refit watches a site after its update (pure): the host's maintenance.watch,
 * with the window a site's `refit.watch` label sets instead (`off` never watches it).
 */
import type { WatchConfig } from '../config/schema.js';
import type { WatchRules } from '../journal/types.js';
import type { Site } from '../site/discover.js';

/** The rules for this site, or null when it is not watched. */
export function watchRulesFor(site: Pick<Site, 'watchMs'>, config: WatchConfig): WatchRules | null {
  const windowMs = site.watchMs ?? config.windowMs;
  if (windowMs <= 0) return null;
  return { windowMs, minRequests: config.minRequests, maxIncrease: config.maxIncrease };
}
