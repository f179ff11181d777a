/**
 * @module compose/image-source
 * Where a compose project names a service's image, and what one edit points it at another
 * tag. The image is set by the last of the project's files that sets it, directly or through
 * `extends`; its value may interpolate variables from the project's env file (`.env`, or the
 * `--env-file`s it was started with). The tag lives either in the compose file's text (edit the
 * `image:` value) or in one variable defined in an env file (edit that definition). Anything
 * else is a reason, found before a maintenance starts. Pure: files come from `read`.
 */
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseEnvFile } from './env-file.js';
import { readServiceImage, serviceNames } from './image-ref.js';
import { resolvePiece, splitInterpolation, type Piece } from './interpolate.js';

export interface ProjectFiles {
  workingDir: string;
  /** Compose files, absolute, in the order Compose merges them. */
  files: string[];
  /** `--env-file`s the project was started with, absolute; empty: the default `.env`. */
  envFiles: string[];
}

/** Text of a file, or null when it does not exist. Throws for files that cannot be read. */
export type ReadFile = (path: string) => string | null;

/** The one value a tag bump changes, and what it holds before and after. */
export type ImageEdit =
  | { kind: 'compose'; file: string; service: string; from: string; to: string }
  | { kind: 'env'; file: string; variable: string; from: string; to: string };

export type ImagePlan = { ok: true; edit: ImageEdit | null } | { ok: false; reason: string };

interface Located {
  file: string;
  /** The service whose map holds the value (the extended one, for `extends`). */
  service: string;
  value: string;
  at: number;
}

/** The env files Compose reads for the project. */
export function envFilesOf(project: ProjectFiles): string[] {
  return project.envFiles.length ? project.envFiles : [join(project.workingDir, '.env')];
}

/**
 * The edit that makes `service` run `change.to` instead of `change.from` (references that
 * differ only in their tag), or why the project cannot be pointed there.
 */
