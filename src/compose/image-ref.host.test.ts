/**
 * The tag bump as Compose itself reads it: after the bump, both Compose v1 and v2 resolve the
 * service to the new image, whether the tag was written in an override that uses an anchor, in
 * the project's `.env`, in an `--env-file`, or in a file the service `extends`; and a service
 * in a profile resolves too.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bumpImageTag, saveComposeFiles } from '../maintenance/compose-files.js';
import type { Site } from '../site/discover.js';
import { detectCompose, type ComposeFlavor } from './cli.js';
import { resolveService } from './model.js';

const root = mkdtempSync(join(tmpdir(), 'refit-imageref-host-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Case {
  files: Record<string, string>;
  composeFiles: string[];
  envFiles?: string[];
  changed: string;
}

const CASES: Record<string, Case> = {
  'an override with an anchor': {
    files: { 'base.yml': 'services:\n  web:\n    image: web:1.0.0\n', 'override.yml': 'x-img: &img "web:1.0.0" # pinned\nservices:\n  web:\n    image: *img\n' },
    composeFiles: ['base.yml', 'override.yml'],
    changed: 'override.yml',
  },
  '${WEB_TAG} in .env, the service in a profile': {
    files: { 'compose.yml': 'services:\n  web:\n    image: web:${WEB_TAG}\n    profiles: [site]\n', '.env': '# tags\nWEB_TAG=1.0.0\nOTHER=x\n' },
    composeFiles: ['compose.yml'],
    changed: '.env',
  },
  '${WEB_TAG} in an --env-file': {
    files: { 'compose.yml': 'services:\n  web:\n    image: web:${WEB_TAG}\n', '.env': 'WEB_TAG=0.1.0\n', 'deploy/prod.env': 'WEB_TAG="1.0.0"\n' },
    composeFiles: ['compose.yml'],
    envFiles: ['deploy/prod.env'],
    changed: 'deploy/prod.env',
  },
  'extends from another file': {
    files: { 'compose.yml': 'services:\n  web:\n    extends: { file: common.yml, service: app }\n', 'common.yml': 'services:\n  app:\n    image: web:1.0.0\n' },
    composeFiles: ['compose.yml'],
    changed: 'common.yml',
  },
};

describe.each(['v2', 'v1'] as ComposeFlavor[])('tag bump read back by Compose %s', (flavor) => {
  it.each(Object.keys(CASES))('%s', async (name) => {
    const c = CASES[name]!;
    const dir = join(root, `${flavor}-${Object.keys(CASES).indexOf(name)}`);
    for (const [file, text] of Object.entries(c.files)) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    const compose: Site['compose'] = { project: `refitimageref${flavor}`, workingDir: dir, configFiles: c.composeFiles, envFiles: (c.envFiles ?? []).map((f) => join(dir, f)), service: 'web', version: '' };
    const cli = await detectCompose(flavor);
    const target = { project: compose.project, workingDir: dir, files: compose.configFiles, envFiles: compose.envFiles };
    expect((await resolveService(cli, target, 'web')).image).toBe('web:1.0.0');

    await saveComposeFiles(compose, join(dir, '.scratch'), { from: 'web:1.0.0', to: 'web:1.1.0' });
    expect(await bumpImageTag(compose, join(dir, '.scratch'))).toMatchObject({ file: join(dir, c.changed), changed: true });
    expect((await resolveService(cli, target, 'web')).image).toBe('web:1.1.0');
    for (const [file, text] of Object.entries(c.files)) if (file !== c.changed) expect(readFileSync(join(dir, file), 'utf8')).toBe(text);
  });
});
