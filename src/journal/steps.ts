/**
 * @module journal/steps
 * The steps of one container's maintenance (SPEC.md steps 1–10), in the order the pipeline runs
 * them. The journal records them by these names and `recoveryPlan` reasons about their order,
 * so the order here IS the contract: undoing the begun steps in reverse must restore the site.
 *
 * That is why the swap (SPEC step 9) drains the original BEFORE installing configs and bumping
 * the compose file: undoing in reverse then restores configs and compose file first, and only
 * then does the undo of `drain-original` bring the original back on its old image.
 */

export const MAINTENANCE_STEPS = [
  'pull', // 1: new image on the host. undo: nothing (an image is harmless)
  'scratch', // 2: scratch dir. undo: remove it
  'stock-configs', // 3: base + latest extracted into scratch. undo: nothing (scratch)
  'merge', // 4: merged tree in scratch. undo: nothing (scratch)
  'override', // 5: override file in scratch. undo: nothing (scratch)
  'shadow', // 6: shadow container up. undo: removeShadow
  'shadow-health', // 7: shadow healthy. undo: nothing
  'shadow-traffic', // 8: shadow in the proxy backend. undo: drain + remove it from the proxy
  'config-backup', // 9: copy of the customer dir kept. undo: nothing (backups are kept)
  'drain-original', // 9: original out of the proxy. undo: bring the original back on the old image (recreate if it is not that container any more), health-check, add it back
  'config-install', // 9: merged tree installed. undo: restore the backup
  'image-ref', // 9: compose file names the new tag. undo: write back the recorded old bytes
  'recreate-original', // 9: original recreated on the new image. undo: nothing of its own (see drain-original)
  'original-health', // 9: recreated original healthy. COMMIT: from here recovery finishes forward
  'original-traffic', // 9: recreated original back in the proxy. undo: drain + remove it
  'retire-shadow', // 10: shadow drained, out of the proxy, removed
  'remove-scratch', // 10: scratch dir removed
] as const;

export type StepName = (typeof MAINTENANCE_STEPS)[number];

/**
 * Once this step is done the new image has proven itself in the original's place: an interrupted
 * maintenance is finished, not rolled back (unless a step had already failed).
 */
export const COMMIT_STEP: StepName = 'original-health';

export function isStepName(s: string): s is StepName {
  return (MAINTENANCE_STEPS as readonly string[]).includes(s);
}
