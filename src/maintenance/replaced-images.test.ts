import { describe, expect, it } from 'vitest';
import { removeReplacedImages, replacedImages } from './replaced-images.js';
import type { ContainerReport } from './report.js';
import { fakeSite, fakeWorld, NEW, OLD } from './testing/fake-site.js';
import type { WatchReport } from '../watch/report.js';

function report(o: Partial<ContainerReport> = {}): ContainerReport {
  return {
    container: 'shop-web-1',
    project: 'shop',
    service: 'web',
    result: 'updated',
    reason: '',
    from: { reference: OLD.reference, imageId: OLD.id },
    to: { reference: NEW.reference, digest: null, imageId: NEW.id },
    steps: [],
    merge: null,
    health: { shadow: null, original: null },
    drains: [],
    notes: [],
    durationMs: 1,
    ...o,
  };
}
const watched = (decision: WatchReport['decision']) => ({ decision }) as WatchReport;

describe('replacedImages', () => {
  it('names the image each update that stuck moved off, once', () => {
    expect(replacedImages([report(), report({ container: 'blog-web-1' }), report({ watch: watched('kept') }), report({ watch: watched('not-judged') })])).toEqual([{ reference: OLD.reference, imageId: OLD.id }]);
  });

  it('names none for what did not leave its image for good', () => {
    const kept = [
      report({ result: 'rolled-back' }),
      report({ result: 'failed' }),
      report({ result: 'current', to: null }),
      report({ result: 'reverted', watch: watched('reverted') }),
      // The watch found it worse and could not revert: the operator may want the old image back.
      report({ watch: watched('revert-failed') }),
      // A revert's "from" is the image the update brought, which a later update may bring again.
      report({ kind: 'revert' }),
      // A same-image update (an index whose other platforms changed) replaced nothing.
      report({ to: { reference: OLD.reference, digest: null, imageId: OLD.id } }),
      report({ to: { reference: NEW.reference, digest: null } }),
    ];
    for (const r of kept) expect(replacedImages([r]), JSON.stringify(r)).toEqual([]);
  });
});

describe('removeReplacedImages', () => {
  it('removes nothing while a maintenance is unfinished, and says why', async () => {
    const world = fakeWorld(fakeSite());
    world.containers.clear();
    expect(await removeReplacedImages(world, [report()], 1)).toEqual({
      removed: [],
      notes: ['kept the 1 image(s) this pass replaced: 1 maintenance(s) are unfinished and may roll back to them'],
    });
    expect(world.images.has(OLD.id)).toBe(true);
  });

  it('goes on past an image the engine would not remove, naming it', async () => {
    const world = fakeWorld(fakeSite());
    world.containers.clear();
    world.images.add('sha256:other');
    world.removeUnusedImage = async (id) => {
      if (id === OLD.id) throw new Error('Docker Engine could not remove the unused image: conflict');
      return { references: ['reg.example/web:0.9'], deleted: true };
    };
    const reports = [report(), report({ from: { reference: 'reg.example/web:0.9', imageId: 'sha256:other' } })];
    expect(await removeReplacedImages(world, reports, 0)).toEqual({
      removed: [{ imageId: 'sha256:other', references: ['reg.example/web:0.9'], deleted: true }],
      notes: [`could not remove the replaced image ${OLD.id} (${OLD.reference}): Docker Engine could not remove the unused image: conflict`],
    });
  });
});
