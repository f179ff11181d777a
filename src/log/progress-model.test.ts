import { describe, expect, it } from 'vitest';
import { applyEvent, formatElapsed, renderTasks, type ProgressEvent, type TaskLine } from './progress-model.js';

const run = (events: ProgressEvent[]): TaskLine[] => events.reduce<TaskLine[]>(applyEvent, []);

describe('applyEvent', () => {
  it('keeps one task per container, in order of first appearance', () => {
    const tasks = run([
      { container: 'shop', step: 'pull', phase: 'begin', at: 0 },
      { container: 'blog', step: 'pull', phase: 'begin', at: 10 },
      { container: 'shop', step: 'pull', phase: 'done', at: 500 },
      { container: 'shop', step: 'merge', phase: 'begin', at: 510 },
    ]);
    expect(tasks.map((t) => [t.container, t.step, t.phase, t.firstAt, t.lastAt])).toEqual([
      ['shop', 'merge', 'begin', 0, 510],
      ['blog', 'pull', 'begin', 10, 10],
    ]);
  });

  it('keeps the failure message on the line while the undo steps run', () => {
    const tasks = run([
      { container: 'shop', step: 'shadow-health', phase: 'failed', at: 0, message: 'HTTP 500' },
      { container: 'shop', step: 'shadow', phase: 'undo', at: 10 },
    ]);
    expect(tasks[0]).toMatchObject({ step: 'shadow', phase: 'undo', message: 'HTTP 500' });
  });
});

describe('renderTasks', () => {
  const tasks = run([
    { container: 'shop', step: 'pull', phase: 'done', at: 0 },
    { container: 'shop', step: 'shadow-health', phase: 'begin', at: 1_000 },
    { container: 'blog-example', step: 'merge', phase: 'failed', at: 2_000, message: 'conflict in site.conf' },
  ]);

  it('aligns one line per container: icon, name, step, elapsed, message', () => {
    expect(renderTasks(tasks, 4_200, 200)).toEqual([
      '… shop          shadow-health    4.2s',
      '✗ blog-example  merge            0.0s  conflict in site.conf',
    ]);
  });

  it('stops the clock of a container whose last step is done or failed', () => {
    const done = run([
      { container: 'a', step: 'pull', phase: 'begin', at: 0 },
      { container: 'a', step: 'retire', phase: 'done', at: 65_000 },
    ]);
    expect(renderTasks(done, 999_999, 80)).toEqual(['✓ a  retire   1m05s']);
  });

  it('never writes a line wider than the terminal', () => {
    const lines = renderTasks(tasks, 4_200, 30);
    expect(lines.every((l) => [...l].length <= 30)).toBe(true);
    expect(lines[1]!.endsWith('…')).toBe(true);
  });
});

describe('formatElapsed', () => {
  it('is short at every scale', () => {
    expect(formatElapsed(4_249)).toBe('4.2s');
    expect(formatElapsed(125_000)).toBe('2m05s');
    expect(formatElapsed(3_720_000)).toBe('1h02m');
  });
});
