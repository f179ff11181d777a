import { describe, expect, it } from 'vitest';
import { markerSizeFor, parseConflicts } from './conflicts.js';

describe('conflict hunks', () => {
  it('picks a marker size longer than any marker-like run in the inputs', () => {
    expect(markerSizeFor(Buffer.from('a\n'))).toBe(7);
    expect(markerSizeFor(Buffer.from('x\n<<<<<<<<<< HEAD\n'), Buffer.from('=========\n'))).toBe(11);
  });

  it('reports each hunk: the line where the customer text starts, what was kept and what upstream wanted', () => {
    const out = Buffer.from(['a\n', '<<<<<<< customer\n', 'mine\n', 'mine2\n', '=======\n', 'theirs\n', '>>>>>>> latest\n', 'b\n', '<<<<<<< customer\n', '=======\n', 'gone\n', '>>>>>>> latest\n'].join(''));
    expect(parseConflicts(out, 7)).toEqual([
      { line: 2, customer: 'mine\nmine2\n', upstream: 'theirs\n' },
      { line: 5, customer: '', upstream: 'gone\n' },
    ]);
  });

  it('keeps CRLF in the reported text and ignores content that only looks like a marker', () => {
    const out = Buffer.from('<<<<<<<<< customer\r\n<<<<<<< not a marker\r\n=========\r\nup\r\n>>>>>>>>> latest\r\n');
    expect(parseConflicts(out, 9)).toEqual([{ line: 1, customer: '<<<<<<< not a marker\r\n', upstream: 'up\r\n' }]);
  });
});
