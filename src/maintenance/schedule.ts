/**
 * @module maintenance/schedule
 * How many maintenances of a pass run at once, and which may run together (`maintenance.concurrency`).
 *
 * Two maintenances run at the same time only when neither can undo what the other relies on.
 * Each claims keys, exclusive or shared; a maintenance starts only when none of its keys is held
 * by a running one in a way that clashes (exclusive with anything, shared with exclusive):
 *  - `config:<dir>` exclusive: the customer's config dir is merged, swapped and maybe swapped
 *    back by its maintenance; two services sharing one dir take turns;
 *  - `tag:<reference>`: a same-tag update (a new digest under the tag the site runs by) moves
 *    that tag on pull and moves it back on rollback, so it holds the tag exclusively; an update
 *    to another tag only relies on its old and new tags (never moves one back) and shares them.
 *    So sites updated from 1.4 to 1.5 run together, while sites on `:latest` take turns.
 * Everything else two maintenances share is safe by itself: a compose file's image value is
 * changed by compare-and-swap (compose-files.ts), Compose runs one at a time per project
 * (real-world.ts), shadows are told apart per service (compose/shadow.ts), and the proxy takes
 * one change at a time (proxy/process.ts).
 */
import { cpus } from 'node:os';
import type { Site } from '../site/discover.js';
import type { Candidate } from './pipeline.js';

export interface Claim {
  exclusive: string[];
  shared: string[];
}

export const NO_CLAIM: Claim = { exclusive: [], shared: [] };

export function claimOf(site: Pick<Site, 'image' | 'config'>, candidate: Candidate): Claim {
  const config = site.config ? [`config:${site.config.hostPath.replace(/\/+$/, '')}`] : [];
  const from = `tag:${site.image.reference}`;
  if (candidate.reference === site.image.reference) return { exclusive: [...config, from], shared: [] };
  return { exclusive: config, shared: [from, `tag:${candidate.reference}`] };
}

/** Whether `claim` may start while `running` are held (pure). */
export function clashes(claim: Claim, running: readonly Claim[]): boolean {
  const held = { exclusive: new Set(running.flatMap((c) => c.exclusive)), shared: new Set(running.flatMap((c) => c.shared)) };
  return claim.exclusive.some((k) => held.exclusive.has(k) || held.shared.has(k)) || claim.shared.some((k) => held.exclusive.has(k));
}

/**
 * `maintenance.concurrency: auto`: one maintenance per CPU, at most 4. A maintenance mostly waits
 * (on the engine, on health checks, on drains), so each core keeps one busy; past 4, the
 * engine's container starts and stops queue behind each other and only the tail latency of the
 * sites grows (bench/window).
 */
export function autoConcurrency(cpuCount: number): number {
  return Math.min(4, Math.max(1, cpuCount));
}

export function passConcurrency(setting: 'auto' | number, cpuCount = cpus().length): number {
  return setting === 'auto' ? autoConcurrency(cpuCount) : setting;
}

/**
 * Runs `fn` over `items`, at most `size` at once, an item starting only while its claim does
 * not clash with those running (otherwise the next one that fits goes first); results keep the
 * items' order.
 */
export async function inPool<T, R>(items: readonly T[], size: number, claim: (item: T) => Claim, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const waiting = items.map((item, i) => ({ item, i, claim: claim(item) }));
  const running = new Map<number, Claim>();
  return new Promise((resolve, reject) => {
    let failed = false;
    const launch = () => {
      if (failed) return;
      if (!waiting.length && !running.size) return resolve(results);
      while (running.size < size) {
        const next = waiting.findIndex((w) => !clashes(w.claim, [...running.values()]));
        if (next < 0) break;
        const [{ item, i, claim: c }] = waiting.splice(next, 1) as [(typeof waiting)[number]];
        running.set(i, c);
        fn(item).then(
          (r) => {
            results[i] = r;
            running.delete(i);
            launch();
          },
          (err: unknown) => {
            failed = true;
            reject(err);
          },
        );
      }
    };
    launch();
  });
}
