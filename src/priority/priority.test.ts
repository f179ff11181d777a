import { describe, expect, it } from 'vitest';
import { commandAtWorkPriority, notStarted, targetNice } from './priority.js';

describe('priority', () => {
  it('lowers only: the configured nice value, or the one refit runs at when that is lower already', () => {
    expect(targetNice(0, 10)).toBe(10);
    expect(targetNice(15, 10)).toBe(15);
    expect(targetNice(0, 0)).toBe(0);
  });

  it('runs a heavy child as it is without a work priority, else niced by the difference and at the lowest best-effort I/O level when ionice is there', () => {
    expect(commandAtWorkPriority('docker', ['compose', 'up'], null)).toEqual({ file: 'docker', args: ['compose', 'up'] });
    expect(commandAtWorkPriority('docker', ['compose', 'up'], { niceBy: 10, io: true })).toEqual({ file: 'nice', args: ['-n', '10', 'ionice', '-c', '2', '-n', '7', 'docker', 'compose', 'up'] });
    expect(commandAtWorkPriority('git', ['merge-file'], { niceBy: 7, io: false })).toEqual({ file: 'nice', args: ['-n', '7', 'git', 'merge-file'] });
  });

  it("tells a command nice or ionice could not start from the command's own exit code 127", () => {
    expect(notStarted(127, "nice: 'git': No such file or directory\n")).toBe("nice: 'git': No such file or directory");
    expect(notStarted(127, 'ionice: failed to execute git: No such file or directory\n')).toBe('ionice: failed to execute git: No such file or directory');
    expect(notStarted(127, '')).toBeNull();
    expect(notStarted(127, 'error: a conflict\n')).toBeNull();
    expect(notStarted(1, "nice: 'git': No such file or directory")).toBeNull();
  });
});
