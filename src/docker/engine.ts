/**
 * @module docker/engine
 * The Docker Engine, behind the few calls refit makes. Everything else in refit sees this
 * interface, so pipeline logic can be tested with plain data (see fake.ts).
 */
import Docker from 'dockerode';
import { RefitError } from '../errors.js';

export type ContainerInfo = Docker.ContainerInspectInfo;
export type ImageInfo = Docker.ImageInspectInfo;

export interface Engine {
  /** IDs of containers (running or not) that carry the label (KEY or KEY=VALUE). */
  listContainerIds(label: string): Promise<string[]>;
  inspectContainer(idOrName: string): Promise<ContainerInfo>;
  /** null when the engine has no such image. */
  inspectImage(ref: string): Promise<ImageInfo | null>;
  /** The dockerode client, for edge modules that need more than the calls above. */
  readonly api: Docker;
}

export function connectEngine(socketPath: string): Engine {
  const api = new Docker({ socketPath });
  return {
    api,
    async listContainerIds(label) {
      const list = await call(`list containers labelled ${label}`, () => api.listContainers({ all: true, filters: { label: [label] } }));
      return list.map((c) => c.Id);
    },
    inspectContainer: (id) => call(`inspect container ${id}`, () => api.getContainer(id).inspect()),
    async inspectImage(ref) {
      try {
        return await api.getImage(ref).inspect();
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return null;
        throw engineError(`inspect image ${ref}`, err);
      }
    },
  };
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw engineError(what, err);
  }
}

export function engineError(what: string, err: unknown): RefitError {
  const e = err as { code?: string; statusCode?: number; json?: { message?: string }; message?: string };
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES') {
    return new RefitError('docker', `cannot reach the Docker Engine to ${what} (${e.code})`, 'is dockerd running, and is docker.socket in refit.yml right?', { cause: err });
  }
  const detail = e.json?.message ?? e.message ?? String(err);
  return new RefitError('docker', `Docker Engine could not ${what}: ${detail.trim()}`, undefined, { cause: err });
}
