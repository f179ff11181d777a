/**
 * @module proxy/nginx/render
 * Renders the two nginx configs of the nginx proxy (pure).
 *
 * nginx (before 1.27.4) closes idle kept-alive client connections the moment a reload starts,
 * and a client that sent its next request at that instant loses it. So the nginx proxy is two
 * nginx masters:
 *  - the EDGE holds the clients: listeners, TLS (one server block per certificate, chosen by
 *    SNI), forwarded headers. Its config names no site and no container, so it is reloaded
 *    only when certificates or listeners change.
 *  - the ROUTER holds the sites: one server block per site (by Host) and one upstream per site
 *    with its servers in rotation. Every server change reloads it. The edge reaches it over a
 *    unix socket with a new connection per request, so a router reload never closes a
 *    connection that has a request on its way: old router workers finish theirs and exit.
 * Unknown hosts and sites with no server in rotation answer 503, as with HAProxy.
 *
 * refit's probes (their secret `X-Refit-Probe` header) are pinned to one server by
 * `X-Refit-Probe-Server` (the container name) and get its address back in `X-Refit-Server`.
 *
 * The router also does what the watch after an update needs: it logs each observed site's
 * requests per server (access-log.ts; refit's probes are left out), and while two versions
 * share a site (affinity) it keeps a client on the server its `refit_srv` cookie names, as
 * long as that server is in rotation, and gives every answer the cookie of the server that
 * gave it. nginx has no sticky cookie of its own (that is nginx Plus); this is its closest
 * equivalent, with the same map that pins refit's probes.
 */
import { createHash } from 'node:crypto';
import type { CertFile } from '../certs.js';
import { WATCH_LOG_FORMAT } from './access-log.js';
import { inRotation, type SiteEntry } from '../state.js';

export interface NginxRenderInput {
  runDir: string;
  /** Worker user, or null when refit does not run as root (nginx cannot switch users then). */
  user: string | null;
  bind: string;
  httpPort: number;
  httpsPort: number;
  certs: CertFile[];
  serverTimeoutMs: number;
  probeToken: string;
  sites: SiteEntry[];
}

export const upstreamOf = (siteId: string) => `site_${siteId}`;
export const PROBE_HEADER = 'X-Refit-Probe';
export const PROBE_SERVER_HEADER = 'X-Refit-Probe-Server';
export const SERVED_BY_HEADER = 'X-Refit-Server';

/** Where each tier keeps its files, under the run dir. */
export const tierFiles = (runDir: string, tier: 'edge' | 'router') => ({
  dir: `${runDir}/${tier}`,
  cfg: `${runDir}/${tier}/nginx.conf`,
  pid: `${runDir}/${tier}/nginx.pid`,
  errorLog: `${runDir}/${tier}/error.log`,
});
/** The router's listening socket; its directory is reachable by root and the worker user only. */
export const routerSocket = (runDir: string) => `${runDir}/router/sock/router.sock`;
/** Where the router logs an observed site's requests (access-log.ts). */
export const watchLogDir = (runDir: string) => `${runDir}/router/watch`;
export const watchLog = (runDir: string, siteId: string) => `${watchLogDir(runDir)}/${siteId}.log`;
/** The cookie that keeps a client on one server while two versions share a site. */
export const AFFINITY_COOKIE = 'refit_srv';

/** A server's affinity cookie value: opaque (no container name or address reaches a client), stable while it serves. */
export function affinityValue(probeToken: string, siteId: string, server: { name: string; ip: string; port: number }): string {
  return createHash('sha256').update(`${probeToken}\0${siteId}\0${server.name}\0${server.ip}:${server.port}`).digest('hex').slice(0, 16);
}

const seconds = (ms: number) => `${Math.ceil(ms / 1000)}s`;

