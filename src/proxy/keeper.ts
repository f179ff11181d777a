/**
 * @module proxy/keeper
 * The daemon keeps the host's traffic all week, not only during a pass:
 *  - at start it brings the proxy up and in step with what runs (sync.ts);
 *  - it follows the Engine's events (a customer's `docker compose up -d`, a container restarted
 *    onto a new IP, one that died) and syncs within about a second of the last one, plus a full
 *    sync every `reconcileMs` for whatever an event stream can miss;
 *  - it watches the proxy process and starts it again from its state (drains included) when it
 *    was killed or crashed;
 *  - containers that are not healthy yet are asked again every `retryMs` until they are.
 * It never touches the servers of a site a maintenance owns (see sync.ts).
 */
import { oneLine } from '../errors.js';
import { syncProxy, type SyncDeps, type SyncReport } from './sync.js';

export interface KeeperDeps extends SyncDeps {
  /** Calls `onChange` whenever something may have moved a site's traffic, until `signal` aborts. */
  watch(onChange: () => void, signal: AbortSignal): void;
  log: { info(msg: string): void; warn(msg: string): void; debug?(msg: string): void };
  /** Quiet time after an event before syncing (events come in bursts). */
  debounceMs: number;
  /** A full sync at least this often, events or not. */
  reconcileMs: number;
  /** How often the proxy process is looked at. */
  superviseMs: number;
  /** How soon a sync that left containers waiting (not healthy yet) or failed is tried again. */
  retryMs: number;
}

export interface Keeper {
  /** The first sync that succeeded (the proxy is up and in step); failures before it are logged and retried. */
  readonly ready: Promise<SyncReport>;
  /** Every sync's report, in order (tests and logs). */
  onSync(listener: (r: SyncReport) => void): void;
  stop(): Promise<void>;
}

export function startKeeper(d: KeeperDeps): Keeper {
  const stopping = new AbortController();
  const listeners: ((r: SyncReport) => void)[] = [];
  let due: NodeJS.Timeout | undefined;
  let dueAt = Number.POSITIVE_INFINITY;
  let running: Promise<void> | null = null;
  let again = false;
  let resolveReady: ((r: SyncReport) => void) | null = null;
  const ready = new Promise<SyncReport>((resolve) => (resolveReady = resolve));

  /** Syncs in `ms` (or sooner if one is already due sooner). */
  function schedule(ms: number): void {
    if (stopping.signal.aborted) return;
    const at = Date.now() + ms;
    if (at >= dueAt) return;
    clearTimeout(due);
    dueAt = at;
    due = setTimeout(() => {
      dueAt = Number.POSITIVE_INFINITY;
      void run();
    }, ms);
  }

  async function run(): Promise<void> {
    if (running) {
      again = true; // one more once this one ends: it may have looked before the change
      return;
    }
    running = (async () => {
      try {
        // A dead proxy is started here too (an apply would do it silently): say so.
        await revive('sync');
        // Gone between revive's look and the sync's apply, which started it again: said at once.
        const report = await syncProxy({ ...d, onRestarted: () => d.log.warn(restartedNote()) });
        d.log.debug?.(`synced ${report.sites.length} site(s)`);
        if (report.waiting.length) schedule(d.retryMs);
        resolveReady?.(report);
        resolveReady = null;
        for (const l of listeners) l(report);
      } catch (err) {
        d.log.warn(`proxy sync failed: ${oneLine(err)}; trying again in ${d.retryMs} ms`);
        schedule(d.retryMs);
      }
    })();
    await running;
    running = null;
    if (again) {
      again = false;
      void run();
    }
  }

  const restartedNote = () => `the ${d.proxy.kind} proxy was not running: started it again from its state`;
  d.watch(() => schedule(d.debounceMs), stopping.signal);
  const reconcile = setInterval(() => schedule(0), d.reconcileMs);
  /** Starts the proxy again when its process is gone; true when it had to. */
  async function revive(why: string): Promise<boolean> {
    d.log.debug?.(`${why}: is the ${d.proxy.kind} proxy running?`);
    const restarted = await d.proxy.revive();
    if (restarted) d.log.warn(restartedNote());
    else d.log.debug?.(`${why}: the ${d.proxy.kind} proxy runs`);
    return restarted;
  }
  let supervising = false;
  const supervise = setInterval(() => {
    if (supervising) return;
    supervising = true;
    revive('supervise')
      .then((restarted) => restarted && schedule(0))
      .catch((err: unknown) => d.log.warn(`the ${d.proxy.kind} proxy is not running and did not start: ${oneLine(err)}`))
      .finally(() => (supervising = false));
  }, d.superviseMs);
  schedule(0);

  return {
    ready,
    onSync: (l) => listeners.push(l),
    async stop() {
      stopping.abort();
      clearTimeout(due);
      clearInterval(reconcile);
      clearInterval(supervise);
      await running;
    },
  };
}
