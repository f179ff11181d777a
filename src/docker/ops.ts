/**
 * @module docker/ops
 * The few engine operations the maintenance needs beyond discovery: where a container is
 * reachable, moving a tag, running a hook command inside a container, removing an image no
 * container uses.
 */
import { PassThrough } from 'node:stream';
import { RefitError } from '../errors.js';
import { repoKeyOf } from '../registry/reference.js';
import { engineError, statusOf, type Engine } from './engine.js';

export interface ContainerEndpoint {
  name: string;
  id: string;
  imageId: string;
  /** The image reference it was created from. */
  reference: string;
  /** IP on `network`, or else on its first network (by name) that has one; "" when none. */
  ip: string;
  running: boolean;
}

export async function endpointOf(engine: Engine, name: string, network?: string): Promise<ContainerEndpoint | null> {
  let info;
  try {
    info = await engine.call(`inspect container ${name}`, (abortSignal) => engine.api.getContainer(name).inspect({ abortSignal }));
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err instanceof RefitError ? err : engineError(`inspect container ${name}`, err);
  }
  const nets = Object.entries(info.NetworkSettings?.Networks ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return {
    name: info.Name.replace(/^\//, ''),
    id: info.Id,
    imageId: info.Image,
    reference: info.Config?.Image ?? '',
    ip: (network ? nets.filter(([netName]) => netName === network) : nets).map(([, n]) => n.IPAddress).find(Boolean) ?? '',
    running: Boolean(info.State?.Running),
  };
}

/** `registry:5000/team/web:1.2` -> repo `registry:5000/team/web`, tag `1.2` (tag defaults to latest). */
export function splitTag(reference: string): { repo: string; tag: string } {
  const at = reference.indexOf('@');
  const name = at >= 0 ? reference.slice(0, at) : reference;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: 'latest' };
}

export async function tagImage(engine: Engine, imageId: string, reference: string): Promise<void> {
  const { repo, tag } = splitTag(reference);
  try {
    await engine.call(`tag ${imageId} as ${reference}`, (abortSignal) => engine.api.getImage(imageId).tag({ repo, tag, abortSignal }));
  } catch (err) {
    throw err instanceof RefitError ? err : engineError(`tag ${imageId} as ${reference}`, err);
  }
}

/**
 * Whether a running container was created from `reference` and runs `imageId`. Asked of the
 * container's own config: the engine's list shows the ID instead of the reference once the tag
 * has moved on.
 */
export async function runsByTag(engine: Engine, reference: string, imageId: string): Promise<boolean> {
  const what = `list the running containers of image ${imageId}`;
  const running = await engine.call(what, (abortSignal) => engine.api.listContainers({ filters: { status: ['running'] }, abortSignal })).catch((err: unknown) => {
    throw err instanceof RefitError ? err : engineError(what, err);
  });
  for (const c of running.filter((r) => r.ImageID === imageId)) {
    const info = await engine.inspectContainer(c.Id).catch((err: unknown) => {
      if (statusOf(err) === 404 || statusOf((err as { cause?: unknown }).cause) === 404) return null; // gone meanwhile
      throw err;
    });
    if (info?.Config.Image === reference) return true;
  }
  return false;
}

/**
 * Removes the tags of `reference`'s repository that name the image, and the image with them when
 * nothing else names it, unless a container (running or stopped) uses it: null when it was kept
 * (in use) or is gone. Tags of other repositories (the operator's own names for it) stay, and the
 * image with them. A container made from it between the check and the removal makes the engine
 * refuse the last step: the tags are put back.
 */
export async function removeUnusedImage(engine: Engine, imageId: string, reference: string): Promise<{ references: string[]; deleted: boolean } | null> {
  const what = `remove the unused image ${imageId}`;
  const image = await engine.inspectImage(imageId);
  if (!image) return null;
  const repo = repoKeyOf(reference);
  const inRepo = (entry: string) => repo !== null && repoKeyOf(entry) === repo;
  try {
    const containers = await engine.call(what, (abortSignal) => engine.api.listContainers({ all: true, abortSignal }));
    if (containers.some((c) => c.ImageID === image.Id)) return null;
    const untagged: string[] = [];
    try {
      for (const tag of (image.RepoTags ?? []).filter(inRepo)) {
        if (await removeImageRef(engine, what, tag)) untagged.push(tag);
      }
      // The engine deletes the image with its last tag; one it only knows by digest goes by ID.
      const left = await engine.inspectImage(image.Id);
      const byId = left !== null && !left.RepoTags?.length && (left.RepoDigests ?? []).every(inRepo);
      if (byId) await removeImageRef(engine, what, image.Id);
      return { references: untagged, deleted: left === null || byId };
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      for (const tag of untagged) await tagImage(engine, image.Id, tag);
      return null;
    }
  } catch (err) {
    throw err instanceof RefitError ? err : engineError(what, err);
  }
}

/** Deletes a tag or an image ID (never forced); false when it was already gone. */
async function removeImageRef(engine: Engine, what: string, ref: string): Promise<boolean> {
  try {
    await engine.call(what, (abortSignal) => engine.api.getImage(ref).remove({ abortSignal }));
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/** Runs `sh -c command` in the container; rejects with its output when it exits non-zero or times out. */
export async function execInContainer(engine: Engine, name: string, command: string, timeoutMs: number): Promise<string> {
  const container = engine.api.getContainer(name);
  const what = `run a hook in ${name}`;
  const exec = await engine.call(what, (abortSignal) => container.exec({ Cmd: ['sh', '-c', command], AttachStdout: true, AttachStderr: true, abortSignal })).catch((err) => {
    throw err instanceof RefitError ? err : engineError(what, err);
  });
  const stream = await engine.call(what, () => exec.start({ hijack: true, stdin: false }));
  const out = new PassThrough();
  let output = '';
  out.on('data', (d: Buffer) => {
    if (output.length < 4096) output += d.toString('utf8');
  });
  engine.api.modem.demuxStream(stream, out, out);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise<void>((resolve) => stream.on('end', resolve).on('close', resolve)),
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new RefitError('docker', `hook \`${command}\` in ${name} timed out after ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  const { ExitCode } = await engine.call(`ask how the hook in ${name} ended`, (abortSignal) => exec.inspect({ abortSignal }));
  if (ExitCode !== 0) throw new RefitError('docker', `hook \`${command}\` in ${name} exited with ${ExitCode}: ${output.trim().split('\n').slice(-1)[0] ?? ''}`);
  return output;
}
