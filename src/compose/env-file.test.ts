import { describe, expect, it } from 'vitest';
import { envEntry, parseEnvFile, setEnvValue } from './env-file.js';

const TEXT = [
  '# deploy settings',
  'export REGISTRY=reg.example:5000',
  'WEB_TAG = 1.0.0   # bumped by refit',
  "QUOTED='1.0.0'",
  'DOUBLE="1.0.0" # note',
  'EMPTY=',
  'HASH=a#b',
  'MULTI="line one',
  'line two"',
  'WEB_TAG=1.0.0',
  '',
].join('\r\n');

describe('parseEnvFile', () => {
  it('reads values as Compose does: export, spaces, quotes, inline comments; the last definition wins', () => {
    const byName = Object.fromEntries(parseEnvFile(TEXT).map((e) => [e.name, e.value]));
    expect(byName).toEqual({ REGISTRY: 'reg.example:5000', WEB_TAG: '1.0.0', QUOTED: '1.0.0', DOUBLE: '1.0.0', EMPTY: '', HASH: 'a#b' });
    expect(envEntry(TEXT, 'WEB_TAG')).toMatchObject({ line: 10, quote: '' });
    expect(envEntry(TEXT, 'MULTI')).toBeNull();
  });
});

describe('setEnvValue', () => {
  it('changes only the bytes of the last definition, keeping quotes, comments and CRLF', () => {
    const r = setEnvValue(TEXT, 'WEB_TAG', '1.0.0', '1.1.0', '.env');
    expect(r.changed).toBe(true);
    const before = TEXT.split('\r\n');
    const after = r.text.split('\r\n');
    expect(after.filter((l, i) => l !== before[i])).toEqual(['WEB_TAG=1.1.0']);
    expect(setEnvValue(TEXT, 'QUOTED', '1.0.0', '2.0.0', '.env').text).toContain("QUOTED='2.0.0'\r\n");
    expect(setEnvValue(TEXT, 'DOUBLE', '1.0.0', '2.0.0', '.env').text).toContain('DOUBLE="2.0.0" # note\r\n');
  });

  it('is a no-op when the value is already new, and refuses anything else', () => {
    expect(setEnvValue('T=2\n', 'T', '1', '2', '.env')).toEqual({ text: 'T=2\n', changed: false });
    expect(() => setEnvValue('T=3\n', 'T', '1', '2', '/p/.env')).toThrow('T in /p/.env (line 1) is "3", not the "1" refit expected');
    expect(() => setEnvValue('X=1\n', 'T', '1', '2', '/p/.env')).toThrow('/p/.env no longer defines T');
    expect(() => setEnvValue('T=1\n', 'T', '1', '2 # x', '/p/.env')).toThrow('is not a value refit writes');
  });
});
