import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreComposeFile, updateComposeImage } from './image-ref.js';

let root: string;
let project: string;
const BASE = '# base\nservices:\n  web:\n    image: web:1.0.0\n    restart: always\n';
const OVERRIDE = '# prod override\nservices:\n  web:\n    image: "web:1.0.0-prod"   # pinned\n';

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'refit-imageref-'));
  project = join(root, 'site');
  mkdirSync(project);
  writeFileSync(join(project, 'compose.yml'), BASE);
  writeFileSync(join(project, 'compose.prod.yml'), OVERRIDE);
  chmodSync(join(project, 'compose.prod.yml'), 0o640);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('updateComposeImage on files', () => {
  it('edits the last file that sets the image, keeps its mode, leaves no temp file, and restores the old bytes on undo', () => {
    const u = updateComposeImage({ workingDir: project, files: ['compose.yml', 'compose.prod.yml'] }, 'web', 'web:1.1.0');
    expect(u).toEqual({ file: join(project, 'compose.prod.yml'), before: OVERRIDE, from: 'web:1.0.0-prod', to: 'web:1.1.0', changed: true });
    expect(readFileSync(join(project, 'compose.prod.yml'), 'utf8')).toBe('# prod override\nservices:\n  web:\n    image: "web:1.1.0"   # pinned\n');
    expect(readFileSync(join(project, 'compose.yml'), 'utf8')).toBe(BASE);
    expect(statSync(join(project, 'compose.prod.yml')).mode & 0o777).toBe(0o640);
    expect(readdirSync(project).sort()).toEqual(['compose.prod.yml', 'compose.yml']);

    expect(updateComposeImage({ workingDir: project, files: ['compose.yml', 'compose.prod.yml'] }, 'web', 'web:1.1.0').changed).toBe(false);
    restoreComposeFile(u, project);
    expect(readFileSync(join(project, 'compose.prod.yml'), 'utf8')).toBe(OVERRIDE);
    restoreComposeFile(u, project);
    expect(readFileSync(join(project, 'compose.prod.yml'), 'utf8')).toBe(OVERRIDE);
  });

  it('writes through a symlink that stays inside the project dir, keeping the link', () => {
    mkdirSync(join(project, 'conf'));
    writeFileSync(join(project, 'conf', 'real.yml'), BASE);
    symlinkSync('conf/real.yml', join(project, 'linked.yml'));
    updateComposeImage({ workingDir: project, files: [join(project, 'linked.yml')] }, 'web', 'web:2.0.0');
    expect(lstatSync(join(project, 'linked.yml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(project, 'conf', 'real.yml'), 'utf8')).toBe(BASE.replace('web:1.0.0', 'web:2.0.0'));
  });

  it('refuses a symlink that leads out of the project dir and leaves its target alone', () => {
    writeFileSync(join(root, 'elsewhere.yml'), BASE);
    symlinkSync(join(root, 'elsewhere.yml'), join(project, 'out.yml'));
    expect(() => updateComposeImage({ workingDir: project, files: ['out.yml'] }, 'web', 'web:2.0.0')).toThrow(
      `compose file ${join(project, 'out.yml')} links to ${join(root, 'elsewhere.yml')}, outside the project dir ${project}; refit will not write there`,
    );
    expect(readFileSync(join(root, 'elsewhere.yml'), 'utf8')).toBe(BASE);
  });

  it('says so when no file sets the image', () => {
    writeFileSync(join(project, 'built.yml'), 'services:\n  web:\n    build: .\n');
    expect(() => updateComposeImage({ workingDir: project, files: ['built.yml'] }, 'web', 'web:2.0.0')).toThrow(`no compose file of the project sets the image of service web (${join(project, 'built.yml')})`);
  });
});
