/**
 * The operator's own reverse proxy, as a hosting provider runs it, for refit's guest modes:
 * HAProxy, nginx or Caddy started from an operator-written config with its own frontends,
 * ACLs and a custom error page, on free loopback ports, routing the given sites (by Host) to
 * refit's routes as docs/proxy.md tells operators to. `reload()` is the operator's own graceful
 * reload; `files()` are the operator's files (refit must leave them byte-identical).
 *
 * Modes: `haproxy-guest`, `nginx-guest` (include files), `nginx-router` (the operator's nginx
 * forwards to refit's router), `caddy` (admin API), `caddy-router`.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kill } from 'node:process';
import { configSchema, type RefitConfig } from '../../src/config/schema.js';
import { createProxy } from '../../src/proxy/adapter.js';
import { MasterCli, RuntimeApi } from '../../src/proxy/haproxy/runtime.js';
import { livePid, processAlive, runTool, waitFor } from '../../src/proxy/process.js';
import { slotTemplate } from '../../src/proxy/haproxy-guest/slots.js';
import { routeVariable } from '../../src/proxy/nginx-guest/render.js';
import { routerSocket } from '../../src/proxy/nginx/render.js';
import { freePort } from '../../src/registry/testing/local-registry.js';

export type GuestMode = 'haproxy-guest' | 'nginx-guest' | 'nginx-router' | 'caddy' | 'caddy-router';
export const GUEST_MODES: GuestMode[] = ['haproxy-guest', 'nginx-guest', 'nginx-router', 'caddy', 'caddy-router'];

export interface OperatorSite {
  id: string;
  vhost: string;
}

export interface OperatorProxy {
  mode: GuestMode;
  httpPort: number;
  /** The operator's other frontend (it must keep answering). */
  otherPort: number;
  /** The `proxy:` section of refit.yml for this mode (YAML, indented by two). */
  refitProxyYaml: string;
  proxyConfig: RefitConfig['proxy'];
  /** The operator's own files, path -> content. */
  files(): Record<string, string>;
  /** The operator's graceful reload; resolves when the proxy runs the reloaded config. */
  reload(): Promise<void>;
  /** Stopped and started again from its config (a host reboot, an operator's restart). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const ERROR_PAGE = 'operator: sorry, this site is having trouble\n';
export const OPERATOR_404 = 'operator: no such site';
export const OPERATOR_ADMIN_403 = 'operator: admin is internal';

const routeOf = (id: string) => `refit_${id}`;
const hostsOf = (sites: OperatorSite[]) => sites.map((s) => ({ ...s, route: routeOf(s.id) }));

export async function startOperatorProxy(mode: GuestMode, dir: string, sites: OperatorSite[]): Promise<OperatorProxy> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const own = join(dir, 'operator');
  const runDir = join(dir, 'refit');
  mkdirSync(join(own, 'errors'), { recursive: true, mode: 0o755 });
  const httpPort = await freePort();
  const otherPort = await freePort();
  const adminPort = await freePort();
  const kind = mode === 'nginx-router' ? 'nginx-guest' : mode === 'caddy-router' ? 'caddy' : mode;
  const section = { 'haproxy-guest': 'haproxyGuest', 'nginx-guest': 'nginxGuest', caddy: 'caddy' }[kind];
  const settings: Record<string, string> = { runDir, http: `127.0.0.1:${httpPort}` };
  if (kind === 'haproxy-guest') Object.assign(settings, { adminSocket: join(own, 'admin.sock'), masterSocket: join(own, 'master.sock'), config: join(own, 'haproxy.cfg') });
  if (kind === 'nginx-guest') Object.assign(settings, { mode: mode === 'nginx-router' ? 'router' : 'include', config: join(own, 'nginx.conf'), pidFile: join(own, 'nginx.pid'), includeDir: join(own, 'refit') });
  if (kind === 'caddy') Object.assign(settings, { mode: mode === 'caddy-router' ? 'router' : 'api', adminUrl: `http://127.0.0.1:${adminPort}`, snippetDir: join(own, 'refit') });
  const refitProxyYaml = [`  type: ${kind}`, `  ${section}:`, ...Object.entries(settings).map(([k, v]) => `    ${k}: ${v}`)].join('\n');
  const proxyConfig = configSchema.parse({ proxy: { type: kind, [section!]: settings } }).proxy;
  const socket = routerSocket(runDir);

  // What an operator does first (docs/proxy.md): refit prepares the files the config will refer to.
  await createProxy(proxyConfig).doctor?.(sites.map((s) => ({ id: s.id, vhosts: [s.vhost, `www.${s.vhost}`], servers: [] })));

  const files = () => {
    const out: Record<string, string> = {};
    for (const name of readdirSync(own, { recursive: true }) as string[]) {
      const path = join(own, name);
      // refit's own include files / snippets, and the running proxy's sockets, pid and logs, are not the operator's config.
      if (name.startsWith('refit') || /\.(sock|pid|log)$/.test(name) || name === 'tmp' || name.startsWith('tmp/') || name === 'errors') continue;
      try {
        out[name] = readFileSync(path, 'utf8');
      } catch {
        // a directory
      }
    }
    return out;
  };

  if (kind === 'haproxy-guest') {
    const cfg = join(own, 'haproxy.cfg');
    writeFileSync(join(own, 'errors', '503.http'), `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n${ERROR_PAGE}`);
    writeFileSync(cfg, haproxyConfig(own, runDir, httpPort, otherPort, sites));
    const pidFile = join(own, 'haproxy.pid');
    const args = ['-W', '-D', '-S', `${join(own, 'master.sock')},mode,600`, '-f', cfg, '-p', pidFile];
    // Started when its admin socket and master CLI answer (what refit talks to).
    const answers = () =>
      Promise.all([new RuntimeApi(join(own, 'admin.sock')).workerPid(), new MasterCli(join(own, 'master.sock')).oldWorkers()]).then(
        () => true,
        () => false,
      );
    return { mode, httpPort, otherPort, refitProxyYaml, proxyConfig, files, ...(await daemon('haproxy', args, () => livePid(pidFile, cfg), 'SIGUSR2', answers)) };
  }

  if (kind === 'nginx-guest') {
    const cfg = join(own, 'nginx.conf');
    writeFileSync(join(own, 'errors', 'operator-error.html'), ERROR_PAGE);
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(own, 'tmp', d), { recursive: true });
    writeFileSync(cfg, nginxConfig(own, httpPort, otherPort, sites, mode === 'nginx-router' ? socket : null));
    return { mode, httpPort, otherPort, refitProxyYaml, proxyConfig, files, ...(await daemon('nginx', ['-c', cfg], () => livePid(join(own, 'nginx.pid'), 'nginx: master process'), 'SIGHUP')) };
  }

  const caddyfile = join(own, 'Caddyfile');
  writeFileSync(caddyfile, caddyConfig(own, adminPort, httpPort, otherPort, sites, mode === 'caddy-router' ? socket : null));
  // Caddy keeps an autosave of its config under $HOME/.config: this one's stays in the test dir.
  const env = { ...process.env, HOME: own, XDG_CONFIG_HOME: join(own, 'tmp', 'config'), XDG_DATA_HOME: join(own, 'tmp', 'data') };
  let pid: number | null = null;
  const start = async () => {
    const child = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    pid = child.pid ?? null;
    const up = await waitFor(async () => ((await caddyConfigLoaded(adminPort)) ? true : undefined), 15_000);
    if (!up) throw new Error(`the operator's caddy did not come up: ${log}`);
  };
  await start();
  return {
    mode, httpPort, otherPort, refitProxyYaml, proxyConfig, files,
    async reload() {
      await runTool('caddy', ['reload', '--config', caddyfile, '--adapter', 'caddyfile', '--address', `127.0.0.1:${adminPort}`, '--force'], "reloading the operator's caddy");
    },
    restart: async () => {
      await stopPid(pid);
      await start();
    },
    stop: () => stopPid(pid),
  };
}

/** A proxy that daemonizes itself (HAProxy -D, nginx): started now; reloaded by a signal to its master. */
async function daemon(binary: string, args: string[], master: () => number | null, reloadSignal: NodeJS.Signals, ready: () => Promise<boolean> = async () => true): Promise<Pick<OperatorProxy, 'reload' | 'restart' | 'stop'>> {
  const start = async () => {
    await runTool(binary, args, `starting the operator's ${binary}`);
    const up = await waitFor(async () => (master() !== null && (await ready()) ? true : undefined), 15_000);
    if (!up) throw new Error(`the operator's ${binary} did not come up`);
  };
  await start();
  return {
    reload: () => signalReload(master(), reloadSignal),
    restart: async () => {
      await stopPid(master());
      await start();
    },
    stop: () => stopPid(master()),
  };
}

