/**
 * @module metrics/server
 * Serves `/metrics` on a loopback address for the daemon. Refuses any other address (config
 * error, exit 2) before it opens a socket.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RefitError } from '../errors.js';
import { listenAddress } from './listen.js';
import type { Metrics } from './metrics.js';

export interface MetricsServer {
  /** The port actually bound (useful when `listen` asked for port 0). */
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(listen: string, metrics: Metrics): Promise<MetricsServer> {
  const { host, port } = listenAddress(listen);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('refit serves only GET /metrics here\n');
      return;
    }
    metrics.exposition().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new RefitError('config', `metrics.listen ${listen}: cannot listen (${err.code ?? err.message})`, err.code === 'EADDRINUSE' ? 'another process holds that port; pick another in metrics.listen' : undefined, { cause: err })),
    );
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
