import { describe, expect, it } from 'vitest';
import { countLog, type LogTally } from './access-log.js';

describe("the router's log of an observed site", () => {
  it('counts every server nginx tried, with its answer; 5xx apart', () => {
    const counts = new Map<string, LogTally>();
    const rest = countLog(
      ['172.20.0.5:80|200', '172.20.0.5:80|500', '172.20.0.7:80|503', '172.20.0.7:80, 172.20.0.5:80|502, 200', '172.20.0.5:80 : 172.20.0.9:80|404 : 201', ''].join('\n'),
      counts,
    );
    expect(rest).toBe('');
    expect(Object.fromEntries(counts)).toEqual({
      '172.20.0.5:80': { responses: 4, errors: 1 },
      '172.20.0.7:80': { responses: 2, errors: 2 },
      '172.20.0.9:80': { responses: 1, errors: 0 },
    });
  });

  it('leaves out what nginx answered itself and attempts without an answer, and keeps an incomplete last line for the next read', () => {
    const counts = new Map<string, LogTally>();
    expect(countLog('-|-\n172.20.0.5:80|-\n172.20.0.5:80, 172.20.0.7:80|-, 200\ngarbage\n172.20.0.5:80|2', counts)).toBe('172.20.0.5:80|2');
    expect(Object.fromEntries(counts)).toEqual({ '172.20.0.7:80': { responses: 1, errors: 0 } });
    expect(countLog('172.20.0.5:80|200\n', counts)).toBe('');
    expect(counts.get('172.20.0.5:80')).toEqual({ responses: 1, errors: 0 });
  });
});
