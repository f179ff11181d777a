/**
 * @module docker/events
 * The Engine's event stream, narrowed to what can move a site's traffic: containers starting,
 * dying, going away, changing health, and networks connecting or dropping them. The stream is
 * reopened when it ends (dockerd restarted); a reopened stream may have missed events, which
 * the listener is told so it can look at everything again.
 */
import type { Engine } from './engine.js';

export type EngineChange = { kind: 'event'; type: string; action: string; id: string } | { kind: 'reconnected' };

const REOPEN_MS = 1_000;

const FILTERS = {
  type: ['container', 'network'] as ('container' | 'network')[],
  event: ['start', 'restart', 'die', 'stop', 'destroy', 'pause', 'unpause', 'rename', 'health_status', 'connect', 'disconnect'],
};

/** Calls `onChange` for every such event until `signal` aborts; never throws (errors go to `log`). */
export function watchEngineEvents(engine: Engine, onChange: (c: EngineChange) => void, signal: AbortSignal, log: (line: string) => void = () => undefined): void {
  let opened = false;
  const open = async (): Promise<void> => {
    if (signal.aborted) return;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await engine.api.getEvents({ filters: FILTERS });
    } catch (err) {
      log(`docker events: cannot open the stream (${(err as Error).message}); retrying`);
      setTimeout(() => void open(), REOPEN_MS).unref();
      return;
    }
    if (opened) onChange({ kind: 'reconnected' });
    opened = true;
    const stop = () => (stream as unknown as { destroy?: () => void }).destroy?.();
    signal.addEventListener('abort', stop, { once: true });
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        const change = parseEvent(line);
        if (change) onChange(change);
      }
    });
    const reopen = () => {
      signal.removeEventListener('abort', stop);
      if (signal.aborted) return;
      log('docker events: the stream ended; reopening');
      setTimeout(() => void open(), REOPEN_MS).unref();
    };
    stream.once('end', reopen);
    stream.once('error', reopen);
  };
  void open();
}

/** One line of the Engine's event stream; null for what is not an event. */
export function parseEvent(line: string): EngineChange | null {
  if (!line) return null;
  try {
    const e = JSON.parse(line) as { Type?: string; Action?: string; Actor?: { ID?: string } };
    if (!e.Type || !e.Action) return null;
    return { kind: 'event', type: e.Type, action: e.Action, id: e.Actor?.ID ?? '' };
  } catch {
    return null;
  }
}
