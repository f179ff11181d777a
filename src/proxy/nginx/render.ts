/**
 * @module proxy/nginx/render
 * Renders nginx.conf from the proxy state (pure): one upstream per site with its ready
 * servers, one server block per site on the HTTP port and (with certificates) the TLS port,
 * a default server answering 503 for unknown hosts. nginx matches server_name without port
 * and case, and knows `*.example.com` natively.
 */
import { certFor, type CertFile } from '../certs.js';
import { inRotation, type SiteEntry } from '../state.js';

export interface NginxRenderInput {
  runDir: string;
  pidFile: string;
  /** Worker user, or null when refit does not run as root (nginx cannot switch users then). */
  user: string | null;
  bind: string;
  httpPort: number;
  httpsPort: number;
  certs: CertFile[];
  serverTimeoutMs: number;
  sites: SiteEntry[];
}

export const upstreamOf = (siteId: string) => `site_${siteId}`;

export function renderNginx(i: NginxRenderInput): string {
  const listen = (port: number, extra = '') => `${i.bind.includes(':') ? `[${i.bind}]` : i.bind}:${port}${extra}`;
  const tls = (cert: CertFile | undefined, extra = '') =>
    cert ? [`    listen ${listen(i.httpsPort, ` ssl${extra}`)};`, `    ssl_certificate ${cert.path};`, `    ssl_certificate_key ${cert.path};`] : [];
  const lines = [
    '# Rendered by refit from state.json in this directory. Edits are overwritten.',
    ...(i.user ? [`user ${i.user};`] : []),
    'worker_processes auto;',
    `pid ${i.pidFile};`,
    `error_log ${i.runDir}/error.log warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${i.runDir}/tmp/body;`,
    `  proxy_temp_path ${i.runDir}/tmp/proxy;`,
    `  fastcgi_temp_path ${i.runDir}/tmp/fastcgi;`,
    `  uwsgi_temp_path ${i.runDir}/tmp/uwsgi;`,
    `  scgi_temp_path ${i.runDir}/tmp/scgi;`,
    '  proxy_http_version 1.1;',
    `  proxy_read_timeout ${Math.ceil(i.serverTimeoutMs / 1000)}s;`,
    '  proxy_set_header Connection "";',
    '  proxy_set_header Host $http_host;',
    '  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '  proxy_set_header X-Forwarded-Proto $scheme;',
    // An empty value drops the header: plain-HTTP clients cannot claim TLS.
    '  proxy_set_header X-Forwarded-SSL $refit_forwarded_ssl;',
    '  map $https $refit_forwarded_ssl { on on; default ""; }',
    '',
    '  server {',
    `    listen ${listen(i.httpPort, ' default_server')};`,
    ...tls(i.certs[0], ' default_server'),
    '    return 503 "refit: no site is configured for this host\\n";',
    '  }',
  ];
  // A site without vhosts cannot be routed by Host; it stays in the state for its servers only.
  for (const site of i.sites.filter((s) => s.vhosts.length)) {
    const servers = inRotation(site);
    lines.push('');
    if (servers.length) lines.push(`  upstream ${upstreamOf(site.id)} {`, ...servers.map((s) => `    server ${s.ip}:${s.port};`), '  }');
    lines.push(
      '  server {',
      `    listen ${listen(i.httpPort)};`,
      ...tls(certFor(site.vhosts, i.certs)),
      `    server_name ${site.vhosts.join(' ')};`,
      // nginx refuses an upstream without servers; a site with none in rotation answers 503 like HAProxy does.
      servers.length ? `    location / { proxy_pass http://${upstreamOf(site.id)}; }` : '    location / { return 503 "refit: no server of this site is in rotation\\n"; }',
      '  }',
    );
  }
  lines.push('}', '');
  return lines.join('\n');
}
