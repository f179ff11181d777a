/**
 * @module maintenance/replaced-images
 * After a pass, the images its updates left behind (`images.removeReplaced`). An update that
 * stuck (kept by its watch, when watched) moved its site off the old image for good. The
 * engine removes an image only while no container uses it, so an image that another site
 * still runs (not updated yet, rolled back, another project) stays. While a maintenance is
 * unfinished nothing is removed: its rollback may need the image it came from.
 */
import type { ContainerReport, RemovedImage } from './report.js';
import type { World } from './world.js';

/** The images the updates of these reports replaced for good, each with the reference it ran as (pure). */
export function replacedImages(reports: readonly ContainerReport[]): ContainerReport['from'][] {
  const replaced = new Map<string, ContainerReport['from']>();
  for (const r of reports) {
    if (r.result !== 'updated' || r.kind === 'revert') continue;
    // A reverted update runs the old image again; a failed revert leaves it for the operator to retry.
    if (r.watch && r.watch.decision !== 'kept' && r.watch.decision !== 'not-judged') continue;
    if (!r.to?.imageId || r.to.imageId === r.from.imageId) continue;
    replaced.set(`${r.from.imageId} ${r.from.reference}`, r.from);
  }
  return [...replaced.values()];
}

/** Removes the images `reports` replaced that no container uses; names what went and why anything could not be asked. */
export async function removeReplacedImages(world: World, reports: readonly ContainerReport[], unfinished: number): Promise<{ removed: RemovedImage[]; notes: string[] }> {
  const candidates = replacedImages(reports);
  if (!candidates.length) return { removed: [], notes: [] };
  if (unfinished > 0) return { removed: [], notes: [`kept the ${candidates.length} image(s) this pass replaced: ${unfinished} maintenance(s) are unfinished and may roll back to them`] };
  const removed: RemovedImage[] = [];
  const notes: string[] = [];
  for (const { imageId, reference } of candidates) {
    try {
      const gone = await world.removeUnusedImage(imageId, reference);
      if (gone && (gone.deleted || gone.references.length)) removed.push({ imageId, ...gone });
    } catch (err) {
      notes.push(`could not remove the replaced image ${imageId} (${reference}): ${(err as Error).message}`);
    }
  }
  return { removed, notes };
}
