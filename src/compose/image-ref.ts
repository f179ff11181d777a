/**
 * @module compose/image-ref
 * Rewrites a service's `image:` in a compose file when the tag changes (SPEC step 9), changing
 * nothing but the bytes of that one value: comments, quoting style, flow or block layout, anchors
 * and CRLF line ends stay as the customer wrote them. `setServiceImage` is the pure edit on text;
 * `updateComposeImage` picks the file and writes it by atomic rename.
 */
import { closeSync, fchmodSync, fchownSync, fsyncSync, lstatSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Scalar } from 'yaml';
import { RefitError } from '../errors.js';

/** Docker reference characters only: never needs quoting, never breaks flow style or comments. */
const REFERENCE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;

export interface ImageEdit {
  text: string;
  from: string;
  changed: boolean;
}

/**
 * Sets `services.<service>.image` in compose `text`; null when this file does not set it
 * (Compose takes it from another file). Follows aliases and merge keys to the scalar that holds it.
 */
export function setServiceImage(text: string, service: string, image: string, file = 'compose file'): ImageEdit | null {
  if (!REFERENCE.test(image)) throw new RefitError('usage', `${JSON.stringify(image)} is not an image reference`);
  const doc = parse(text, file);
  const node = findImage(doc, service);
  if (!node) return null;
  const where = `the image of service ${service} in ${file}`;
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) throw new RefitError('compose', `${where} is not a plain string`, 'write it as `image: name:tag`');
  const from = node.value;
  if (from.includes('$')) {
    throw new RefitError('compose', `${where} is interpolated (${JSON.stringify(from)}); refit will not rewrite a variable`, 'set the new tag where the variable is defined, or write the image literally');
  }
  if (from === image) return { text, from, changed: false };
  const replacement = render(node, image, where);
  const out = text.slice(0, node.range[0]) + replacement + text.slice(node.range[1]);

  const check = findImage(parse(out, file), service);
  if (!isScalar(check) || check.value !== image) throw new RefitError('internal', `rewriting ${where} did not produce ${image}`);
  return { text: out, from, changed: true };
}

function parse(text: string, file: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new RefitError('compose', `${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc;
}

function render(node: Scalar, image: string, where: string): string {
  switch (node.type) {
    case 'PLAIN':
      return image;
    case 'QUOTE_DOUBLE':
      return `"${image}"`;
    case 'QUOTE_SINGLE':
      return `'${image}'`;
    default:
      throw new RefitError('compose', `${where} is a block scalar`, 'write it on one line as `image: name:tag`');
  }
}

function findImage(doc: Document, service: string): Node | null {
  const services = deref(doc, doc.get('services', true) as Node | null);
  if (!isMap(services)) return null;
  return imageIn(doc, deref(doc, services.get(service, true) as Node | null), 0);
}

/** `image` of a service map, or of the maps it merges (`<<`), first source first as YAML 1.1 merges. */
function imageIn(doc: Document, map: Node | null, depth: number): Node | null {
  if (!isMap(map) || depth > 10) return null;
  const own = map.items.find((p) => isScalar(p.key) && p.key.value === 'image');
  if (own) return deref(doc, own.value as Node | null);
  for (const p of map.items) {
    if (!(isScalar(p.key) && p.key.value === '<<')) continue;
    const sources = isSeq(p.value) ? p.value.items : [p.value];
    for (const s of sources) {
      const found = imageIn(doc, deref(doc, s as Node | null), depth + 1);
      if (found) return found;
    }
  }
  return null;
}

function deref(doc: Document, node: Node | null | undefined): Node | null {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null;
  return node ?? null;
}

export interface ImageRefUpdate {
  /** The file that sets the image (the last of the project's files that does). */
  file: string;
  /** Its bytes before the edit: what `restoreComposeFile` writes back. */
  before: string;
  from: string;
  to: string;
  changed: boolean;
}

/**
 * Points the service at `image` in the compose file that decides it: later files override
 * earlier ones, so the last file setting `image` is edited. Repeating it is a no-op.
 */
export function updateComposeImage(project: { workingDir: string; files: string[] }, service: string, image: string): ImageRefUpdate {
  const files = project.files.map((f) => resolve(project.workingDir, f));
  for (const file of [...files].reverse()) {
    const before = readFileSync(file, 'utf8');
    const edit = setServiceImage(before, service, image, file);
    if (!edit) continue;
    if (edit.changed) writeComposeFile(file, edit.text, project.workingDir);
    return { file, before, from: edit.from, to: image, changed: edit.changed };
  }
  throw new RefitError('compose', `no compose file of the project sets the image of service ${service} (${files.join(', ')})`, 'is it built (`build:`) or defined with `extends`? refit only updates a literal `image:`');
}

/** Undo of updateComposeImage: puts the recorded bytes back unless they are already there. */
export function restoreComposeFile(update: Pick<ImageRefUpdate, 'file' | 'before'>, workingDir: string): void {
  if (readFileSync(update.file, 'utf8') !== update.before) writeComposeFile(update.file, update.before, workingDir);
}

/**
 * Replaces `file` atomically (temp file beside it, fsync, rename, fsync the dir) keeping its
 * mode and owner. A symlinked compose file is written through to its target only while that
 * target stays inside the project dir.
 */
export function writeComposeFile(file: string, text: string, workingDir: string): void {
  const real = realpathSync(file);
  if (real !== resolve(file) || lstatSync(file).isSymbolicLink()) {
    const rel = relative(realpathSync(workingDir), real);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new RefitError('unsafe-path', `compose file ${file} links to ${real}, outside the project dir ${workingDir}; refit will not write there`, 'replace the link with the file itself');
    }
  }
  const st = statSync(real);
  const temp = join(dirname(real), `.${basename(real)}.refit-${process.pid}.tmp`);
  let fd = openSync(temp, 'w', st.mode & 0o7777);
  try {
    writeSync(fd, text);
    fchownSync(fd, st.uid, st.gid);
    fchmodSync(fd, st.mode & 0o7777); // openSync's mode is filtered by the umask
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(temp, real);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // already renamed or never created
    }
    throw new RefitError('compose', `cannot write compose file ${real}: ${(err as Error).message}`, 'check free space and permissions in the project dir', { cause: err });
  }
  const dir = openSync(dirname(real), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
