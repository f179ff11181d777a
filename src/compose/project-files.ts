/**
 * @module compose/project-files
 * Reading and changing the customer's compose and env files. refit runs as root over a
 * project dir the customer can write to: a file is written only by atomic replacement through
 * a directory handle (site-config/dirfd.ts), never through a link out of the project dir, and
 * only while it still holds what the edit was based on.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { RefitError } from '../errors.js';
import { openRealDir, readFileAt, replaceFileAt } from '../site-config/dirfd.js';
import { setEnvValue } from './env-file.js';
import { setServiceImage } from './image-ref.js';
import type { ImageEdit, ReadFile } from './image-source.js';

/**
 * A project file's text, or null when it does not exist. Only a regular file is read: a FIFO
 * or device planted under the name would otherwise block refit (opened non-blocking, checked).
 */
export const readProjectFile: ReadFile = (path) => {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RefitError('compose', `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, undefined, { cause: err });
  }
  try {
    if (!fstatSync(fd).isFile()) throw new RefitError('compose', `${path} is not a regular file`, 'compose and env files must be regular files');
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
};

/**
 * Rewrites `file` with `change(text)`: through its real path, which must stay inside the
 * project dir when the path goes through a link. Returns whether anything changed.
 */
export function changeProjectFile(file: string, workingDir: string, change: (text: string) => { text: string; changed: boolean }): boolean {
  const path = resolve(workingDir, file);
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new RefitError('compose', `cannot find ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'was it moved or removed during the update? refit left the project alone', { cause: err });
  }
  if (real !== path) {
    const rel = relative(realpathSync(workingDir), real);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new RefitError('unsafe-path', `${path} links to ${real}, outside the project dir ${workingDir}; refit will not write there`, 'replace the link with the file itself');
    }
  }
  const dir = openRealDir(dirname(real));
  try {
    const name = basename(real);
    const before = readFileAt(dir, name);
    const next = change(before.text);
    if (!next.changed) return false;
    replaceFileAt(dir, name, next.text, before.stat, () => {
      if (readFileAt(dir, name).text !== before.text) throw new RefitError('compose', `${path} changed while refit was editing it`, 'refit left it alone; run refit again');
    });
    return true;
  } finally {
    dir.close();
  }
}

/** Applies an image edit forward (`from` -> `to`) or back; a no-op when the value is already there. */
export function applyImageEdit(edit: ImageEdit, workingDir: string, direction: 'forward' | 'back'): boolean {
  const change = direction === 'forward' ? { from: edit.from, to: edit.to } : { from: edit.to, to: edit.from };
  return changeProjectFile(edit.file, workingDir, (text) =>
    edit.kind === 'compose' ? setServiceImage(text, edit.service, change, edit.file) : setEnvValue(text, edit.variable, change.from, change.to, edit.file),
  );
}
