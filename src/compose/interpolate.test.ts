import { describe, expect, it } from 'vitest';
import { resolvePiece, splitInterpolation } from './interpolate.js';

describe('splitInterpolation', () => {
  it('splits literal text and variables, keeping where each is written', () => {
    expect(splitInterpolation('${REG}/web:$TAG')).toEqual([
      { kind: 'variable', name: 'REG', op: '', arg: '', raw: [0, 6] },
      { kind: 'literal', text: '/web:', raw: [6, 11] },
      { kind: 'variable', name: 'TAG', op: '', arg: '', raw: [11, 15] },
    ]);
    expect(splitInterpolation('web:${TAG:-1.0}')).toEqual([
      { kind: 'literal', text: 'web:', raw: [0, 4] },
      { kind: 'variable', name: 'TAG', op: ':-', arg: '1.0', raw: [4, 15] },
    ]);
    expect(splitInterpolation('a$$b')).toEqual([{ kind: 'literal', text: 'a$b', raw: [0, 4] }]);
    expect(splitInterpolation('web:1.0.0')).toEqual([{ kind: 'literal', text: 'web:1.0.0', raw: [0, 9] }]);
  });

  it('null for forms refit does not follow', () => {
    expect(splitInterpolation('web:${TAG:-${OTHER}}')).toBeNull();
    expect(splitInterpolation('web:${TAG')).toBeNull();
    expect(splitInterpolation('web:$1')).toBeNull();
  });
});

describe('resolvePiece', () => {
  const env = new Map([['SET', 'v'], ['EMPTY', '']]);
  const v = (name: string, op: string, arg = 'd') => resolvePiece({ kind: 'variable', name, op: op as never, arg, raw: [0, 0] }, env);
  it('follows Compose for each operator', () => {
    expect(v('SET', '')).toEqual({ ok: true, text: 'v', from: 'env' });
    expect(v('UNSET', '')).toEqual({ ok: false, name: 'UNSET' });
    expect(v('EMPTY', ':-')).toEqual({ ok: true, text: 'd', from: 'compose-default' });
    expect(v('EMPTY', '-')).toEqual({ ok: true, text: '', from: 'env' });
    expect(v('UNSET', '?')).toEqual({ ok: false, name: 'UNSET' });
    expect(v('SET', ':+')).toEqual({ ok: true, text: 'd', from: 'compose-default' });
    expect(v('UNSET', '+')).toEqual({ ok: true, text: '', from: 'compose-default' });
  });
});
