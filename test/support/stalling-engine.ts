/**
 * A Docker Engine that stalls: a unix socket that passes every request through to the real
 * Engine socket, except the first one whose request line matches `stall`. That one is held
 * open forever, either before it reaches the Engine (`at: 'request'`: no answer at all) or
 * after the answer's headers (`at: 'body'`: a stream, such as a pull's progress, that starts
 * and then never moves again). Only refit's own Engine API calls go through it; Compose still
 * talks to the real socket.
 */
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';

export interface StallingEngine {
  /** The socket path to give refit as docker.socket. */
  path: string;
  /** True once a request matched and was stalled. */
  stalled(): boolean;
  stop(): Promise<void>;
}

const HEADERS_END = Buffer.from('\r\n\r\n');

export async function startStallingEngine(o: { path: string; stall: RegExp; at: 'request' | 'body'; engine?: string }): Promise<StallingEngine> {
  const sockets = new Set<Socket>();
  let matched = false;
  rmSync(o.path, { force: true });
  const server = createServer((client) => {
    const upstream = createConnection(o.engine ?? '/var/run/docker.sock');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    // 'pass': relay both ways; 'headers': relay the answer up to its headers; 'held': relay nothing more.
    let mode: 'pass' | 'headers' | 'held' = 'pass';
    client.on('data', (chunk: Buffer) => {
      if (mode === 'held') return;
      if (!matched && o.stall.test(chunk.toString('latin1').split('\r\n')[0] ?? '')) {
        matched = true;
        mode = o.at === 'request' ? 'held' : 'headers';
        if (mode === 'held') return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'held') return;
      if (mode === 'headers') {
        const end = chunk.indexOf(HEADERS_END);
        if (end < 0) return void client.write(chunk);
        client.write(chunk.subarray(0, end + HEADERS_END.length));
        mode = 'held';
        return;
      }
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => {
      if (mode === 'pass') client.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.path, resolve);
  });
  return {
    path: o.path,
    stalled: () => matched,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(o.path, { force: true });
    },
  };
}
