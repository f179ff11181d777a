/**
 * @module merge/extract
 * Copies an image's stock config tree out of the image without running it: a stopped
 * container is created (labelled refit.role=extract, with the refit process that made it and
 * what it was made for), its path is read as a tar stream through the Engine API, and the
 * container is removed whatever happens; a removal that fails is an error, never a silent
 * leftover. A refit killed in between leaves it behind: the maintenance it was for removes it
 * when it is undone (`removeExtractContainers`), and `sweepExtractLeftovers` removes any whose
 * refit is gone.
 */
import type { Engine } from '../docker/engine.js';
import { engineError, statusOf } from '../docker/engine.js';
import { RefitError } from '../errors.js';
import { processAlive, processStartTime } from '../journal/lock.js';
import { imageTreeFromTar } from './image-tree.js';
import { withDefaults, type TreeLimits } from './limits.js';
import { emptyTree, type Tree } from './tree.js';
import { writeTree } from './write-tree.js';

export interface ExtractOptions {
  limits?: Partial<TreeLimits>;
  /** What the temporary container is for (a maintenance id): `removeExtractContainers` finds it by this. */
  for?: string;
  /** Extra labels for the temporary container (tests use them to sweep leftovers). */
  labels?: Record<string, string>;
}

export interface ExtractResult {
  /** What was written into `dest`, and what was refused and why. */
  tree: Tree;
  dest: string;
}

/**
 * Writes the tree at `containerPath` in `image` into `dest`, which must not exist yet; it is
 * created private (0700, owned by refit). An image without that path gives an empty tree and
 * a note: the image ships no stock configs.
 */
export async function extractImageConfig(engine: Engine, image: string, containerPath: string, dest: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  if (!containerPath.startsWith('/')) throw new RefitError('usage', `config path ${JSON.stringify(containerPath)} must be absolute`, 'fix the refit.config label');
  const limits = withDefaults(options.limits);
  const labels = { ...options.labels, ...(options.for ? { [EXTRACT_FOR_LABEL]: options.for } : {}) };
  const tree = await readImageTree(engine, image, containerPath, limits, labels);
  await writeTree(dest, tree, { owners: false });
  return { tree, dest };
}

export const EXTRACT_ROLE = 'refit.role=extract';
/** `PID:START` of the refit process that created the container (start time from /proc, as the host lock has it). */
export const EXTRACT_OWNER_LABEL = 'refit.extract.owner';
/** What the container was made for (a maintenance id). */
export const EXTRACT_FOR_LABEL = 'refit.extract.for';
/** An extract container of a refit that did not label its owner is a leftover once it is this old. */
const UNOWNED_LEFTOVER_AGE_S = 3600;

/** Whether an extract container was left behind by a refit that is gone (pure, given who is alive). */
export function isExtractLeftover(labels: Record<string, string>, createdS: number, nowS: number, alive: (pid: number, startTime: string | null) => boolean): boolean {
  const owner = /^(\d+):(\d+)$/.exec(labels[EXTRACT_OWNER_LABEL] ?? '');
  if (!owner) return nowS - createdS > UNOWNED_LEFTOVER_AGE_S;
  return !alive(Number(owner[1]), owner[2]!);
}

/** Removes the extract containers made for `owner` (what extractImageConfig was given as `for`). */
export async function removeExtractContainers(engine: Engine, owner: string): Promise<void> {
  const what = `remove the config-extract containers of ${owner}`;
  try {
    const all = await engine.call(what, (abortSignal) => engine.api.listContainers({ all: true, filters: { label: [EXTRACT_ROLE, `${EXTRACT_FOR_LABEL}=${owner}`] }, abortSignal }));
    for (const c of all) await removeContainer(engine, what, c.Id);
  } catch (err) {
    throw err instanceof RefitError ? err : engineError(what, err);
  }
}

/** Removes the extract containers of refits that are gone; returns their names. */
export async function sweepExtractLeftovers(engine: Engine, nowS = Date.now() / 1000): Promise<string[]> {
  const what = 'remove config-extract containers a killed refit left';
  try {
    const all = await engine.call(what, (abortSignal) => engine.api.listContainers({ all: true, filters: { label: [EXTRACT_ROLE] }, abortSignal }));
    const gone = all.filter((c) => isExtractLeftover(c.Labels ?? {}, c.Created, nowS, processAlive));
    const removed = [];
    for (const c of gone) if (await removeContainer(engine, what, c.Id)) removed.push(c);
    return removed.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ''));
  } catch (err) {
    throw err instanceof RefitError ? err : engineError(what, err);
  }
}

/** Removes a container; false when it was already gone (another refit on the host swept it first). */
async function removeContainer(engine: Engine, what: string, id: string): Promise<boolean> {
  try {
    await engine.call(what, (abortSignal) => engine.api.getContainer(id).remove({ force: true, v: true, abortSignal }));
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

async function readImageTree(engine: Engine, image: string, containerPath: string, limits: TreeLimits, labels: Record<string, string>): Promise<Tree> {
  let container;
  try {
    const owner = `${process.pid}:${processStartTime(process.pid) ?? 0}`;
    container = await engine.call(`create a stopped container from ${image}`, (abortSignal) =>
      engine.api.createContainer({
        Image: image,
        // Never started; an entrypoint is set only because images without one cannot be created.
        Entrypoint: ['/refit-extract-never-runs'],
        Cmd: [],
        Labels: { ...labels, 'refit.role': 'extract', [EXTRACT_OWNER_LABEL]: owner },
        NetworkDisabled: true,
        HostConfig: { NetworkMode: 'none' },
        abortSignal,
      }),
    );
  } catch (err) {
    if (err instanceof RefitError) throw err;
    if (statusOf(err) === 404) {
      throw new RefitError('docker', `image ${image} is not on this host, so its configs cannot be extracted`, `pull it first: docker pull ${image}`, { cause: err });
    }
    throw engineError(`create a stopped container from ${image} to read ${containerPath}`, err);
  }
  let read = false;
  try {
    let stream: NodeJS.ReadableStream;
    try {
      // The trailing "/." makes the engine resolve links in the image's own root, then send the contents.
      stream = await engine.call(`read ${containerPath} from image ${image}`, (abortSignal) => container.getArchive({ path: `${containerPath.replace(/\/+$/, '')}/.`, abortSignal }));
    } catch (err) {
      if (err instanceof RefitError) throw err;
      if (statusOf(err) === 404) {
        const tree = emptyTree();
        tree.notes.push(`image ${image} has nothing at ${containerPath}: it ships no stock configs`);
        read = true;
        return tree;
      }
      throw engineError(`read ${containerPath} from image ${image}`, err);
    }
    try {
      const tree = await imageTreeFromTar(stream as AsyncIterable<Buffer>, containerPath, limits);
      read = true;
      return tree;
    } finally {
      // Stop the transfer if the tree was rejected half way.
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    }
  } finally {
    const what = `remove the extract container of ${image}`;
    await engine.call(what, (abortSignal) => container.remove({ force: true, v: true, abortSignal })).catch((err: unknown) => {
      // After a failed read, that failure is the one to report.
      if (read) throw err instanceof RefitError ? err : engineError(what, err);
    });
  }
}
