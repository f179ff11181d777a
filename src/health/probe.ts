/**
 * @module health/probe
 * One HTTP GET to a container's ip:port with a chosen Host header, as the reverse proxy would
 * send it. Bounded in every way a broken app could stall a check: a connect timeout, a timeout
 * on the whole response (headers and body), and a body cap past which reading stops and the
 * connection is dropped. Network failures are values (`error`), not throws; only the caller's
 * AbortSignal rejects.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { HealthRequest } from './types.js';

export interface ProbeRequest {
  ip: string;
  port: number;
  path: string;
  host: string;
  forwardedHttps: boolean;
  connectTimeoutMs: number;
  /** From the connection being up to the last body byte read. */
  responseTimeoutMs: number;
  maxBodyBytes: number;
  /** Keep the body (the custom endpoint's JSON); otherwise it is counted and dropped. */
  keepBody: boolean;
  /** Speak TLS with this SNI name (a proxy's HTTPS listener; its certificate is not judged here). */
  tls?: { servername: string };
  /** More request headers (refit's probe marks through a proxy). */
  headers?: Record<string, string>;
  /** Keep this response header's value as `servedBy` (which server a proxy says answered). */
  servedByHeader?: string;
}

export interface ProbeResult {
  request: HealthRequest;
  /** At most maxBodyBytes; empty unless keepBody. */
  body: Buffer;
}

export const USER_AGENT = 'refit-health/1';

export function probe(req: ProbeRequest, signal?: AbortSignal): Promise<ProbeResult> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let bodyBytes = 0;
    let truncated = false;
    let status: number | null = null;
    let location: string | undefined;
    let servedBy: string | null | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let client: ClientRequest | undefined;

    const cleanUp = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Dropping the connection is how reading stops at the cap or the timeout.
      client?.destroy();
    };
    const finish = (error?: string) => {
      if (settled) return;
      cleanUp();
      const request: HealthRequest = {
        path: req.path,
        host: req.host,
        forwardedHttps: req.forwardedHttps,
        status: error === undefined ? status : null,
        durationMs: Math.round(performance.now() - started),
        bodyBytes,
        truncated,
        ...(location !== undefined && error === undefined ? { location } : {}),
        ...(servedBy !== undefined && error === undefined ? { servedBy } : {}),
        ...(error !== undefined ? { error } : {}),
      };
      resolve({ request, body: Buffer.concat(chunks) });
    };
    function onAbort() {
      if (settled) return;
      cleanUp();
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    timer = setTimeout(() => finish(`no connection within ${req.connectTimeoutMs} ms (connect timeout)`), req.connectTimeoutMs);
    const startResponseTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => finish(status === null ? `connected but no answer within ${req.responseTimeoutMs} ms (response timeout)` : `answered ${status} but the body did not finish within ${req.responseTimeoutMs} ms (response timeout)`),
        req.responseTimeoutMs,
      );
    };

    try {
      const options = {
        host: req.ip,
        port: req.port,
        path: req.path,
        method: 'GET',
        agent: false as const,
        headers: {
          Host: req.host,
          'User-Agent': USER_AGENT,
          Accept: '*/*',
          Connection: 'close',
          ...(req.forwardedHttps ? { 'X-Forwarded-Proto': 'https', 'X-Forwarded-SSL': 'on' } : {}),
          ...req.headers,
        },
      };
      client = req.tls ? httpsRequest({ ...options, servername: req.tls.servername, rejectUnauthorized: false }) : httpRequest(options);
    } catch (err) {
      // Node refuses a path or Host it cannot send (control characters and the like).
      finish(`request not sent: ${(err as Error).message}`);
      return;
    }
    client.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', startResponseTimer);
      else startResponseTimer();
    });
    client.on('error', (err) => finish(describeError(err)));
    client.on('response', (res) => {
      status = res.statusCode ?? null;
      const loc = res.headers.location;
      location = Array.isArray(loc) ? loc[0] : loc;
      if (req.servedByHeader) {
        const by = res.headers[req.servedByHeader.toLowerCase()];
        servedBy = (Array.isArray(by) ? by[0] : by) ?? null;
      }
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = req.maxBodyBytes - bodyBytes;
        const take = chunk.length > room ? chunk.subarray(0, room) : chunk;
        bodyBytes += take.length;
        if (req.keepBody) chunks.push(take);
        if (chunk.length > room) {
          truncated = true;
          finish();
        }
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(`answered ${status} but the body was cut short (${describeError(err)})`));
      res.on('close', () => {
        if (!res.complete) finish(`answered ${status} but the connection closed before the body ended`);
      });
    });
    client.end();
  });
}

function describeError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens on that port yet?)';
    case 'ECONNRESET':
      return 'connection reset by the container';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to the container (${err.code}): is refit on the container's network?`;
    default:
      if (err.code?.startsWith('HPE_')) return `not a valid HTTP answer (${err.code}: ${err.message})`;
      if (err.message === 'socket hang up') return 'connection closed without an answer';
      return err.code ? `${err.message} (${err.code})` : err.message;
  }
}