export function planImageEdit(project: ProjectFiles, service: string, change: { from: string; to: string }, read: ReadFile): ImagePlan {
  try {
    return plan(project, service, change, read);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

function plan(project: ProjectFiles, service: string, change: { from: string; to: string }, read: ReadFile): ImagePlan {
  // Same tag, new digest: no file changes, whatever the project looks like.
  if (change.to === change.from) return { ok: true, edit: null };
  const fail = (reason: string): ImagePlan => ({ ok: false, reason });
  const located = locate(project, service, read);
  if (typeof located === 'string') return fail(located);
  const shared = sharedWith(project, service, located, read);
  if (shared) return fail(`the image of service ${service} is set in ${located.file} together with service ${shared}'s, so changing it would move ${shared} too`);
  if (!project.files.includes(located.file) && outside(project.workingDir, located.file)) {
    return fail(`the image of service ${service} comes through \`extends\` from ${located.file}, outside the project dir ${project.workingDir}`);
  }

  const pieces = splitInterpolation(located.value);
  if (!pieces) return fail(`the image of service ${service} in ${located.file} (${JSON.stringify(located.value)}) uses an interpolation refit cannot follow`);
  const env = readEnv(project, read);
  const where = `the image of service ${service} in ${located.file} is ${JSON.stringify(located.value)}`;
  const envNames = envFilesOf(project).join(', ');

  // Resolve each piece and find the one that holds the whole tag.
  let text = '';
  const spans: { piece: Piece; start: number; end: number; from: 'literal' | 'env' | 'compose-default' }[] = [];
  for (const piece of pieces) {
    const r = resolvePiece(piece, env.values);
    if (!r.ok) return fail(`${where}, and ${r.name} is not defined in the project's env file ${envNames}`);
    spans.push({ piece, start: text.length, end: text.length + r.text.length, from: r.from });
    text += r.text;
  }
  if (text !== change.from) {
    return fail(`${where}, which names ${text}, but the container runs ${change.from}; was a compose or env file edited since it started? (\`docker compose up\` it, then check again)`);
  }
  const tagStart = tagStartOf(change.from);
  const holder = spans.find((s) => s.start <= tagStart && s.end >= change.from.length && s.end > s.start);
  const newTag = change.to.slice(tagStartOf(change.to));
  if (!holder) return fail(`${where}: its tag is made of several pieces, so refit cannot set it to ${newTag}`);

  if (holder.piece.kind === 'literal') {
    if (holder.piece.text !== located.value.slice(...holder.piece.raw)) return fail(`${where}: its tag is next to a \`$$\` escape refit does not rewrite`);
    const rawStart = holder.piece.raw[0] + (tagStart - holder.start);
    const to = located.value.slice(0, rawStart) + newTag + located.value.slice(holder.piece.raw[1]);
    return { ok: true, edit: { kind: 'compose', file: located.file, service: located.service, from: located.value, to } };
  }
  const name = holder.piece.name;
  if (holder.from !== 'env') return fail(`${where}, and ${name} is not defined in the project's env file ${envNames} (the compose file's default is used); define ${name} there, or write the tag in the compose file`);
  const def = env.definedIn.get(name)!;
  const value = env.values.get(name)!;
  if (def.quote !== "'" && value.includes('$')) return fail(`${name} in ${def.file} (${JSON.stringify(value)}) refers to other variables; refit rewrites only a value written out`);
  const to = value.slice(0, tagStart - holder.start) + newTag;
  return { ok: true, edit: { kind: 'env', file: def.file, variable: name, from: value, to } };
}

/** Where the tag of `name:tag` starts (its length when there is none). */
function tagStartOf(reference: string): number {
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/') ? colon + 1 : reference.length;
}

/** The last compose file that sets the service's image, directly or through `extends`. */
function locate(project: ProjectFiles, service: string, read: ReadFile): Located | string {
  for (const file of [...project.files].reverse()) {
    const found = imageIn(file, service, read, 0);
    if (found) return found;
  }
  return `no compose file of the project sets the image of service ${service} (${project.files.join(', ')}); is it built (\`build:\`)?`;
}

function imageIn(file: string, service: string, read: ReadFile, depth: number): Located | null {
  const text = read(file);
  if (text === null) throw new Error(`compose file ${file} does not exist`);
  const img = readServiceImage(text, service, file);
  if (img.problem) throw new Error(`${img.problem}; write it as \`image: name:tag\``);
  if (img.value !== null && img.at !== null) return { file, service, value: img.value, at: img.at };
  if (!img.extends) return null;
  if (depth >= 10) throw new Error(`service ${service} in ${file} extends more than 10 levels deep`);
  const next = img.extends.file ? resolve(dirname(file), img.extends.file) : file;
  return imageIn(next, img.extends.service, read, depth + 1);
}

/** Another service of the project whose image is the very same value (an anchor, a merge key, a shared `extends`). */
function sharedWith(project: ProjectFiles, service: string, located: Located, read: ReadFile): string | null {
  const names = new Set(project.files.flatMap((f) => serviceNames(read(f) ?? '', f)));
  for (const other of [...names].sort()) {
    if (other === service) continue;
    const l = locate(project, other, read);
    if (typeof l !== 'string' && l.file === located.file && l.at === located.at) return other;
  }
  return null;
}

function outside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel.startsWith('..') || isAbsolute(rel);
}

interface Env {
  values: Map<string, string>;
  definedIn: Map<string, { file: string; quote: string }>;
}

/** The variables of the env files, later files overriding earlier ones as Compose does. */
function readEnv(project: ProjectFiles, read: ReadFile): Env {
  const env: Env = { values: new Map(), definedIn: new Map() };
  for (const file of envFilesOf(project)) {
    const text = read(file);
    if (text === null) {
      if (project.envFiles.length) throw new Error(`env file ${file}, which the project was started with, does not exist`);
      continue;
    }
    for (const e of parseEnvFile(text)) {
      env.values.set(e.name, e.value);
      env.definedIn.set(e.name, { file, quote: e.quote });
    }
  }
  return env;
}