async function caddyConfigLoaded(adminPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/config/`);
    return res.ok && (await res.text()).includes('"http"');
  } catch {
    return false;
  }
}

async function signalReload(pid: number | null, signal: NodeJS.Signals): Promise<void> {
  if (pid === null) throw new Error("the operator's proxy is not running");
  const before = childrenOf(pid);
  kill(pid, signal);
  const done = await waitFor(() => (childrenOf(pid).some((p) => !before.includes(p)) ? true : undefined), 15_000, 20);
  if (!done) throw new Error(`the operator's proxy (master ${pid}) did not start new workers after ${signal}`);
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === pid && rest[0] !== 'Z') out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

async function stopPid(pid: number | null): Promise<void> {
  if (pid === null || !processAlive(pid)) return;
  kill(pid, 'SIGTERM');
  await waitFor(() => (processAlive(pid) ? undefined : true), 15_000);
}

function haproxyConfig(own: string, runDir: string, httpPort: number, otherPort: number, sites: OperatorSite[]): string {
  const lines = [
    '# The operator\'s HAProxy: refit never writes this file.',
    'global',
    `  stats socket ${own}/admin.sock mode 600 level admin expose-fd listeners`,
    '  stats timeout 2m',
    '  hard-stop-after 5m',
    '',
    'defaults',
    '  mode http',
    '  option idle-close-on-response',
    '  option redispatch 1',
    '  retries 3',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 300s',
    '  timeout http-request 15s',
    '  timeout http-keep-alive 30s',
    `  errorfile 503 ${own}/errors/503.http`,
    '',
    'frontend operator_www',
    `  bind 127.0.0.1:${httpPort}`,
    '  acl blocked_agent req.hdr(user-agent) -m sub badbot',
    '  http-request deny deny_status 403 if blocked_agent',
    `  http-request return status 403 content-type text/plain string "${OPERATOR_ADMIN_403}" if { path_beg /operator-admin }`,
    '  http-request set-var(txn.host) req.hdr(host),field(1,:),lower',
    ...hostsOf(sites).map((s) => `  use_backend ${s.route} if { var(txn.host) -m str ${s.vhost} www.${s.vhost} }`),
    '  default_backend operator_default',
    '',
    'frontend operator_stats',
    `  bind 127.0.0.1:${otherPort}`,
    '  http-request return status 200 content-type text/plain string "operator stats"',
    '',
    'backend operator_default',
    `  http-request return status 404 content-type text/plain string "${OPERATOR_404}"`,
    '',
  ];
  // What docs/proxy.md tells operators to write for each managed site.
  for (const { route } of hostsOf(sites)) {
    lines.push(
      `backend ${route}`,
      '  balance roundrobin',
      '  load-server-state-from-file local',
      `  server-state-file-name ${runDir}/server-state/${route}`,
      `  http-request set-var(txn.refit_probe) bool(true) if { req.hdr(x-refit-probe) -m str -f ${runDir}/probe.token }`,
      '  http-request del-header x-refit-probe',
      ...[1, 2, 3, 4].map((n) => `  use-server refit${n} if { var(txn.refit_probe) -m bool } { req.hdr(x-refit-probe-server) -m str refit${n} }`),
      '  http-response set-header x-refit-server %[srv_name] if { var(txn.refit_probe) -m bool }',
      `  ${slotTemplate('refit')} inter 2s fall 2 rise 2`,
      '',
    );
  }
  return lines.join('\n');
}

