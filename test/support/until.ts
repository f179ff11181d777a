/** Waiting in a test for something to be true, by polling it, with a generous bound instead of a sleep. */
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `probe` is true; throws after `timeoutMs`, naming `what`. */
export async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(200);
  }
  throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
}
