/**
 * @module watch/holds
 * An image the watch reverted is held on this host until an operator releases it (`refit
 * holds release`): no pass takes it again. Which candidate a hold stops (pure): the same
 * registry digest when both are known (a same-tag update is held by digest, not by its tag),
 * otherwise the same reference.
 */
import type { HeldImage, HoldRecord } from '../journal/types.js';

export function holdOn(holds: readonly HoldRecord[], candidate: { reference: string; digest: string | null }): HoldRecord | undefined {
  return holds.find((h) => (h.digest && candidate.digest ? h.digest === candidate.digest : h.reference === candidate.reference));
}

/** Why a pass leaves a held candidate alone, and how to release it. */
export function heldReason(h: HoldRecord): string {
  return `${imageText(h)} is held on this host since ${h.created.toISOString()} (hold #${h.id}, after the watch of ${h.container}): ${h.reason}; \`refit holds release ${h.id}\` lets it be taken again`;
}

export function imageText(i: HeldImage): string {
  return i.digest ? `${i.reference} (${i.digest.slice(0, 19)}…)` : i.reference;
}
