/**
 * @module compose/interpolate
 * Compose variable interpolation in one value (`$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?error}`, `${VAR:+alternative}`, `$$` for a literal `$`), split into
 * the pieces a resolved string is made of, so refit knows which piece of `reg/web:${TAG}` holds
 * the tag and where it is written. Pure.
 */

export type Piece =
  /** Text written in the value itself; `raw` is where (it differs from `text` only by `$$`). */
  | { kind: 'literal'; text: string; raw: [number, number] }
  | { kind: 'variable'; name: string; op: Operator; arg: string; raw: [number, number] };

export type Operator = '' | ':-' | '-' | ':?' | '?' | ':+' | '+';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const BRACED = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?|:\+|\+)([^}]*))?\}/;

/** null when the value uses a form Compose would reject or refit cannot follow (nested braces). */
export function splitInterpolation(value: string): Piece[] | null {
  const pieces: Piece[] = [];
  let literal = '';
  let literalStart = 0;
  const flush = (end: number) => {
    if (literal) pieces.push({ kind: 'literal', text: literal, raw: [literalStart, end] });
    literal = '';
  };
  for (let i = 0; i < value.length; ) {
    if (value[i] !== '$') {
      if (!literal) literalStart = i;
      literal += value[i];
      i++;
      continue;
    }
    if (value[i + 1] === '$') {
      if (!literal) literalStart = i;
      literal += '$';
      i += 2;
      continue;
    }
    const rest = value.slice(i);
    const braced = BRACED.exec(rest);
    const bare = braced ? null : NAME.exec(rest.slice(1));
    if (braced && braced[3]?.includes('$')) return null;
    if (!braced && !bare) return null;
    flush(i);
    const length = braced ? braced[0].length : bare![0].length + 1;
    pieces.push({ kind: 'variable', name: braced ? braced[1]! : bare![0], op: (braced?.[2] ?? '') as Operator, arg: braced?.[3] ?? '', raw: [i, i + length] });
    i += length;
  }
  flush(value.length);
  return pieces;
}

export type Resolved =
  | { ok: true; text: string; from: 'literal' | 'env' | 'compose-default' }
  | { ok: false; name: string };

/** A piece's text given the variables of the env files, the way Compose resolves it. */
export function resolvePiece(piece: Piece, env: ReadonlyMap<string, string>): Resolved {
  if (piece.kind === 'literal') return { ok: true, text: piece.text, from: 'literal' };
  const value = env.get(piece.name);
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  switch (piece.op) {
    case '':
      return set ? { ok: true, text: value, from: 'env' } : { ok: false, name: piece.name };
    case ':-':
      return nonEmpty ? { ok: true, text: value, from: 'env' } : { ok: true, text: piece.arg, from: 'compose-default' };
    case '-':
      return set ? { ok: true, text: value, from: 'env' } : { ok: true, text: piece.arg, from: 'compose-default' };
    case ':?':
      return nonEmpty ? { ok: true, text: value, from: 'env' } : { ok: false, name: piece.name };
    case '?':
      return set ? { ok: true, text: value, from: 'env' } : { ok: false, name: piece.name };
    case ':+':
      return { ok: true, text: nonEmpty ? piece.arg : '', from: 'compose-default' };
    case '+':
      return { ok: true, text: set ? piece.arg : '', from: 'compose-default' };
  }
}
