/**
 * Names for what a host test suite creates. The suite label and the fixture image names carry
 * a tag of this checkout, so two checkouts testing on one Docker host at the same time (a
 * clean-clone CI run beside a working tree) never sweep or rebuild each other's containers,
 * networks or images, while a killed run's leftovers in this checkout are still swept.
 */
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const checkout = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tag = createHash('sha256').update(checkout).digest('hex').slice(0, 8);

/** `history` -> `history.1a2b3c4d`: the value of the refit.test.suite label. */
export function suiteName(name: string): string {
  return `${name}.${tag}`;
}

/** A fixture image reference private to a suite: `refit-fixture/<suite>/<name>:<tag>`. */
export function fixtureImage(suite: string, name: string, version: string): string {
  return `refit-fixture/${suite}/${name}:${version}`;
}
