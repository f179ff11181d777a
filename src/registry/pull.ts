/**
 * @module registry/pull
 * Pulls an image through the Docker Engine (the engine keeps layers, verifies digests and
 * knows its own insecure registries), with the same credentials the check used (password or
 * identity token, from the Docker config or its credential helper) sent as X-Registry-Auth.
 * Progress goes to `onProgress` as plain lines, or to stderr: updated in place on a terminal,
 * plain lines otherwise. A pull never hangs the pass: it is abandoned when its progress stops
 * for `registry.pullStallMs`, or when it runs past `registry.pullTimeoutMs`.
 */
import type { Readable } from 'node:stream';
import type { RegistryConfig } from '../config/schema.js';
import { engineError, type Engine } from '../docker/engine.js';
import { RefitError } from '../errors.js';
import { openCredentials, type Credential } from './credentials.js';
import { PullProgress, type PullEvent } from './progress.js';
import { parseReference } from './reference.js';

export async function pullImage(engine: Engine, reference: string, config: RegistryConfig, onProgress?: (line: string) => void, env?: NodeJS.ProcessEnv): Promise<{ id: string }> {
  const parsed = parseReference(reference);
  if (!parsed.ok) throw new RefitError('registry', `cannot pull: ${parsed.reason}`);
  const credentials = openCredentials(config, env);
  const cred = await credentials.get(parsed.ref.registry);
  const authconfig = registryAuth(cred, parsed.ref.registry);

  const progress = new PullProgress(reference);
  const tty = !onProgress && process.stderr.isTTY;
  const say = onProgress ?? ((line: string) => process.stderr.write(`${line}\n`));
  let failure: string | null = null;
  const onEvent = (e: PullEvent) => {
    if (e.error) failure = e.error;
    const line = progress.feed(e);
    if (tty) process.stderr.write(`\r\x1b[K${progress.summary()}`);
    else if (line) say(line);
  };

  try {
    const stream = await engine.call(`pull ${reference}`, (abortSignal) => engine.api.pull(reference, { ...(authconfig ? { authconfig } : {}), abortSignal }));
    await followWithDeadlines(engine, stream, reference, config, onEvent);
  } catch (err) {
    if (err instanceof RefitError) throw err; // a deadline: its message says which
    failure ??= engineError(`pull ${reference}`, err).message;
  } finally {
    if (tty) process.stderr.write('\n');
  }
  if (failure) {
    const from = cred.kind === 'basic' || cred.kind === 'identity-token' ? cred.from : credentials.path;
    const hint = cred.kind === 'unusable' ? cred.reason : /unauthorized|denied|authentication/i.test(failure) ? `check the credentials for ${parsed.ref.registry} in ${from}` : undefined;
    throw new RefitError('registry', `pull of ${reference} failed: ${failure}`, hint);
  }
  const image = await engine.inspectImage(reference);
  if (!image) throw new RefitError('registry', `pull of ${reference} reported success but the engine has no such image afterwards`, 'run `docker pull` by hand to see what the engine does');
  return { id: image.Id };
}

/** Follows the pull's progress stream to its end, abandoning it when it stalls or runs too long. */
function followWithDeadlines(engine: Engine, stream: NodeJS.ReadableStream, reference: string, config: RegistryConfig, onEvent: (e: PullEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let stall: NodeJS.Timeout | undefined;
    const end = (err?: Error) => {
      clearTimeout(stall);
      clearTimeout(total);
      if (err) {
        (stream as Readable).destroy();
        reject(err);
      } else resolve();
    };
    const total = setTimeout(() => end(new RefitError('registry', `pull of ${reference} did not finish within ${config.pullTimeoutMs} ms`, 'a big image on a slow link? registry.pullTimeoutMs in refit.yml is this bound')), config.pullTimeoutMs);
    const watch = () => {
      clearTimeout(stall);
      stall = setTimeout(() => end(new RefitError('registry', `pull of ${reference} stalled: no progress for ${config.pullStallMs} ms`, 'is the registry up and reachable? registry.pullStallMs in refit.yml is this bound')), config.pullStallMs);
    };
    watch();
    engine.api.modem.followProgress(stream, (err) => end(err ?? undefined), (e: PullEvent) => {
      watch();
      onEvent(e);
    });
  });
}

/** X-Registry-Auth for the engine: it trades an identity token for access tokens itself. */
function registryAuth(cred: Credential, registry: string): Record<string, string> | undefined {
  if (cred.kind === 'basic') return { username: cred.username, password: cred.password, serveraddress: registry };
  if (cred.kind === 'identity-token') return { identitytoken: cred.token, serveraddress: registry };
  return undefined;
}
