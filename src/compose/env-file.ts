/**
 * @module compose/env-file
 * A project's env file (`.env`, `--env-file`) as Compose reads it: `KEY=VALUE` lines with an
 * optional `export `, single- or double-quoted or bare values (a bare value ends at ` #`),
 * comments and blank lines; the last definition of a name wins. `setEnvValue` changes the
 * bytes of one value and nothing else: quotes, comments, spacing, other lines and CRLF line
 * ends stay as the customer wrote them. Pure.
 */
import { RefitError } from '../errors.js';

export interface EnvEntry {
  name: string;
  value: string;
  /** Where the value's characters are in the text (inside its quotes, if any). */
  start: number;
  end: number;
  quote: '' | "'" | '"';
  /** 1-based, for messages. */
  line: number;
}

const LINE = /^([ \t]*)(export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*/;

export function parseEnvFile(text: string): EnvEntry[] {
  const entries: EnvEntry[] = [];
  let offset = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineStart = offset;
    offset += raw.length + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const m = LINE.exec(line);
    if (!m) return;
    const at = m[0].length;
    const rest = line.slice(at);
    const quote = rest[0] === '"' || rest[0] === "'" ? rest[0] : '';
    let value: string;
    if (quote) {
      const close = rest.indexOf(quote, 1);
      if (close < 0) return; // a multi-line value: Compose reads it, refit never edits it
      value = rest.slice(1, close);
    } else {
      const comment = rest.search(/[ \t]#/);
      value = (comment < 0 ? rest : rest.slice(0, comment)).replace(/[ \t]+$/, '');
    }
    const start = lineStart + at + (quote ? 1 : 0);
    entries.push({ name: m[3]!, value, start, end: start + value.length, quote, line: i + 1 });
  });
  return entries;
}

/** The definition Compose uses: the last one. */
export function envEntry(text: string, name: string): EnvEntry | null {
  return parseEnvFile(text).filter((e) => e.name === name).at(-1) ?? null;
}

/** A value refit may write: reference characters only, so no quoting or escaping ever changes. */
const SAFE_VALUE = /^[A-Za-z0-9._\-/:@]+$/;

/**
 * Sets `name` from `expected` to `next` in env file `text`, changing only the bytes of that
 * value; unchanged text when it already holds `next`. Throws when it holds anything else.
 */
export function setEnvValue(text: string, name: string, expected: string, next: string, file: string): { text: string; changed: boolean } {
  const entry = envEntry(text, name);
  if (!entry) throw new RefitError('compose', `${file} no longer defines ${name}`, 'was it edited during the update? refit left it alone');
  if (entry.value === next) return { text, changed: false };
  if (entry.value !== expected) {
    throw new RefitError('compose', `${name} in ${file} (line ${entry.line}) is ${JSON.stringify(entry.value)}, not the ${JSON.stringify(expected)} refit expected`, 'was it edited during the update? refit left it alone');
  }
  if (!SAFE_VALUE.test(next)) throw new RefitError('internal', `${JSON.stringify(next)} is not a value refit writes into an env file`);
  return { text: text.slice(0, entry.start) + next + text.slice(entry.end), changed: true };
}
