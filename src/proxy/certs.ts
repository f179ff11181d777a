/**
 * @module proxy/certs
 * The TLS certificates the proxy terminates with: every `*.pem` in the cert dir, each holding
 * a certificate and its private key (the HAProxy convention, which nginx reads too). No PEM
 * file means no HTTPS listener. `certCovering` (pure) tells whether a site has a certificate.
 */
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RefitError } from '../errors.js';

export interface CertFile {
  path: string;
  /** DNS names the certificate is valid for (subjectAltName, else the CN), lower-case. */
  names: string[];
}

export function loadCerts(certDir: string): CertFile[] {
  let files: string[];
  try {
    files = readdirSync(certDir).filter((f) => f.endsWith('.pem')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RefitError('proxy', `cannot read the certificate dir ${certDir}: ${(err as Error).message}`, 'fix proxy.*.certDir or its permissions');
  }
  return files.map((f) => {
    const path = join(certDir, f);
    const pem = readFileSync(path, 'utf8');
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
      throw new RefitError('proxy', `certificate ${path} holds no private key`, 'put the certificate chain and its key into one PEM file');
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      throw new RefitError('proxy', `certificate ${path} cannot be read: ${(err as Error).message}`, 'replace it with a valid PEM certificate + key');
    }
    return { path, names: certNames(cert.subjectAltName, cert.subject) };
  });
}

export function certNames(subjectAltName: string | undefined, subject: string): string[] {
  const sans = (subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (sans.length) return sans;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(subject)?.[1];
  return cn ? [cn.trim().toLowerCase()] : [];
}

/** Whether certificate name `pattern` (maybe `*.example.com`) covers `host`. */
export function nameCovers(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.startsWith('*.')) return false;
  const suffix = pattern.slice(1); // ".example.com"
  // A certificate wildcard covers exactly one label; a vhost wildcard needs the same wildcard.
  return host.endsWith(suffix) && !host.slice(0, -suffix.length).includes('.') && !host.startsWith('*');
}

/** The first certificate that covers the site's preferred vhost, else any of its vhosts; undefined when none does. */
export function certCovering(vhosts: string[], certs: CertFile[]): CertFile | undefined {
  for (const host of vhosts) {
    const match = certs.find((c) => c.names.some((n) => nameCovers(n, host)));
    if (match) return match;
  }
  return undefined;
}
