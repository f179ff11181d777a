/**
 * @module registry/testing/fake-registry
 * A small node:http server that plays a registry badly or well on purpose (token auth, 429,
 * 500, slow and malformed answers, pagination), and records every request it gets.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from '../../docker/engine.js';

export interface Seen {
  method: string;
  url: string;
  authorization: string | null;
  at: number;
}

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export interface FakeRegistry {
  host: string;
  seen: Seen[];
  stop(): Promise<void>;
}

export async function startFakeRegistry(route: Route): Promise<FakeRegistry> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    seen.push({ method: req.method ?? '', url: url.pathname + url.search, authorization: req.headers.authorization ?? null, at: Date.now() });
    route(req, res, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A deterministic digest for fake manifests. */
export function fakeDigest(seed: string): string {
  let hex = '';
  for (let i = 0; hex.length < 64; i++) hex += ((seed.charCodeAt(i % seed.length) * 31 + i * 7) % 256).toString(16).padStart(2, '0');
  return `sha256:${hex.slice(0, 64)}`;
}

/** An engine that knows no local images: update detection then rests on the registry alone. */
export function engineWithoutImages(): Engine {
  const refuse = () => Promise.reject(new Error('not used by update detection'));
  return { api: undefined as never, timeoutMs: 1000, call: refuse, listContainerIds: refuse, inspectContainer: refuse, inspectImage: async () => null };
}
