/**
 * @module site/select
 * `--container NAME…`: which of the discovered sites a command works on.
 */
import { RefitError } from '../errors.js';
import type { Discovery, Site } from './discover.js';

/** Without names: every managed site. With names: exactly those, or a usage error naming each one refit cannot manage. */
export function selectSites(found: Discovery, names: string[] = []): Site[] {
  if (!names.length) return found.sites;
  const unknown = names.filter((n) => !found.sites.some((s) => s.name === n));
  if (unknown.length) {
    const why = (n: string) => found.unmanaged.find((u) => u.name === n)?.reason ?? 'no managed container has that name';
    throw new RefitError('usage', `--container ${unknown.map((n) => `${n}: ${why(n)}`).join('; ')}`, 'run `refit status` to list the managed containers');
  }
  return found.sites.filter((s) => names.includes(s.name));
}
