/**
 * @module docker/ops
 * The few engine operations the maintenance needs beyond discovery: where a container is
 * reachable, moving a tag, running a hook command inside a container.
 */
import { PassThrough } from 'node:stream';
import { RefitError } from '../errors.js';
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
