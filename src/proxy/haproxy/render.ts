/**
 * @module proxy/haproxy/render
 * Renders haproxy.cfg from the proxy state (pure). One HTTP frontend and, when certificates
 * exist, one TLS frontend; both route by Host (port and case ignored) to one backend per site
 * and answer 503 for unknown hosts. Each backend has server slots (slots.ts): occupied ones
 * carry their container's address, drained and free ones are `disabled`, so a reload never
 * sends new requests to a server being drained.
 *
 * Between maintenances the proxy looks after itself: TCP health checks take a dead container
 * out of rotation, and a connection that fails is retried on another server (`retries`,
 * `option redispatch`). A reload never drops a request on a kept-alive client connection:
 * the old worker answers the next request on an idle connection with `Connection: close`
 * instead of closing it under the client (`option idle-close-on-response`).
 *
 * refit's own probes (their secret `X-Refit-Probe` header) are pinned to one slot by
 * `X-Refit-Probe-Server` and get the answering slot back in `X-Refit-Server`.
 *
 * One version per client while two share a site: a backend whose name is in the affinity map
 * (a file, changed at runtime with `add map`/`del map`, so no reload) pins a client to the slot
 * its `refit_srv` cookie names, and gives a client without it (or with another) the cookie of
 * the slot that answered. A slot in maintenance (a drained server) is skipped by `use-server`:
 * its clients are balanced onto the others and get their cookie. Outside a maintenance the map
 * is empty and no cookie is set.
 */
import type { SiteEntry } from '../state.js';
import { slotTable } from './slots.js';

export interface HaproxyRenderInput {
  adminSocket: string;
  bind: string;
  httpPort: number;
  httpsPort: number;
  certFiles: string[];
  serverTimeoutMs: number;
  /** Old workers still finishing requests after a reload are stopped after this. */
  hardStopAfterMs: number;
  /** Drop privileges to this user/group after binding (when refit runs as root). */
  user: string | null;
  probeToken: string;
  /** The map file naming the backends whose clients stay with one server (see affinityMap). */
  affinityMap: string;
  sites: SiteEntry[];
}

export const backendOf = (siteId: string) => `site_${siteId}`;
const UNKNOWN_HOST = 'refit_unknown_host';
/** Where a free slot points; it is disabled, so nothing is ever sent there. */
const NOWHERE = '127.0.0.1:9';

export const PROBE_HEADER = 'X-Refit-Probe';
export const PROBE_SERVER_HEADER = 'X-Refit-Probe-Server';
export const SERVED_BY_HEADER = 'X-Refit-Server';
/** The cookie that keeps a client on one server while two versions share a site. */
export const AFFINITY_COOKIE = 'refit_srv';

/** The affinity map file's content: one line per backend whose clients stay with one server. */
export function renderAffinityMap(sites: SiteEntry[]): string {
  return sites.filter((s) => s.affinity).map((s) => `${backendOf(s.id)} 1\n`).join('');
}

