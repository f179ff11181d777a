/**
 * @module registry/progress
 * Turns the engine's pull event stream into what an operator reads: on a terminal one line
 * that updates in place (layers done, bytes), in logs one plain line per layer state change,
 * never the hundreds of byte-count ticks. Pure.
 */

export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

interface Layer {
  status: string;
  current: number;
  total: number;
}

const DONE = new Set(['Pull complete', 'Already exists']);

export class PullProgress {
  private readonly layers = new Map<string, Layer>();

  constructor(private readonly reference: string) {}

  /** Feeds one event; returns the plain log line it deserves, or null for a mere tick. */
  feed(e: PullEvent): string | null {
    if (e.error) return `${this.reference}: error: ${e.error}`;
    if (!e.status) return null;
    if (!e.id || e.status.startsWith('Pulling from')) return `${this.reference}: ${e.status}`;
    const layer = this.layers.get(e.id) ?? { status: '', current: 0, total: 0 };
    const changed = layer.status !== e.status;
    layer.status = e.status;
    if (e.progressDetail?.total) {
      layer.current = e.progressDetail.current ?? 0;
      layer.total = e.progressDetail.total;
    }
    this.layers.set(e.id, layer);
    return changed ? `${this.reference}: layer ${e.id}: ${e.status}` : null;
  }

  /** One summary line for a terminal. */
  summary(): string {
    const all = [...this.layers.values()];
    const done = all.filter((l) => DONE.has(l.status)).length;
    const downloading = all.filter((l) => l.status === 'Downloading');
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const bytes = downloading.length
      ? `, ${mb(downloading.reduce((s, l) => s + l.current, 0))}/${mb(downloading.reduce((s, l) => s + l.total, 0))} MB`
      : '';
    return `pulling ${this.reference}: ${done}/${all.length} layers done${bytes}`;
  }
}
