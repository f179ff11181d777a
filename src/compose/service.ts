/**
 * @module compose/service
 * Operations on a service of the ORIGINAL project, used by the swap (SPEC step 9).
 */
import { runCompose, type ComposeCli, type ComposeTarget } from './cli.js';

/** Recreates `service` from the project's files as they are now (image, configs), leaving its dependencies alone. */
export async function recreateService(cli: ComposeCli, target: ComposeTarget, service: string): Promise<void> {
  await runCompose(cli, target, ['up', '-d', '--no-deps', '--force-recreate', service]);
}
