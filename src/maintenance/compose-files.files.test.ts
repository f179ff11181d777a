/**
 * The tag bump and its undo on real files in a customer-writable project dir: only the one value
 * changes, only while it holds what refit expects, and nothing planted in the directory (links
 * at the names refit writes) can make refit write anywhere else.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Site } from '../site/discover.js';
import { bumpImageTag, restoreComposeFiles, saveComposeFiles, whyTagCannotChange } from './compose-files.js';

let root: string;
let project: string;
let scratch: string;
const VICTIM_TEXT = 'root-owned file outside the project\n';
const BASE = '# base\nservices:\n  web:\n    image: reg/web:1.0.0\n    restart: always\n';
const OVERRIDE = '# prod override\nservices:\n  web:\n    image: "reg/web:1.0.0-prod"   # pinned\n';

const compose = (files: string[], service = 'web', envFiles: string[] = []): Site['compose'] => ({ project: 'shop', workingDir: project, configFiles: files, envFiles, service, version: '2.26.1' });
const read = (name: string) => readFileSync(join(project, name), 'utf8');
const victim = () => readFileSync(join(root, 'victim'), 'utf8');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'refit-compose-files-'));
  project = join(root, 'site');
  scratch = join(root, 'scratch');
  mkdirSync(project);
  writeFileSync(join(root, 'victim'), VICTIM_TEXT);
  writeFileSync(join(project, 'compose.yml'), BASE);
  writeFileSync(join(project, 'compose.prod.yml'), OVERRIDE);
  chmodSync(join(project, 'compose.prod.yml'), 0o640);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the tag bump on files', () => {
  it('edits the last file that sets the image, keeps its mode, leaves no temp file; the undo puts the old value back', async () => {
    const c = compose(['compose.yml', 'compose.prod.yml']);
    await saveComposeFiles(c, join(scratch, 'a'), { from: 'reg/web:1.0.0-prod', to: 'reg/web:1.1.0-prod' });
    expect(await bumpImageTag(c, join(scratch, 'a'))).toEqual({ file: join(project, 'compose.prod.yml'), kind: 'compose', from: 'reg/web:1.0.0-prod', to: 'reg/web:1.1.0-prod', changed: true });
    expect(read('compose.prod.yml')).toBe('# prod override\nservices:\n  web:\n    image: "reg/web:1.1.0-prod"   # pinned\n');
    expect(read('compose.yml')).toBe(BASE);
    expect(statSync(join(project, 'compose.prod.yml')).mode & 0o777).toBe(0o640);
    expect(readdirSync(project).sort()).toEqual(['compose.prod.yml', 'compose.yml']);
    expect((await bumpImageTag(c, join(scratch, 'a'))).changed).toBe(false);
    await restoreComposeFiles(c, join(scratch, 'a'));
    expect(read('compose.prod.yml')).toBe(OVERRIDE);
    await restoreComposeFiles(c, join(scratch, 'a'));
    expect(read('compose.prod.yml')).toBe(OVERRIDE);
  });

  it('${WEB_TAG} from the env file: only that definition changes, every other line byte-identical', async () => {
    const env = '# prod\r\nREGISTRY=reg\r\nexport WEB_TAG="1.0.0"   # set by deploys\r\nMODE=live\r\n';
    mkdirSync(join(project, 'deploy'));
    writeFileSync(join(project, 'deploy', 'prod.env'), env);
    writeFileSync(join(project, 'compose.yml'), 'services:\n  web:\n    image: ${REGISTRY}/web:${WEB_TAG}\n');
    const c = compose(['compose.yml'], 'web', [join(project, 'deploy', 'prod.env')]);
    await saveComposeFiles(c, scratch, { from: 'reg/web:1.0.0', to: 'reg/web:1.1.0' });
    expect(await bumpImageTag(c, scratch)).toMatchObject({ file: join(project, 'deploy', 'prod.env'), kind: 'env', from: '1.0.0', to: '1.1.0' });
    expect(read('deploy/prod.env')).toBe(env.replace('"1.0.0"', '"1.1.0"'));
    expect(read('compose.yml')).toBe('services:\n  web:\n    image: ${REGISTRY}/web:${WEB_TAG}\n');
    await restoreComposeFiles(c, scratch);
    expect(read('deploy/prod.env')).toBe(env);
  });

  it('refuses before anything changes when the project cannot name the tag', async () => {
    writeFileSync(join(project, 'compose.yml'), 'services:\n  web:\n    image: reg/web:${WEB_TAG}\n');
    const c = compose(['compose.yml']);
    const site = { compose: c, image: { reference: 'reg/web:1.0.0', id: 'x', repoDigests: [] } };
    expect(await whyTagCannotChange(site, 'reg/web:1.1.0')).toBe(`the image of service web in ${project}/compose.yml is "reg/web:\${WEB_TAG}", and WEB_TAG is not defined in the project's env file ${project}/.env`);
    await expect(saveComposeFiles(c, scratch, { from: 'reg/web:1.0.0', to: 'reg/web:1.1.0' })).rejects.toThrow('cannot point service web of project shop at reg/web:1.1.0: the image of service web');
    writeFileSync(join(project, '.env'), 'WEB_TAG=1.0.0\n');
    expect(await whyTagCannotChange(site, 'reg/web:1.1.0')).toBeNull();
  });
});

describe('only the one value, only while it holds what refit expects (issue 13, defect 5)', () => {
  const TWO = '# two sites\nservices:\n  web-a:\n    image: reg/a:1.0.0\n  web-b:\n    image: reg/b:1.0.0\n';

  it("rolling one service back keeps another service's committed bump and an edit made meanwhile", async () => {
    writeFileSync(join(project, 'compose.yml'), TWO);
    const a = compose(['compose.yml'], 'web-a');
    const b = compose(['compose.yml'], 'web-b');
    // Concurrency 2: both maintenances record before either bumps.
    await saveComposeFiles(a, join(scratch, 'm1'), { from: 'reg/a:1.0.0', to: 'reg/a:1.1.0' });
    await saveComposeFiles(b, join(scratch, 'm2'), { from: 'reg/b:1.0.0', to: 'reg/b:1.1.0' });
    await bumpImageTag(a, join(scratch, 'm1')); // m1 commits
    await bumpImageTag(b, join(scratch, 'm2'));
    writeFileSync(join(project, 'compose.yml'), `${read('compose.yml')}# the customer's note\n`);
    await restoreComposeFiles(b, join(scratch, 'm2')); // m2 rolls back
    expect(read('compose.yml')).toBe('# two sites\nservices:\n  web-a:\n    image: reg/a:1.1.0\n  web-b:\n    image: reg/b:1.0.0\n# the customer\'s note\n');
  });

  it('the bump refuses a value changed since it was recorded, and the undo leaves a value it did not write', async () => {
    const c = compose(['compose.yml']);
    await saveComposeFiles(c, scratch, { from: 'reg/web:1.0.0', to: 'reg/web:1.1.0' });
    writeFileSync(join(project, 'compose.yml'), BASE.replace('1.0.0', '1.0.5'));
    await expect(bumpImageTag(c, scratch)).rejects.toThrow(`the image of service web in ${project}/compose.yml is "reg/web:1.0.5", not the "reg/web:1.0.0" refit expected`);
    expect(read('compose.yml')).toBe(BASE.replace('1.0.0', '1.0.5'));
    await expect(restoreComposeFiles(c, scratch)).rejects.toThrow('is "reg/web:1.0.5", not the "reg/web:1.1.0" refit expected');
    expect(read('compose.yml')).toBe(BASE.replace('1.0.0', '1.0.5'));
  });

  it('a maintenance an older refit left (whole saved copies) gets only its image value back', async () => {
    const c = compose(['compose.yml']);
    mkdirSync(scratch);
    writeFileSync(join(scratch, '0.yml'), BASE);
    writeFileSync(join(project, 'compose.yml'), `${BASE.replace('1.0.0', '1.1.0')}# edited since\n`);
    await restoreComposeFiles(c, scratch);
    expect(read('compose.yml')).toBe(`${BASE}# edited since\n`);
  });
});

describe('links planted in the project dir (issue 13, defect 3)', () => {
  /** Links at every name refit ever used for its temp files, pointing at a file outside the project. */
  function plantTempLinks(...names: string[]): void {
    for (const name of names) symlinkSync(join(root, 'victim'), join(project, `.${name}.refit-${process.pid}.tmp`));
  }

  it('the bump and its undo never write through a link planted at a temp file name', async () => {
    const c = compose(['compose.yml']);
    plantTempLinks('compose.yml');
    await saveComposeFiles(c, scratch, { from: 'reg/web:1.0.0', to: 'reg/web:1.1.0' });
    await bumpImageTag(c, scratch);
    expect(read('compose.yml')).toBe(BASE.replace('1.0.0', '1.1.0'));
    await restoreComposeFiles(c, scratch);
    expect(read('compose.yml')).toBe(BASE);
    expect(victim()).toBe(VICTIM_TEXT);
    expect(lstatSync(join(project, `.compose.yml.refit-${process.pid}.tmp`)).isSymbolicLink()).toBe(true);
  });

  it('the same for an env file', async () => {
    writeFileSync(join(project, 'compose.yml'), 'services:\n  web:\n    image: reg/web:${TAG}\n');
    writeFileSync(join(project, '.env'), 'TAG=1.0.0\n');
    plantTempLinks('.env');
    const c = compose(['compose.yml']);
    await saveComposeFiles(c, scratch, { from: 'reg/web:1.0.0', to: 'reg/web:1.1.0' });
    await bumpImageTag(c, scratch);
    await restoreComposeFiles(c, scratch);
    expect(read('.env')).toBe('TAG=1.0.0\n');
    expect(victim()).toBe(VICTIM_TEXT);
  });

  it('a compose file, or a directory on its path, swapped for a link out of the project after the check: refused, nothing written', async () => {
    mkdirSync(join(project, 'conf'));
    writeFileSync(join(project, 'conf', 'site.yml'), BASE);
    const c = compose(['conf/site.yml']);
    await saveComposeFiles(c, scratch, { from: 'reg/web:1.0.0', to: 'reg/web:1.1.0' });
    writeFileSync(join(root, 'victim'), BASE);
    rmSync(join(project, 'conf'), { recursive: true });
    symlinkSync(root, join(project, 'conf'));
    symlinkSync(join(root, 'victim'), join(root, 'site.yml'));
    await expect(bumpImageTag(c, scratch)).rejects.toThrow(`${project}/conf/site.yml links to ${root}/victim, outside the project dir ${project}; refit will not write there`);
    expect(victim()).toBe(BASE);
  });

  it('a FIFO planted as the env file is a reason at check time, never a read that blocks', async () => {
    writeFileSync(join(project, 'compose.yml'), 'services:\n  web:\n    image: reg/web:${TAG}\n');
    execFileSync('mkfifo', [join(project, '.env')]);
    const site = { compose: compose(['compose.yml']), image: { reference: 'reg/web:1.0.0', id: 'x', repoDigests: [] } };
    expect(await whyTagCannotChange(site, 'reg/web:1.1.0')).toBe(`${project}/.env is not a regular file`);
  });

  it('a link to a file inside the project is written through, keeping the link', async () => {
    mkdirSync(join(project, 'conf'));
    writeFileSync(join(project, 'conf', 'real.yml'), BASE);
    symlinkSync('conf/real.yml', join(project, 'linked.yml'));
    const c = compose(['linked.yml']);
    await saveComposeFiles(c, scratch, { from: 'reg/web:1.0.0', to: 'reg/web:2.0.0' });
    await bumpImageTag(c, scratch);
    expect(lstatSync(join(project, 'linked.yml')).isSymbolicLink()).toBe(true);
    expect(read('conf/real.yml')).toBe(BASE.replace('1.0.0', '2.0.0'));
    expect(existsSync(join(root, 'conf'))).toBe(false);
  });
});
