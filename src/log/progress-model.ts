/**
 * @module log/progress-model
 * What the terminal task list shows: one line per container with its current step, how it
 * stands and how long the container has taken. Events in, lines out. Pure.
 */

/** One step transition of one container, as the maintenance pipeline reports it. */
export interface ProgressEvent {
  container: string;
  step: string;
  phase: 'begin' | 'done' | 'failed' | 'undo';
  /** Epoch milliseconds. */
  at: number;
  message?: string;
}

export interface TaskLine {
  container: string;
  step: string;
  phase: ProgressEvent['phase'];
  firstAt: number;
  lastAt: number;
  message?: string;
}

/** Tasks in the order their containers first appeared. */
export function applyEvent(tasks: readonly TaskLine[], ev: ProgressEvent): TaskLine[] {
  const i = tasks.findIndex((t) => t.container === ev.container);
  const prev = tasks[i];
  // A failure's message stays on the line through the undo steps that follow it.
  const message = ev.message ?? (ev.phase === 'undo' && prev?.phase !== 'done' ? prev?.message : undefined);
  const next: TaskLine = { container: ev.container, step: ev.step, phase: ev.phase, firstAt: prev?.firstAt ?? ev.at, lastAt: ev.at, ...(message ? { message } : {}) };
  return i < 0 ? [...tasks, next] : tasks.map((t, j) => (j === i ? next : t));
}

const ICON: Record<ProgressEvent['phase'], string> = { begin: '…', done: '✓', failed: '✗', undo: '↩' };

/** Lines for `width` columns; never wider, since a wrapped line would break the in-place redraw. */
export function renderTasks(tasks: readonly TaskLine[], now: number, width: number): string[] {
  const nameWidth = Math.min(32, Math.max(0, ...tasks.map((t) => t.container.length)));
  const stepWidth = Math.min(24, Math.max(0, ...tasks.map((t) => stepLabel(t).length)));
  return tasks.map((t) => {
    const running = t.phase === 'begin' || t.phase === 'undo';
    const elapsed = formatElapsed((running ? now : t.lastAt) - t.firstAt);
    const line = `${ICON[t.phase]} ${t.container.padEnd(nameWidth)}  ${stepLabel(t).padEnd(stepWidth)}  ${elapsed.padStart(6)}${t.message ? `  ${t.message}` : ''}`;
    return fit(line, width);
  });
}

function stepLabel(t: TaskLine): string {
  return t.phase === 'undo' ? `undo ${t.step}` : t.step;
}

/** `4.2s`, `1m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function fit(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}
