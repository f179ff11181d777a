/**
 * @module maintenance/compose-files
 * The compose files during a swap: saved byte for byte into the scratch dir before anything
 * changes, the service's image tag bumped in the file that sets it, and the saved bytes written
 * back on rollback (also after a crash, when only the scratch copy is left).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { updateComposeImage, writeComposeFile } from '../compose/image-ref.js';
import type { Site } from '../site/discover.js';

type ComposeRef = Site['compose'];

const savedName = (i: number) => `${i}.yml`;

export async function saveComposeFiles(compose: ComposeRef, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true, mode: 0o700 });
  for (const [i, file] of compose.configFiles.entries()) {
    await writeFile(join(dest, savedName(i)), await readFile(resolve(compose.workingDir, file)), { mode: 0o600 });
  }
}

export async function restoreComposeFiles(compose: ComposeRef, savedIn: string): Promise<void> {
  for (const [i, file] of compose.configFiles.entries()) {
    const saved = await readFile(join(savedIn, savedName(i)), 'utf8').catch(() => null);
    if (saved === null) continue; // never saved: never changed
    const path = resolve(compose.workingDir, file);
    if ((await readFile(path, 'utf8')) !== saved) writeComposeFile(path, saved, compose.workingDir);
  }
}

export async function bumpImageTag(compose: ComposeRef, reference: string): Promise<{ file: string; from: string; to: string }> {
  const u = updateComposeImage({ workingDir: compose.workingDir, files: compose.configFiles }, compose.service, reference);
  return { file: u.file, from: u.from, to: u.to };
}
