/**
 * @module proxy/state-file
 * Keeps the proxy state (state.ts) in the adapter's run dir, written atomically (temp file,
 * fsync, rename) so a crash leaves the old or the new state, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, renameSync, writeSync, fsyncSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { RefitError } from '../errors.js';
import { EMPTY_STATE, type ProxyState } from './state.js';

export function readState(file: string): ProxyState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_STATE;
    throw new RefitError('proxy', `cannot read proxy state ${file}: ${(err as Error).message}`, undefined, { cause: err });
  }
  try {
    const parsed = JSON.parse(text) as ProxyState;
    if (!Array.isArray(parsed.sites)) throw new Error('no "sites" list');
    return parsed;
  } catch (err) {
    throw new RefitError('proxy', `proxy state ${file} is damaged: ${(err as Error).message}`, 'move it aside and run `refit proxy sync` to rebuild it', { cause: err });
  }
}

/** Writes `content` to `file` so that readers see either the old or the new file. */
export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function writeState(file: string, state: ProxyState): void {
  writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}
