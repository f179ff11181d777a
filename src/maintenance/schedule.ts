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
 * `maintenance.concurrency: auto`: one maintenance per two CPUs, at least 1, at most 4. A
 * maintenance is mostly the engine's work (two container starts and stops, about 1.2 s of CPU
 * per site), which shares the cores with the sites. On 2 cores (bench/window, 100 sites) two at
 * once took 128 s with the sites' p99 at 30 ms, one at a time 194 s at 16 ms (4 ms steady):
 * both far inside any window, so the sites' tail decides. The cap of 4 is a guess, not a
 * measurement: the engine starts and stops containers one after another anyway.
 */
export function autoConcurrency(cpuCount: number): number {
  return Math.min(4, Math.max(1, Math.floor(cpuCount / 2)));
}

export function passConcurrency(setting: 'auto' | number, cpuCount = cpus().length): number {
  return setting === 'auto' ? autoConcurrency(cpuCount) : setting;
}

/**
 * The claims held in a pass right now: its maintenances', and the reverts the watch starts
 * beside them (a revert clashes like the update it undoes). A claim waiting in `take` is granted
 * before the pool starts anything else, so a revert is not starved by the sites still queued.
 */
export class ClaimBoard {
  private readonly held = new Map<number, Claim>();
  private readonly waiting: { claim: Claim; grant: (release: () => void) => void }[] = [];
  private readonly listeners = new Set<() => void>();
  private ids = 0;

  /** Holds `claim` if nothing held clashes with it; its release, or null. */
  tryTake(claim: Claim): (() => void) | null {
    if (clashes(claim, [...this.held.values()])) return null;
    const id = this.ids++;
    this.held.set(id, claim);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(id);
      this.granted();
    };
  }

  /** Holds `claim` as soon as nothing held clashes with it. */
  take(claim: Claim): Promise<() => void> {
    const now = this.tryTake(claim);
    if (now) return Promise.resolve(now);
    return new Promise((grant) => this.waiting.push({ claim, grant }));
  }

  /** Called after every release (once the waiting `take`s it lets through are granted). */
  onRelease(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private granted(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const release = this.tryTake(this.waiting[i]!.claim);
      if (release) this.waiting.splice(i, 1)[0]!.grant(release);
      else i++;
    }
    for (const listener of this.listeners) listener();
  }
}

/**
 * Runs `fn` over `items`, at most `size` at once, an item starting only while its claim does
 * not clash with those held on `board` (otherwise the next one that fits goes first); results
 * keep the items' order.
 */
export async function inPool<T, R>(items: readonly T[], size: number, claim: (item: T) => Claim, fn: (item: T) => Promise<R>, board = new ClaimBoard()): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const waiting = items.map((item, i) => ({ item, i, claim: claim(item) }));
  let running = 0;
  let stopListening = () => {};
  return new Promise<R[]>((resolve, reject) => {
    let failed = false;
    const launch = () => {
      if (failed) return;
      if (!waiting.length && !running) return resolve(results);
      while (running < size) {
        let release: (() => void) | null = null;
        const next = waiting.findIndex((w) => (release = board.tryTake(w.claim)) !== null);
        if (next < 0) break;
        const [{ item, i }] = waiting.splice(next, 1) as [(typeof waiting)[number]];
        running++;
        fn(item).then(
          (r) => {
            results[i] = r;
            running--;
            release!();
          },
          (err: unknown) => {
            failed = true;
            reject(err);
          },
        );
      }
    };
    // Whatever releases a claim (one of ours, or a revert beside us) may let a waiting item start.
    stopListening = board.onRelease(launch);
    launch();
  }).finally(() => stopListening());
}
