/**
 * The tag bump as Compose itself reads it: after updateComposeImage, both Compose v1 and v2
 * resolve the service to the new image, from a base file plus an override that uses an anchor.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectCompose } from './cli.js';
import { updateComposeImage } from './image-ref.js';
import { resolveService } from './model.js';

const dir = mkdtempSync(join(tmpdir(), 'refit-imageref-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['v2', 'v1'] as const)('tag bump read back by Compose %s', (flavor) => {
  it('resolves the service to the new image and keeps the base file as it was', async () => {
    const base = 'services:\n  web:\n    image: web:1.0.0\n';
    const override = `x-img: &img "web:1.0.0" # pinned\nservices:\n  web:\n    image: *img\n`;
    writeFileSync(join(dir, `base-${flavor}.yml`), base);
    writeFileSync(join(dir, `override-${flavor}.yml`), override);
    const target = { project: `refitimageref${flavor}`, workingDir: dir, files: [`base-${flavor}.yml`, `override-${flavor}.yml`] };

    const u = updateComposeImage(target, 'web', 'web:1.1.0');
    expect(u.file).toBe(join(dir, `override-${flavor}.yml`));
    const model = await resolveService(await detectCompose(flavor), target, 'web');
    expect(model.image).toBe('web:1.1.0');
  });
});
