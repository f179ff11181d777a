/**
 * @module fleet/image
 * The IMAGE[@DIGEST] operators name in `refit fleet hold|release|history --image`: a
 * repository (every digest of it) or one image by digest. A tag is refused: it can move, and
 * the fleet rolls out digests.
 */
import { RefitError } from '../errors.js';
import { parseReference, repoKey } from '../registry/reference.js';

export function parseImageArg(arg: string): { repository: string; digest: string | null } {
  const parsed = parseReference(arg);
  if (!parsed.ok) throw new RefitError('usage', parsed.reason, 'name a repository (registry.example/web) or one image (registry.example/web@sha256:…)');
  const { ref } = parsed;
  const name = arg.split('@')[0]!;
  if (name.lastIndexOf(':') > name.lastIndexOf('/')) {
    throw new RefitError('usage', `${arg} names a tag, which can move`, `name the repository (${repoKey(ref)}) or one image by digest (${repoKey(ref)}@sha256:…); \`refit fleet status\` lists the digests`);
  }
  return { repository: repoKey(ref), digest: ref.digest };
}
