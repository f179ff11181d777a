/**
 * @module proxy/haproxy/render
 * Renders haproxy.cfg from the proxy state (pure). One HTTP frontend and, when certificates
 * exist, one TLS frontend; both route by Host (port and case ignored) to one backend per site
 * and answer 503 for unknown hosts. Servers not ready are rendered `disabled`: a reload never
 * sends new requests to a server being drained (the adapter restores `drain` at runtime).
 */
import type { SiteEntry } from '../state.js';

export interface HaproxyRenderInput {
  adminSocket: string;
  bind: string;
  httpPort: number;
  httpsPort: number;
  certFiles: string[];
  serverTimeoutMs: number;
  sites: SiteEntry[];
}

export const backendOf = (siteId: string) => `site_${siteId}`;
const UNKNOWN_HOST = 'refit_unknown_host';

export function renderHaproxy(i: HaproxyRenderInput): string {
  const lines = [
    '# Rendered by refit from state.json in this directory. Edits are overwritten.',
    'global',
    // expose-fd listeners: a reload hands the listening sockets to the new worker, so no connection is refused.
    `  stats socket ${i.adminSocket} mode 600 level admin expose-fd listeners`,
    '  stats timeout 2m',
    '',
    'defaults',
    '  mode http',
    '  option forwardfor',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout http-request 15s',
    `  timeout server ${i.serverTimeoutMs}ms`,
    '  timeout tunnel 1h',
    '',
    ...frontend('http', `${i.bind}:${i.httpPort}`, [
      'http-request set-header X-Forwarded-Proto http',
      // Clients must not be able to claim TLS they did not use.
      'http-request del-header X-Forwarded-SSL',
    ], i.sites),
  ];
  if (i.certFiles.length) {
    lines.push(
      ...frontend('https', `${i.bind}:${i.httpsPort} ssl ${i.certFiles.map((f) => `crt ${f}`).join(' ')}`, [
        'http-request set-header X-Forwarded-Proto https',
        'http-request set-header X-Forwarded-SSL on',
      ], i.sites),
    );
  }
  for (const site of i.sites) {
    lines.push(`backend ${backendOf(site.id)}`, '  balance roundrobin');
    for (const s of site.servers) lines.push(`  server ${s.name} ${s.ip}:${s.port}${s.state === 'ready' ? '' : ' disabled'}`);
    lines.push('');
  }
  lines.push(`backend ${UNKNOWN_HOST}`, '  http-request return status 503 content-type text/plain string "refit: no site is configured for this host\\n"', '');
  return lines.join('\n');
}

function frontend(name: string, bind: string, headers: string[], sites: SiteEntry[]): string[] {
  const lines = [`frontend ${name}`, `  bind ${bind}`, ...headers.map((h) => `  ${h}`)];
  lines.push('  http-request set-var(txn.host) req.hdr(host),field(1,:),lower');
  // Exact names first, so a site's own hostname beats another site's wildcard.
  for (const site of sites) {
    const exact = site.vhosts.filter((v) => !v.startsWith('*.'));
    if (exact.length) lines.push(`  use_backend ${backendOf(site.id)} if { var(txn.host) -m str ${exact.join(' ')} }`);
  }
  for (const site of sites) {
    const suffixes = site.vhosts.filter((v) => v.startsWith('*.')).map((v) => v.slice(1));
    if (suffixes.length) lines.push(`  use_backend ${backendOf(site.id)} if { var(txn.host) -m end ${suffixes.join(' ')} }`);
  }
  lines.push(`  default_backend ${UNKNOWN_HOST}`, '');
  return lines;
}
