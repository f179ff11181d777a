/**
 * A bounded request loop against the proxy: `concurrency` clients send requests one after the
 * other until stopped, `maxRequests` is reached or `maxMs` passes. Every request is accounted
 * for: 2xx, other status, or the error (refused, reset, timed out).
 */
import { Agent, request } from 'node:http';

export interface LoadResult {
  sent: number;
  ok: number;
  failures: { kind: string; count: number }[];
  /** Distinct response bodies' first lines (e.g. which version answered). */
  firstLines: Record<string, number>;
}

export interface Load {
  stop(): Promise<LoadResult>;
}

export function startLoad(o: { port: number; host: string; path?: string; concurrency?: number; maxRequests?: number; maxMs?: number; timeoutMs?: number }): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency ?? 4 });
  const deadline = Date.now() + (o.maxMs ?? 120_000);
  const max = o.maxRequests ?? 200_000;
  const result: LoadResult = { sent: 0, ok: 0, failures: [], firstLines: {} };
  const fail = (kind: string) => {
    const f = result.failures.find((x) => x.kind === kind);
    if (f) f.count++;
    else result.failures.push({ kind, count: 1 });
  };
  let stopped = false;
  const one = () =>
    new Promise<void>((resolve) => {
      result.sent++;
      const req = request({ host: '127.0.0.1', port: o.port, path: o.path ?? '/', headers: { host: o.host }, agent, timeout: o.timeoutMs ?? 10_000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) {
            result.ok++;
            const line = body.split('\n')[0] ?? '';
            result.firstLines[line] = (result.firstLines[line] ?? 0) + 1;
          } else fail(`status ${res.statusCode}`);
          resolve();
        });
        res.on('error', (e) => {
          fail(`body ${(e as NodeJS.ErrnoException).code ?? e.message}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        fail((e as NodeJS.ErrnoException).code ?? e.message);
        resolve();
      });
      req.end();
    });
  const client = async () => {
    while (!stopped && Date.now() < deadline && result.sent < max) await one();
  };
  const clients = Promise.all(Array.from({ length: o.concurrency ?? 4 }, client));
  return {
    async stop() {
      stopped = true;
      await clients;
      agent.destroy();
      return result;
    },
  };
}
