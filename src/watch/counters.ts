/**
 * @module watch/counters
 * What a server answered through the proxy between two moments, from the proxy's own counters
 * (pure). A counter (its `key`: a HAProxy worker's slot, a generation of nginx's log) only
 * grows while it lives; a reload starts new ones from 0, and an old one vanishes when its
 * worker exits. So a tally remembers every key it has seen, from its first value to its last:
 * what a key counted before it vanished still counts, and a key that appears later counts
 * from 0.
 */
import type { ResponseCounts } from '../journal/types.js';
import type { ServerCounters } from '../proxy/types.js';

interface Seen {
  first: { responses: number; errors: number };
  last: ServerCounters;
}

export class CounterTally {
  private readonly seen = new Map<string, Seen>();

  /** `start`: the counters at the moment the tally begins (each key counts from there). */
  constructor(start: readonly ServerCounters[]) {
    for (const row of start) this.seen.set(row.key, { first: row, last: row });
  }

  /** Takes in a later read of the counters. */
  add(rows: readonly ServerCounters[]): this {
    for (const row of rows) {
      const was = this.seen.get(row.key);
      this.seen.set(row.key, { first: was?.first ?? { responses: 0, errors: 0 }, last: row });
    }
    return this;
  }

  /** What the server at this address answered since the tally began. */
  servedBy(server: { ip: string; port: number }): ResponseCounts {
    let requests = 0;
    let errors = 0;
    for (const { first, last } of this.seen.values()) {
      if (last.ip !== server.ip || last.port !== server.port) continue;
      requests += Math.max(0, last.responses - first.responses);
      errors += Math.max(0, last.errors - first.errors);
    }
    return { requests, errors };
  }
}
