/**
 * @module registry/transport
 * HTTP to registries, the way Docker does it: HTTPS verified with the system CAs plus the
 * per-registry CA in `certsDir/HOST[:PORT]/ca.crt` (and `client.cert`/`client.key`), plain HTTP
 * only for loopback and the insecure list, and only after the TLS handshake showed the server
 * speaks plain HTTP. Adds timeouts, retries with backoff, a per-host pause after a 429, and a
 * bound on requests in flight. Knows nothing about auth or manifests (client.ts does).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { RefitError } from '../errors.js';
import { retryAfterMs } from './challenge.js';
import { limiter, type Limiter } from './limit.js';
import { plainHttpAllowed } from './plain-http.js';
import { nextStep, type Outcome, type RetryRules } from './retry.js';

export interface TransportOptions {
  certsDir: string;
  insecure: readonly string[];
  timeoutMs: number;
  retry: RetryRules;
  concurrency: number;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The URL that answered, for resolving relative Link headers. */
  url: string;
}

export interface Call {
  method: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  /** Only for POST (the OAuth2 token exchange). */
  body?: string;
}

/** Largest answer body read: tag lists of busy repositories are long, but not this long. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
// OpenSSL's words for "the server answered the TLS hello in plain HTTP".
const PLAIN_HTTP_SERVER = /wrong version number|packet length too long|http request/i;
const UNREACHABLE: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const CERT_PROBLEM = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH/;

export class Transport {
  private readonly agents = new Map<string, Agent>();
  private readonly scheme = new Map<string, 'https' | 'http'>();
  private readonly pausedUntil = new Map<string, number>();
  /** Hosts that refused or did not resolve after all retries: the rest of the pass does not knock again. */
  private readonly unreachable = new Map<string, RefitError>();
  private readonly limit: Limiter;
  private systemCas: string[] | null = null;

  constructor(private readonly opts: TransportOptions) {
    this.limit = limiter(opts.concurrency);
  }

  /** `target` is a path on `host` (`/v2/...`) or an absolute URL (token realm, Link targets). */
  async fetch(host: string, target: string, call: Call): Promise<Answer> {
    const down = this.unreachable.get(host);
    if (down) throw new RefitError('registry', `${down.message}, earlier in this pass; not asked again`, down.hint, { cause: down });
    let attempt = 0;
    for (;;) {
      const outcome = await this.attemptOnce(host, target, call);
      if ('answer' in outcome) {
        const a = outcome.answer;
        const o: Outcome = { kind: 'status', status: a.status, retryAfterMs: retryAfterMs(header(a, 'retry-after'), Date.now()) };
        const step = nextStep(attempt, o, this.opts.retry);
        if (!step.retry) {
          if (step.why) throw new RefitError('registry', `registry ${host} answered HTTP ${a.status} to ${call.method} ${pathOf(a.url)} and ${step.why}`, 'try the check again later');
          return a;
        }
        if (a.status === 429) this.pausedUntil.set(host, Date.now() + step.delayMs);
        await sleep(step.delayMs);
      } else {
        const step = nextStep(attempt, outcome.failure, this.opts.retry);
        if (!step.retry) {
          const err = outcome.error(step.why);
          if (outcome.failure.kind === 'network' && UNREACHABLE.has(outcome.failure.detail)) this.unreachable.set(host, err);
          throw err;
        }
        await sleep(step.delayMs);
      }
      attempt++;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close()));
    this.agents.clear();
  }

  private async attemptOnce(host: string, target: string, call: Call): Promise<{ answer: Answer } | { failure: Outcome; error: (why: string | null) => RefitError }> {
    const paused = (this.pausedUntil.get(host) ?? 0) - Date.now();
    if (paused > 0) await sleep(paused);
    return this.limit(async () => {
      const url = await this.urlFor(host, target);
      try {
        return { answer: await this.send(url, call) };
      } catch (err) {
        if (url.startsWith('https:') && !target.includes('://') && this.isPlainHttpServer(err, host)) {
          this.scheme.set(host, 'http');
          return { answer: await this.send(await this.urlFor(host, target), call) };
        }
        return this.describe(err, host, url, call);
      }
    }).catch((err: unknown) => this.describe(err, host, target, call));
  }

  private async urlFor(host: string, target: string): Promise<string> {
    if (!target.includes('://')) return `${this.scheme.get(host) ?? 'https'}://${host}${target}`;
    const u = new URL(target);
    if (u.protocol === 'http:' && !plainHttpAllowed(u.host, this.opts.insecure)) {
      throw new RefitError('registry', `registry ${host} sent refit to plain-HTTP ${u.origin}, which is neither loopback nor in registry.insecure`, 'add it to registry.insecure only if it is on a trusted network');
    }
    return target;
  }

  private isPlainHttpServer(err: unknown, host: string): boolean {
    const e = err as { code?: string; message?: string };
    return plainHttpAllowed(host, this.opts.insecure) && (e.code === 'EPROTO' || e.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || PLAIN_HTTP_SERVER.test(e.message ?? ''));
  }

  private async send(url: string, call: Call): Promise<Answer> {
    const u = new URL(url);
    const res = await request(url, {
      method: call.method,
      headers: { 'user-agent': 'refit', ...call.headers },
      body: call.body,
      dispatcher: u.protocol === 'https:' ? this.agentFor(u.host) : undefined,
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        res.body.destroy();
        throw new RefitError('registry', `registry ${u.host} sent more than ${MAX_BODY_BYTES} bytes for ${call.method} ${u.pathname}`, 'is this really a Docker registry?');
      }
      chunks.push(chunk as Buffer);
    }
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), url };
  }

  private agentFor(host: string): Agent {
    let agent = this.agents.get(host);
    if (!agent) {
      agent = new Agent({ connect: { ...this.tlsFor(host) } });
      this.agents.set(host, agent);
    }
    return agent;
  }

  /** System CAs plus Docker's per-registry directory: every *.crt is a CA, *.cert + *.key a client certificate. */
  private tlsFor(host: string): { ca: string[]; cert?: Buffer; key?: Buffer } {
    this.systemCas ??= [...rootCertificates, ...(existsSync(SYSTEM_BUNDLE) ? [readFileSync(SYSTEM_BUNDLE, 'utf8')] : [])];
    const dir = join(this.opts.certsDir, host);
    const files = existsSync(dir) ? readdirSync(dir).sort() : [];
    const ca = [...this.systemCas, ...files.filter((f) => f.endsWith('.crt')).map((f) => readFileSync(join(dir, f), 'utf8'))];
    const cert = files.find((f) => f.endsWith('.cert') && files.includes(f.replace(/\.cert$/, '.key')));
    if (!cert) return { ca };
    return { ca, cert: readFileSync(join(dir, cert)), key: readFileSync(join(dir, cert.replace(/\.cert$/, '.key'))) };
  }

  private describe(err: unknown, host: string, url: string, call: Call): { failure: Outcome; error: (why: string | null) => RefitError } {
    const what = `${call.method} ${pathOf(url)}`;
    if (err instanceof RefitError) return { failure: { kind: 'fatal' }, error: () => err };
    const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
    const code = e.code ?? e.cause?.code ?? '';
    const message = e.message ?? String(err);
    const fail = (failure: Outcome, text: string, hint?: string) => ({
      failure,
      error: (why: string | null) => new RefitError('registry', `registry ${host}: ${text} (${what}${why ? `; ${why}` : ''})`, hint, { cause: err }),
    });
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || /UND_ERR_(HEADERS|BODY|CONNECT)_TIMEOUT/.test(code)) {
      return fail({ kind: 'timeout' }, `no answer within ${this.opts.timeoutMs} ms`, 'is the registry overloaded? registry.timeoutMs sets the limit');
    }
    if (CERT_PROBLEM.test(code)) {
      return {
        failure: { kind: 'fatal' },
        error: () => new RefitError('registry', `registry ${host}: its TLS certificate is not trusted (${code}: ${message}) (${what})`, `put the CA that signed it at ${join(this.opts.certsDir, host, 'ca.crt')}`, { cause: err }),
      };
    }
    if (code === 'ECONNREFUSED') return fail({ kind: 'network', detail: code }, 'connection refused, the registry is unreachable', 'is the registry running and is the reference right?');
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return fail({ kind: 'network', detail: code }, `cannot resolve ${host} (${code})`, 'check DNS and the image reference');
    return fail({ kind: 'network', detail: code || message }, `request failed: ${code ? `${code} ` : ''}${message}`);
  }
}

export function header(a: Answer, name: string): string | null {
  const v = a.headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

function pathOf(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}
