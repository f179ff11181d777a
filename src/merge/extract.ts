/**
 * @module merge/extract
 * Copies an image's stock config tree out of the image without running it: a stopped
 * container is created (labelled refit.role=extract), its path is read as a tar stream through
 * the Engine API, and the container is removed whatever happens.
 */
import type { Engine } from '../docker/engine.js';
import { engineError } from '../docker/engine.js';
import { RefitError } from '../errors.js';
import { imageTreeFromTar } from './image-tree.js';
import { withDefaults, type TreeLimits } from './limits.js';
import { emptyTree, type Tree } from './tree.js';
import { writeTree } from './write-tree.js';

export interface ExtractOptions {
  limits?: Partial<TreeLimits>;
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
  const tree = await readImageTree(engine, image, containerPath, limits, options.labels ?? {});
  await writeTree(dest, tree, { owners: false });
  return { tree, dest };
}

async function readImageTree(engine: Engine, image: string, containerPath: string, limits: TreeLimits, labels: Record<string, string>): Promise<Tree> {
  let container;
  try {
    container = await engine.api.createContainer({
      Image: image,
      // Never started; an entrypoint is set only because images without one cannot be created.
      Entrypoint: ['/refit-extract-never-runs'],
      Cmd: [],
      Labels: { ...labels, 'refit.role': 'extract' },
      NetworkDisabled: true,
      HostConfig: { NetworkMode: 'none' },
    });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) {
      throw new RefitError('docker', `image ${image} is not on this host, so its configs cannot be extracted`, `pull it first: docker pull ${image}`, { cause: err });
    }
    throw engineError(`create a stopped container from ${image} to read ${containerPath}`, err);
  }
  try {
    let stream: NodeJS.ReadableStream;
    try {
      // The trailing "/." makes the engine resolve links in the image's own root, then send the contents.
      stream = await container.getArchive({ path: `${containerPath.replace(/\/+$/, '')}/.` });
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404) {
        const tree = emptyTree();
        tree.notes.push(`image ${image} has nothing at ${containerPath}: it ships no stock configs`);
        return tree;
      }
      throw engineError(`read ${containerPath} from image ${image}`, err);
    }
    try {
      return await imageTreeFromTar(stream as AsyncIterable<Buffer>, containerPath, limits);
    } finally {
      // Stop the transfer if the tree was rejected half way.
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    }
  } finally {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}
