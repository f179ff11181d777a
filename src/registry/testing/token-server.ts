/**
 * @module registry/testing/token-server
 * A Docker token service for host tests, the kind a registry with `auth: token` sends clients
 * to: it checks a password (Basic, on GET) or an identity token (the OAuth2 refresh grant, on
 * POST) and answers with a JWT the registry verifies: RS256, signed with a key made here,
 * whose certificate goes in the JWT's `x5c` header and in the registry's `rootcertbundle`.
 * It records who asked for what, never the secrets.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface TokenRequest {
  method: string;
  /** `basic:<user>`, `refresh:<user>`, `anonymous`, or `rejected`. */
  who: string;
  scope: string;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** The certificate the registry trusts (its `rootcertbundle`). */
  rootCertBundle: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

export interface TokenServerOptions {
  /** Where the key and certificate are made. */
  dir: string;
  passwords: Record<string, string>;
  /** Identity (refresh) token -> user. */
  refreshTokens: Record<string, string>;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const keyFile = join(opts.dir, 'token.key');
  const certFile = join(opts.dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=refit test token issuer', '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' });
  const key = createPrivateKey(readFileSync(keyFile));
  const x5c = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const service = 'refit-test-registry';
  const issuer = 'refit-test-issuer';
  const requests: TokenRequest[] = [];

  const jwt = (sub: string, scope: string) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scope
      .split(' ')
      .filter(Boolean)
      .map((s) => {
        const [type, name, actions] = s.split(':');
        return { type, name, actions: (actions ?? '').split(',').filter((a) => a === 'pull') };
      });
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [x5c] }));
    const body = b64url(JSON.stringify({ iss: issuer, sub, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }));
    return `${head}.${body}.${b64url(sign('sha256', Buffer.from(`${head}.${body}`), key))}`;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const answer = (status: number, doc: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(doc));
      };
      let who = 'anonymous';
      let scope = url.searchParams.get('scope') ?? '';
      if (req.method === 'POST') {
        const form = new URLSearchParams(body);
        scope = form.get('scope') ?? '';
        const user = form.get('grant_type') === 'refresh_token' ? opts.refreshTokens[form.get('refresh_token') ?? ''] : undefined;
        who = user ? `refresh:${user}` : 'rejected';
      } else if (req.headers.authorization?.startsWith('Basic ')) {
        const [user, password] = Buffer.from(req.headers.authorization.slice(6), 'base64').toString().split(/:(.*)/s);
        who = user && opts.passwords[user] === password ? `basic:${user}` : 'rejected';
      }
      requests.push({ method: req.method ?? '', who, scope });
      // Anonymous clients get a token without access: the registry then refuses them (401).
      if (who === 'rejected') return answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'wrong credentials' }] });
      const token = jwt(who, who === 'anonymous' ? '' : scope);
      answer(200, { token, access_token: token, expires_in: 300 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
