/**
 * @module log/progress
 * Shows a pass's progress. On a terminal: a task list redrawn in place (ANSI cursor moves),
 * ticking once a second so elapsed times move. Otherwise: one structured log line per event,
 * which is what journald, CI logs and `| tee` want.
 */
import type { Logger } from 'pino';
import { applyEvent, renderTasks, type ProgressEvent, type TaskLine } from './progress-model.js';

export type { ProgressEvent } from './progress-model.js';

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Where the non-terminal log lines go. */
  logger: Logger;
  now?: () => number;
  /** Redraw interval on a terminal; 0 redraws only on events. */
  tickMs?: number;
}

export interface Progress {
  event(ev: ProgressEvent): void;
  /** A line of its own above the task list (a warning, a notice), without breaking the redraw. */
  note(line: string): void;
  /** Draws the final state and stops the ticker. */
  stop(): void;
}

const UP = (n: number) => (n > 0 ? `\x1b[${n}A` : '');
const CLEAR_DOWN = '\x1b[0J';

export function createProgress(out: ProgressStream, opts: ProgressOptions): Progress {
  return out.isTTY ? terminalProgress(out, opts) : logProgress(opts.logger);
}

function terminalProgress(out: ProgressStream, opts: ProgressOptions): Progress {
  const now = opts.now ?? Date.now;
  let tasks: TaskLine[] = [];
  let drawn = 0;
  const draw = (above = '') => {
    const lines = renderTasks(tasks, now(), Math.max(20, (out.columns ?? 100) - 1));
    // Back to the top of the previous drawing, wipe it, draw again: one write, no flicker.
    out.write(`\r${UP(drawn)}${CLEAR_DOWN}${above}${lines.map((l) => `${l}\n`).join('')}`);
    drawn = lines.length;
  };
  const tickMs = opts.tickMs ?? 1000;
  const timer = tickMs > 0 ? setInterval(() => draw(), tickMs) : undefined;
  timer?.unref();
  return {
    event(ev) {
      tasks = applyEvent(tasks, ev);
      draw();
    },
    note: (line) => draw(`${line}\n`),
    stop() {
      if (timer) clearInterval(timer);
      draw();
    },
  };
}

function logProgress(logger: Logger): Progress {
  const first = new Map<string, number>();
  return {
    event(ev) {
      const since = first.get(ev.container) ?? ev.at;
      first.set(ev.container, since);
      const fields = { container: ev.container, step: ev.step, phase: ev.phase, elapsedMs: ev.at - since, ...(ev.message ? { detail: ev.message } : {}) };
      const text = `${ev.container}: ${ev.phase === 'undo' ? 'undo ' : ''}${ev.step}${ev.phase === 'begin' || ev.phase === 'undo' ? '' : ` ${ev.phase}`}${ev.message ? `: ${ev.message}` : ''}`;
      if (ev.phase === 'failed') logger.warn(fields, text);
      else logger.info(fields, text);
    },
    note: (line) => logger.info(line),
    stop: () => undefined,
  };
}
