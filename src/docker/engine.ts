/**
 * @module docker/engine
 * The Docker Engine, behind the few calls refit makes. Everything else in refit sees this
 * interface, so pipeline logic can be tested with plain data (maintenance/fake-world.ts). Every call has a
 * deadline (`docker.timeoutMs`): refit holds the host lock while it waits, so an Engine that
 * stops answering must fail the call with the reason, never hang the pass.
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
  /**
   * One Engine API call under the deadline (`timeoutMs`, default the engine's): the call gets an
   * AbortSignal to pass on to dockerode; past the deadline it is aborted and rejects with a
   * RefitError that names `what`. Other errors come through as they are.
   */
  call<T>(what: string, fn: (abortSignal: AbortSignal) => Promise<T>, o?: { timeoutMs?: number }): Promise<T>;
  /** The deadline of one call (docker.timeoutMs). */
  readonly timeoutMs: number;
  /** The dockerode client, for edge modules that need more than the calls above (through `call`). */
  readonly api: Docker;
}

export const DEFAULT_ENGINE_TIMEOUT_MS = 60_000;

export function connectEngine(socketPath: string, o: { timeoutMs?: number } = {}): Engine {
  const api = new Docker({ socketPath });
  const timeoutMs = o.timeoutMs ?? DEFAULT_ENGINE_TIMEOUT_MS;
  const call: Engine['call'] = (what, fn, opts) => withDeadline(what, opts?.timeoutMs ?? timeoutMs, fn);
  const wrapped = async <T>(what: string, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await call(what, fn);
    } catch (err) {
      throw err instanceof RefitError ? err : engineError(what, err);
    }
  };
  return {
    api,
    timeoutMs,
    call,
    async listContainerIds(label) {
      const list = await wrapped(`list containers labelled ${label}`, (abortSignal) => api.listContainers({ all: true, filters: { label: [label] }, abortSignal }));
      return list.map((c) => c.Id);
    },
    inspectContainer: (id) => wrapped(`inspect container ${id}`, (abortSignal) => api.getContainer(id).inspect({ abortSignal })),
    async inspectImage(ref) {
      try {
        return await call(`inspect image ${ref}`, (abortSignal) => {
          // dockerode takes abortSignal here too; its types leave it out.
          const options: Docker.ImageInspectOptions & { abortSignal: AbortSignal } = { abortSignal };
          return api.getImage(ref).inspect(options);
        });
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw err instanceof RefitError ? err : engineError(`inspect image ${ref}`, err);
      }
    },
  };
}

/** Runs `fn` with an AbortSignal that fires after `ms`; rejects then with the reason, whatever `fn` does. */
export async function withDeadline<T>(what: string, ms: number, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new RefitError('docker', `Docker Engine did not answer within ${ms} ms to ${what}`, 'is dockerd hung or overloaded? see `systemctl status docker`; docker.timeoutMs in refit.yml is this deadline'));
    }, ms);
  });
  try {
    return await Promise.race([fn(abort.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The HTTP status of an Engine API error (404: no such object), if it has one. */
export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

export function engineError(what: string, err: unknown): RefitError {
  const e = err as { code?: string; statusCode?: number; json?: { message?: string }; message?: string };
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES') {
    return new RefitError('docker', `cannot reach the Docker Engine to ${what} (${e.code})`, 'is dockerd running, and is docker.socket in refit.yml right?', { cause: err });
  }
  const detail = e.json?.message ?? e.message ?? String(err);
  return new RefitError('docker', `Docker Engine could not ${what}: ${detail.trim()}`, undefined, { cause: err });
}
