/**
 * @module maintenance/shared-work
 * Work the maintenances of one pass share instead of each doing it again. One pull per image:
 * the first maintenance that pulls a reference pulls it, the others (at the same time, or
 * later in the pass) take its result, as long as the local tag still points at the image it
 * brought (a rollback may have pointed it back: then it is pulled again). The candidate was
 * decided once per pass by the update check, so a second pull could only bring the same image.
 *
 * The stock configs of an image are kept across passes (merge/stock-cache.ts), and the update
 * check asks the registry once per repository and pass (registry/check.ts).
 */
import type { World } from './world.js';

/** `world` with its pulls shared for as long as this view is used (one pass). */
export function withSharedPulls(world: World): World {
  const pulls = new Map<string, Promise<{ imageId: string }>>();
  const pull = async (reference: string): Promise<{ imageId: string }> => {
    const earlier = pulls.get(reference);
    if (earlier) {
      const got = await earlier.catch(() => null);
      if (got && (await world.tagTarget(reference)) === got.imageId) return got;
    }
    const fresh = world.pull(reference);
    pulls.set(reference, fresh);
    return fresh;
  };
  return new Proxy(world, {
    get: (target, prop, receiver) => (prop === 'pull' ? pull : Reflect.get(target, prop, receiver)),
  });
}

/**
 * Runs the functions given for one key one at a time, in call order; different keys run at
 * once. A key's queue is dropped once it runs empty.
 */
export function turnsPerKey(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>) => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