function nginxConfig(own: string, httpPort: number, otherPort: number, sites: OperatorSite[], routerSock: string | null): string {
  const lines = [
    "# The operator's nginx: refit never writes this file.",
    'user www-data;',
    'worker_processes 2;',
    'worker_shutdown_timeout 330s;',
    `pid ${own}/nginx.pid;`,
    `error_log ${own}/error.log warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    ...['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((d) => `  ${d === 'body' ? 'client_body' : d}_temp_path ${own}/tmp/${d};`),
    ...(routerSock ? [] : [`  include ${own}/refit/*.conf;`]),
    '  map $http_user_agent $blocked_agent { default 0; ~*badbot 1; }',
    '  server {',
    `    listen 127.0.0.1:${otherPort};`,
    '    location / { return 200 "operator stats"; }',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${httpPort} default_server;`,
    `    return 404 "${OPERATOR_404}";`,
    '  }',
  ];
  for (const s of hostsOf(sites)) {
    const upstream = routerSock
      ? [`      proxy_pass http://unix:${routerSock}:;`, '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;', '      proxy_set_header X-Forwarded-Proto $scheme;', '      proxy_intercept_errors on;']
      : [
          `      proxy_pass http://$${routeVariable(s.route)};`,
          '      proxy_http_version 1.1;',
          '      proxy_set_header Connection "";',
          '      proxy_set_header X-Refit-Probe "";',
          '      proxy_set_header X-Refit-Probe-Server "";',
          '      add_header X-Refit-Server $refit_served_by always;',
        ];
    lines.push(
      '  server {',
      `    listen 127.0.0.1:${httpPort};`,
      `    server_name ${s.vhost} www.${s.vhost};`,
      '    error_page 502 503 504 /operator-error.html;',
      `    location = /operator-error.html { root ${own}/errors; internal; }`,
      `    location /operator-admin { return 403 "${OPERATOR_ADMIN_403}"; }`,
      '    location / {',
      '      if ($blocked_agent) { return 403; }',
      '      proxy_set_header Host $http_host;',
      ...upstream,
      '    }',
      '  }',
    );
  }
  lines.push('}', '');
  return lines.join('\n');
}

function caddyConfig(own: string, adminPort: number, httpPort: number, otherPort: number, sites: OperatorSite[], routerSock: string | null): string {
  const lines = [
    "# The operator's Caddyfile: refit never writes this file.",
    '{',
    `\tadmin 127.0.0.1:${adminPort}`,
    '\tauto_https off',
    '}',
    `http://:${otherPort} {`,
    '\trespond "operator stats" 200',
    '}',
    `http://:${httpPort} {`,
    `\trespond "${OPERATOR_404}" 404`,
    '}',
  ];
  for (const s of hostsOf(sites)) {
    lines.push(
      `http://${s.vhost}:${httpPort}, http://www.${s.vhost}:${httpPort} {`,
      '\t@blocked header User-Agent *badbot*',
      '\trespond @blocked 403',
      `\trespond /operator-admin* "${OPERATOR_ADMIN_403}" 403`,
      '\thandle_errors {',
      `\t\trespond "${ERROR_PAGE.trim()}" {err.status_code}`,
      '\t}',
      ...(routerSock
        ? [`\treverse_proxy unix/${routerSock} {`, '\t\ttransport http {', '\t\t\tkeepalive off', '\t\t}', '\t\t@down status 502 503 504', '\t\thandle_response @down {', `\t\t\trespond "${ERROR_PAGE.trim()}" 503`, '\t\t}', '\t}']
        : [`\timport ${own}/refit/${s.route}.caddy`]),
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}