export function renderHaproxy(i: HaproxyRenderInput): string {
  const lines = [
    '# Rendered by refit from state.json in this directory. Edits are overwritten.',
    'global',
    // expose-fd listeners: a reload hands the listening sockets to the new worker, so no connection is refused.
    `  stats socket ${i.adminSocket} mode 600 level admin expose-fd listeners`,
    '  stats timeout 2m',
    `  hard-stop-after ${Math.ceil(i.hardStopAfterMs / 1000)}s`,
    ...(i.user ? [`  user ${i.user}`, `  group ${i.user}`] : []),
    '',
    'defaults',
    '  mode http',
    '  option forwardfor',
    '  option idle-close-on-response',
    '  option redispatch 1',
    '  retries 3',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout http-request 15s',
    '  timeout http-keep-alive 30s',
    `  timeout server ${i.serverTimeoutMs}ms`,
    '  timeout tunnel 1h',
    '  default-server check inter 2s fall 2 rise 2',
    '',
    ...frontend('http', `${i.bind}:${i.httpPort}`, [
      'http-request set-header X-Forwarded-Proto http',
      // Clients must not be able to claim TLS they did not use.
      'http-request del-header X-Forwarded-SSL',
    ], i),
  ];
  if (i.certFiles.length) {
    lines.push(
      ...frontend('https', `${i.bind}:${i.httpsPort} ssl ${i.certFiles.map((f) => `crt ${f}`).join(' ')}`, [
        'http-request set-header X-Forwarded-Proto https',
        'http-request set-header X-Forwarded-SSL on',
      ], i),
    );
  }
  for (const site of i.sites) {
    lines.push(
      `backend ${backendOf(site.id)}`,
      '  balance roundrobin',
      `  acl refit_sharing be_name,map(${i.affinityMap}) -m found`,
      `  http-request set-var(txn.refit_cookie) req.cook(${AFFINITY_COOKIE}) if refit_sharing`,
    );
    const slots = slotTable(site);
    for (const { slot } of slots) lines.push(`  use-server ${slot} if { var(txn.refit_probe) -m bool } { req.hdr(${PROBE_SERVER_HEADER}) -m str ${slot} }`);
    for (const { slot } of slots) lines.push(`  use-server ${slot} if refit_sharing { var(txn.refit_cookie) -m str ${slot} }`);
    lines.push(
      '  http-response set-var(txn.refit_srv) srv_name if refit_sharing',
      `  http-response add-header Set-Cookie "${AFFINITY_COOKIE}=%[var(txn.refit_srv)]; Path=/; HttpOnly; SameSite=Lax" if refit_sharing !{ var(txn.refit_cookie),strcmp(txn.refit_srv) eq 0 }`,
    );
    for (const { slot, server } of slots) {
      lines.push(`  server ${slot} ${server ? `${server.ip}:${server.port}` : NOWHERE}${server?.state === 'ready' ? '' : ' disabled'}`);
    }
    lines.push('');
  }
  lines.push(`backend ${UNKNOWN_HOST}`, '  http-request return status 503 content-type text/plain string "refit: no site is configured for this host\\n"', '');
  return lines.join('\n');
}

/** A server line as `renderHaproxy` writes it: slot, an IPv4 address (proxy state takes no other), a port, maybe `disabled`. */
const SERVER_LINE = /^ {2}server (s\d+) \d{1,3}(?:\.\d{1,3}){3}:\d{1,5}(?: disabled)?$/;

/**
 * Whether `next` is `loaded` (a config the running HAProxy accepted) with only its servers'
 * addresses and states changed, line for line, each written as `renderHaproxy` writes a server:
 * what the runtime API sets without a reload. Such a config needs no `haproxy -c` either (each
 * check is a whole HAProxy start-up, certificates included, and a pass made several per site).
 */
export function onlyServersDiffer(loaded: string, next: string): boolean {
  const was = loaded.split('\n');
  const now = next.split('\n');
  if (was.length !== now.length) return false;
  return now.every((line, i) => {
    if (line === was[i]) return true;
    const slot = SERVER_LINE.exec(line)?.[1];
    return slot !== undefined && SERVER_LINE.exec(was[i]!)?.[1] === slot;
  });
}

function frontend(name: string, bind: string, headers: string[], i: HaproxyRenderInput): string[] {
  const lines = [`frontend ${name}`, `  bind ${bind}`, ...headers.map((h) => `  ${h}`)];
  lines.push(
    `  http-request set-var(txn.refit_probe) bool(true) if { req.hdr(${PROBE_HEADER}) -m str ${i.probeToken} }`,
    // The secret never reaches an app.
    `  http-request del-header ${PROBE_HEADER}`,
    `  http-response set-header ${SERVED_BY_HEADER} %[srv_name] if { var(txn.refit_probe) -m bool }`,
  );
  lines.push('  http-request set-var(txn.host) req.hdr(host),field(1,:),lower');
  // Exact names first, so a site's own hostname beats another site's wildcard.
  for (const site of i.sites) {
    const exact = site.vhosts.filter((v) => !v.startsWith('*.'));
    if (exact.length) lines.push(`  use_backend ${backendOf(site.id)} if { var(txn.host) -m str ${exact.join(' ')} }`);
  }
  for (const site of i.sites) {
    const suffixes = site.vhosts.filter((v) => v.startsWith('*.')).map((v) => v.slice(1));
    if (suffixes.length) lines.push(`  use_backend ${backendOf(site.id)} if { var(txn.host) -m end ${suffixes.join(' ')} }`);
  }
  lines.push(`  default_backend ${UNKNOWN_HOST}`, '');
  return lines;
}