/** What both tiers share: process, logs, temp dirs, timeouts, upgrade handling. */
function common(i: NginxRenderInput, tier: 'edge' | 'router', upgradeDefault: string): string[] {
  const f = tierFiles(i.runDir, tier);
  return [
    `# Rendered by refit from ${i.runDir}/state.json (${tier} of the nginx proxy). Edits are overwritten.`,
    ...(i.user ? [`user ${i.user};`] : []),
    'worker_processes auto;',
    // Old workers finishing requests after a reload are stopped once the slowest allowed answer is over.
    `worker_shutdown_timeout ${seconds(i.serverTimeoutMs + 30_000)};`,
    `pid ${f.pid};`,
    `error_log ${f.errorLog} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((d) => `  ${d}_temp_path ${f.dir}/tmp/${d};`),
    // Like HAProxy, the proxy sets no limit on request bodies: the app decides.
    '  client_max_body_size 0;',
    // Long container names and vhosts in maps and server names (must come before the first map).
    '  map_hash_bucket_size 256;',
    '  server_names_hash_bucket_size 256;',
    '  proxy_http_version 1.1;',
    `  proxy_read_timeout ${seconds(i.serverTimeoutMs)};`,
    `  proxy_send_timeout ${seconds(i.serverTimeoutMs)};`,
    // WebSocket upgrades pass through; everything else keeps the tier's default Connection.
    `  map $http_upgrade $refit_connection { default upgrade; '' ${upgradeDefault}; }`,
  ];
}

export function renderEdge(i: NginxRenderInput): string {
  const listen = (port: number, extra = '') => `${i.bind.includes(':') ? `[${i.bind}]` : i.bind}:${port}${extra}`;
  const toRouter = [
    '    location / {',
    '      proxy_pass http://refit_router;',
    '      proxy_set_header Host $http_host;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '      proxy_set_header X-Forwarded-Proto $scheme;',
    // An empty value drops the header: plain-HTTP clients cannot claim TLS.
    '      proxy_set_header X-Forwarded-SSL $refit_forwarded_ssl;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $refit_connection;',
    '    }',
  ];
  const lines = [
    ...common(i, 'edge', 'close'),
    '  map $https $refit_forwarded_ssl { on on; default ""; }',
    // No keepalive here: a new connection per request is what keeps router reloads harmless.
    `  upstream refit_router { server unix:${routerSocket(i.runDir)}; }`,
    '',
    '  server {',
    `    listen ${listen(i.httpPort, ' default_server')};`,
    ...(i.certs[0] ? [`    listen ${listen(i.httpsPort, ' ssl default_server')};`, `    ssl_certificate ${i.certs[0].path};`, `    ssl_certificate_key ${i.certs[0].path};`] : []),
    ...toRouter,
    '  }',
  ];
  // One TLS server per certificate, found by SNI; the request is routed by Host in the router.
  for (const cert of i.certs) {
    if (!cert.names.length) continue;
    lines.push('', '  server {', `    listen ${listen(i.httpsPort, ' ssl')};`, `    server_name ${cert.names.join(' ')};`, `    ssl_certificate ${cert.path};`, `    ssl_certificate_key ${cert.path};`, ...toRouter, '  }');
  }
  lines.push('}', '');
  return lines.join('\n');
}

export function renderRouter(i: NginxRenderInput): string {
  const sock = `unix:${routerSocket(i.runDir)}`;
  const routed = i.sites.filter((s) => s.vhosts.length);
  const pins = routed.flatMap((s) => inRotation(s).map((server) => `    "1:${upstreamOf(s.id)}:${server.name}" "${server.ip}:${server.port}";`));
  const sharing = routed.flatMap((s) => (s.affinity ? inRotation(s).map((server) => ({ site: s, server, value: affinityValue(i.probeToken, s.id, server) })) : []));
  const lines = [
    ...common(i, 'router', '""'),
    '  proxy_next_upstream error timeout;',
    '  proxy_next_upstream_tries 3;',
    '  proxy_connect_timeout 5s;',
    `  map $http_x_refit_probe $refit_probe { "${i.probeToken}" 1; default ""; }`,
    // $refit_site is set in each site's location before the map is looked at (maps are evaluated lazily).
    '  map "$refit_probe:$refit_site:$http_x_refit_probe_server" $refit_pin {',
    '    default "";',
    ...pins,
    '  }',
    '  map $refit_probe $refit_served_by { 1 $upstream_addr; default ""; }',
    // Sites whose two versions share traffic: a client stays with the server of its cookie while that one is in rotation.
    `  map "$refit_site:$cookie_${AFFINITY_COOKIE}" $refit_sticky {`,
    '    default "";',
    ...sharing.map((x) => `    "${upstreamOf(x.site.id)}:${x.value}" "${x.server.ip}:${x.server.port}";`),
    '  }',
    '  map $upstream_addr $refit_affinity_cookie {',
    '    default "";',
    ...sharing.map((x) => `    "${x.server.ip}:${x.server.port}" "${AFFINITY_COOKIE}=${x.value}; Path=/; HttpOnly; SameSite=Lax";`),
    '  }',
    // The watch's log leaves refit's own probes out.
    `  log_format refit_watch '${WATCH_LOG_FORMAT}';`,
    '  map $refit_probe $refit_logged { 1 0; default 1; }',
    '',
    '  server {',
    `    listen ${sock} default_server;`,
    // Declares $refit_site (set by each site's location) even when no site is routed yet.
    '    set $refit_site "";',
    '    return 503 "refit: no site is configured for this host\\n";',
    '  }',
  ];
  // A site without vhosts cannot be routed by Host; it stays in the state for its servers only.
  for (const site of routed) {
    const servers = inRotation(site);
    lines.push('');
    if (servers.length) {
      lines.push(
        `  upstream ${upstreamOf(site.id)} {`,
        ...servers.map((s) => `    server ${s.ip}:${s.port} max_fails=1 fail_timeout=5s;`),
        // Kept open: a new connection per request would run the host out of ports towards the
        // container (each closed one holds its port 60 s: ~470 requests/s per container at most).
        '    keepalive 64;',
        // Shorter than any app server's own keep-alive timeout, so the app never closes under us.
        '    keepalive_timeout 30s;',
        '  }',
      );
    }
    lines.push('  server {', `    listen ${sock};`, `    server_name ${site.vhosts.join(' ')};`);
    if (!servers.length) {
      // nginx refuses an upstream without servers; the site answers 503 like HAProxy does.
      lines.push('    location / { return 503 "refit: no server of this site is in rotation\\n"; }', '  }');
      continue;
    }
    lines.push(
      '    location / {',
      `      set $refit_site ${upstreamOf(site.id)};`,
      '      set $refit_target $refit_site;',
      ...(site.affinity ? ['      if ($refit_sticky) { set $refit_target $refit_sticky; }'] : []),
      '      if ($refit_pin) { set $refit_target $refit_pin; }',
      '      proxy_pass http://$refit_target;',
      '      proxy_set_header Host $http_host;',
      // The edge set these from the client's connection: pass them on as they are.
      '      proxy_set_header X-Forwarded-For $http_x_forwarded_for;',
      '      proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;',
      '      proxy_set_header X-Forwarded-SSL $http_x_forwarded_ssl;',
      // The secret never reaches an app.
      `      proxy_set_header ${PROBE_HEADER} "";`,
      `      proxy_set_header ${PROBE_SERVER_HEADER} "";`,
      '      proxy_set_header Upgrade $http_upgrade;',
      '      proxy_set_header Connection $refit_connection;',
      `      add_header ${SERVED_BY_HEADER} $refit_served_by always;`,
      ...(site.affinity ? ['      add_header Set-Cookie $refit_affinity_cookie always;'] : []),
      ...(site.observed ? [`      access_log ${watchLog(i.runDir, site.id)} refit_watch buffer=32k flush=1s if=$refit_logged;`] : []),
      '    }',
      '  }',
    );
  }
  lines.push('}', '');
  return lines.join('\n');
}
