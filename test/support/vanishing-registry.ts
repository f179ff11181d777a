/**
 * A registry that answers update checks and then vanishes mid-pull: a TCP front on the
 * registry's published port that passes everything through to the real registry (moved to
 * another port) until the first blob request, the start of an image pull's downloads (update
 * checks only ask for manifests). Then it cuts every connection and stops listening: the
 * registry is gone, deterministically, between the manifest and the first blob of a pull.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface VanishingFront {
  /** True once the front has cut off the registry. */
  vanished(): boolean;
  stop(): Promise<void>;
}

const BLOB_REQUEST = /^(GET|HEAD) \/v2\/\S+\/blobs\//m;

export async function startVanishingFront(o: { port: number; target: { host: string; port: number } }): Promise<VanishingFront> {
  const sockets = new Set<Socket>();
  let gone = false;
  const server = createServer((client) => {
    if (gone) {
      client.destroy();
      return;
    }
    const upstream = createConnection(o.target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('data', (chunk: Buffer) => {
      if (BLOB_REQUEST.test(chunk.toString('latin1'))) return vanish();
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  const closed = new Promise<void>((resolve) => server.on('close', resolve));
  function vanish() {
    gone = true;
    server.close();
    for (const s of sockets) s.destroy();
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', resolve);
  });
  return {
    vanished: () => gone,
    async stop() {
      if (!gone) vanish();
      await closed;
    },
  };
}
