/**
 * @module maintenance/compose-files
 * The compose project's image during a swap. Before anything changes, the one value the tag
 * bump will change is found (which file, which value, from what to what: compose/image-source.ts)
 * and recorded in the scratch dir. The bump changes exactly that value, and only while it still
 * holds the old one; the rollback (also after a crash, from the record alone) puts the old value
 * back, and only while it holds the new one. Nothing else in the customer's files is rewritten,
 * so another service's bump in the same file, or an edit made meanwhile, survives a rollback.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readServiceImage, setServiceImage } from '../compose/image-ref.js';
import { planImageEdit, type ImageEdit, type ProjectFiles } from '../compose/image-source.js';
import { applyImageEdit, changeProjectFile, readProjectFile } from '../compose/project-files.js';
import { RefitError } from '../errors.js';
import type { Site } from '../site/discover.js';

type ComposeRef = Site['compose'];

/** The references a maintenance moves the service between. */
export interface ImageChange {
  from: string;
  to: string;
}

const RECORD = 'image-edit.json';

interface SavedEdit {
  version: 1;
  /** null: the tag does not change (a new digest under the same tag). */
  edit: ImageEdit | null;
}

export function projectFilesOf(compose: ComposeRef): ProjectFiles {
  return { workingDir: compose.workingDir, files: compose.configFiles.map((f) => resolve(compose.workingDir, f)), envFiles: compose.envFiles ?? [] };
}

/** At check time: why the site's project cannot be pointed at `to`, or null when it can. */
export async function whyTagCannotChange(site: Pick<Site, 'compose' | 'image'>, to: string): Promise<string | null> {
  const plan = planImageEdit(projectFilesOf(site.compose), site.compose.service, { from: site.image.reference, to }, readProjectFile);
  return plan.ok ? null : plan.reason;
}

/** Finds and records the value the tag bump will change; refuses before anything changed when there is none. */
export async function saveComposeFiles(compose: ComposeRef, dest: string, change: ImageChange): Promise<void> {
  const plan = planImageEdit(projectFilesOf(compose), compose.service, change, readProjectFile);
  if (!plan.ok) throw new RefitError('compose', `cannot point service ${compose.service} of project ${compose.project} at ${change.to}: ${plan.reason}`);
  await mkdir(dest, { recursive: true, mode: 0o700 });
  const saved: SavedEdit = { version: 1, edit: plan.edit };
  await writeFile(join(dest, RECORD), JSON.stringify(saved), { mode: 0o600 });
}

/** Changes the recorded value from the old reference to the new one (a no-op when it is already new). */
export async function bumpImageTag(compose: ComposeRef, savedIn: string): Promise<{ file: string; kind: ImageEdit['kind']; from: string; to: string; changed: boolean }> {
  const saved = await readSaved(savedIn);
  if (!saved?.edit) throw new RefitError('internal', `no image edit recorded in ${savedIn} for service ${compose.service}`);
  const { edit } = saved;
  const changed = applyImageEdit(edit, compose.workingDir, 'forward');
  return { file: edit.file, kind: edit.kind, from: edit.from, to: edit.to, changed };
}

/** Undo of the bump: the recorded value back to the old reference, if it holds the new one. */
export async function restoreComposeFiles(compose: ComposeRef, savedIn: string): Promise<void> {
  const saved = await readSaved(savedIn);
  if (saved) {
    if (saved.edit) applyImageEdit(saved.edit, compose.workingDir, 'back');
    return;
  }
  await restoreLegacyCopies(compose, savedIn);
}

async function readSaved(savedIn: string): Promise<SavedEdit | null> {
  let text: string;
  try {
    text = await readFile(join(savedIn, RECORD), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const doc = JSON.parse(text) as Partial<SavedEdit>;
  if (doc.version !== 1 || !('edit' in doc)) throw new RefitError('internal', `${join(savedIn, RECORD)} is not an image edit record this refit can read`);
  return doc as SavedEdit;
}

/**
 * A maintenance an older refit left unfinished saved whole copies of the compose files
 * (`0.yml`, `1.yml`, ...). Only the service's image value is taken from them: whatever else
 * changed in the files since stays.
 */
async function restoreLegacyCopies(compose: ComposeRef, savedIn: string): Promise<void> {
  const copies = new Set(await readdir(savedIn).catch(() => [] as string[]));
  for (const [i, file] of compose.configFiles.entries()) {
    if (!copies.has(`${i}.yml`)) continue; // never saved: never changed
    const old = readServiceImage(await readFile(join(savedIn, `${i}.yml`), 'utf8'), compose.service, file).value;
    if (old === null) continue;
    changeProjectFile(file, compose.workingDir, (text) => {
      const now = readServiceImage(text, compose.service, file).value;
      return now === null || now === old ? { text, changed: false } : setServiceImage(text, compose.service, { from: now, to: old }, file);
    });
  }
}
