import { describe, expect, it } from 'vitest';
import { commandAtBase, targetNice } from './priority.js';

describe('priority', () => {
  it('lowers only: the configured nice value, or the one refit was started with when that is lower already', () => {
    expect(targetNice(0, 10)).toBe(10);
    expect(targetNice(15, 10)).toBe(15);
    expect(targetNice(0, 0)).toBe(0);
  });

  it('runs a proxy as it is while refit was not lowered, else back at the nice value refit was started with and the I/O priority that follows it', () => {
    expect(commandAtBase('haproxy', ['-f', 'x.cfg'], null)).toEqual({ file: 'haproxy', args: ['-f', 'x.cfg'] });
    expect(commandAtBase('haproxy', ['-f', 'x.cfg'], { base: 5, nice: 5 })).toEqual({ file: 'haproxy', args: ['-f', 'x.cfg'] });
    expect(commandAtBase('haproxy', ['-f', 'x.cfg'], { base: 0, nice: 10 })).toEqual({ file: 'nice', args: ['-n', '-10', 'ionice', '-c', '0', 'haproxy', '-f', 'x.cfg'] });
    expect(commandAtBase('nginx', [], { base: 3, nice: 10 })).toEqual({ file: 'nice', args: ['-n', '-7', 'ionice', '-c', '0', 'nginx'] });
  });
});
