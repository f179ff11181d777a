/**
 * @module registry/pull
 * Pulls an image through the Docker Engine (the engine keeps layers, verifies digests and
 * knows its own insecure registries), with the same credentials the check used (password or
 * identity token, from the Docker config or its credential helper) sent as X-Registry-Auth. Progress goes to `onProgress` as plain lines, or to stderr: updated in
 * place on a terminal, plain lines otherwise.
 */
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
    const stream = await engine.api.pull(reference, authconfig ? { authconfig } : {});
    await new Promise<void>((resolve, reject) => engine.api.modem.followProgress(stream, (err) => (err ? reject(err) : resolve()), onEvent));
  } catch (err) {
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

/** X-Registry-Auth for the engine: it trades an identity token for access tokens itself. */
function registryAuth(cred: Credential, registry: string): Record<string, string> | undefined {
  if (cred.kind === 'basic') return { username: cred.username, password: cred.password, serveraddress: registry };
  if (cred.kind === 'identity-token') return { identitytoken: cred.token, serveraddress: registry };
  return undefined;
}
