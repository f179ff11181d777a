import { describe, expect, it } from 'vitest';
import { affinityValue, renderEdge, renderRouter, type NginxRenderInput } from './render.js';

const input = (o: Partial<NginxRenderInput> = {}): NginxRenderInput => ({
  runDir: '/run/refit/nginx',
  user: 'www-data',
  bind: '0.0.0.0',
  httpPort: 80,
  httpsPort: 443,
  certs: [],
  serverTimeoutMs: 300_000,
  probeToken: 'sekrit',
  sites: [
    {
      id: 'shop.web',
      vhosts: ['shop.example', '*.shop.example'],
      servers: [
        { name: 'shop-web-1', ip: '172.20.0.5', port: 80, state: 'ready' },
        { name: 'shop-web-2', ip: '172.20.0.6', port: 80, state: 'drain' },
      ],
    },
    { id: 'blog.web', vhosts: ['blog.example'], servers: [{ name: 'blog-1', ip: '172.20.0.9', port: 80, state: 'drain' }] },
    { id: 'ip.web', vhosts: [], servers: [{ name: 'ip-1', ip: '172.20.0.10', port: 80, state: 'ready' }] },
  ],
  ...o,
});

describe('the nginx edge (clients, TLS)', () => {
  it('names no site and no container, so server changes never reload it', () => {
    const cfg = renderEdge(input());
    expect(cfg).not.toMatch(/shop|blog|172\.20/);
    expect(renderEdge(input({ sites: [] }))).toBe(cfg);
  });

  it('hands every request to the router over its socket, one connection per request, WebSocket upgrades included', () => {
    const cfg = renderEdge(input());
    expect(cfg).toContain('upstream refit_router { server unix:/run/refit/nginx/router/sock/router.sock; }');
    expect(cfg).not.toMatch(/keepalive \d/);
    expect(cfg).toContain("map $http_upgrade $refit_connection { default upgrade; '' close; }");
    expect(cfg).toContain('proxy_set_header Connection $refit_connection;');
    expect(cfg).toMatch(/listen 0\.0\.0\.0:80 default_server;\n {4}location \/ \{\n {6}proxy_pass http:\/\/refit_router;/);
  });

  it('sends forwarded headers from the connection, never from the client', () => {
    const cfg = renderEdge(input());
    expect(cfg).toContain('proxy_set_header X-Forwarded-Proto $scheme;');
    expect(cfg).toContain('map $https $refit_forwarded_ssl { on on; default ""; }');
    expect(cfg).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
  });

  it('listens for TLS with one server per certificate, found by SNI, the first one by default', () => {
    const certs = [
      { path: '/c/a.pem', names: ['other.example'] },
      { path: '/c/shop.pem', names: ['*.shop.example', 'shop.example'] },
    ];
    const cfg = renderEdge(input({ certs, bind: '::' }));
    expect(cfg).toContain('listen [::]:443 ssl default_server;\n    ssl_certificate /c/a.pem;');
    expect(cfg).toMatch(/listen \[::\]:443 ssl;\n {4}server_name \*\.shop\.example shop\.example;\n {4}ssl_certificate \/c\/shop\.pem;\n {4}ssl_certificate_key \/c\/shop\.pem;/);
    expect(renderEdge(input())).not.toMatch(/listen .* ssl|ssl_certificate/);
  });

  it('bounds how long old workers finish after a reload, and sets the worker user only when given', () => {
    expect(renderEdge(input())).toContain('worker_shutdown_timeout 330s;');
    expect(renderEdge(input())).toContain('user www-data;');
    expect(renderEdge(input({ user: null }))).not.toContain('user ');
  });
});

describe('the nginx router (sites, servers)', () => {
  it('puts only ready servers into the upstream, with upstream keep-alive, and answers 503 when none is', () => {
    const cfg = renderRouter(input());
    expect(cfg).toContain('upstream site_shop.web {\n    server 172.20.0.5:80 max_fails=1 fail_timeout=5s;\n    keepalive 64;\n    keepalive_timeout 30s;\n  }');
    expect(cfg).not.toContain('172.20.0.6');
    expect(cfg).not.toContain('upstream site_blog.web');
    expect(cfg).toMatch(/server_name blog\.example;\n {4}location \/ \{ return 503/);
  });

  it('declares $refit_site for the pin map even when no site has a server in rotation (nginx -t refuses an unknown variable)', () => {
    const cfg = renderRouter(input({ sites: [{ id: 'blog.web', vhosts: ['blog.example'], servers: [] }] }));
    expect(cfg).toContain('$refit_site:');
    expect(cfg).toMatch(/default_server;\n {4}set \$refit_site "";\n {4}return 503/);
  });

  it('routes by server_name on its socket, retries failed connections on another server, and leaves out sites without vhosts', () => {
    const cfg = renderRouter(input());
    expect(cfg).toMatch(/listen unix:\/run\/refit\/nginx\/router\/sock\/router\.sock;\n {4}server_name shop\.example \*\.shop\.example;\n {4}location \/ \{\n {6}set \$refit_site site_shop\.web;\n {6}set \$refit_target \$refit_site;/);
    expect(cfg).toContain('proxy_next_upstream error timeout;');
    expect(cfg).not.toContain('ip.web');
    expect(cfg).toMatch(/listen unix:\S+ default_server;\n {4}set \$refit_site "";\n {4}return 503/);
  });

  it('passes the edge\'s forwarded headers on unchanged and keeps upstream connections alive unless upgrading', () => {
    const cfg = renderRouter(input());
    expect(cfg).toContain('proxy_set_header X-Forwarded-For $http_x_forwarded_for;');
    expect(cfg).toContain('proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;');
    expect(cfg).toContain("map $http_upgrade $refit_connection { default upgrade; '' \"\"; }");
  });

  it("pins refit's probes (and only requests carrying its secret) to a server in rotation and names the address that answered", () => {
    const cfg = renderRouter(input());
    expect(cfg).toContain('map $http_x_refit_probe $refit_probe { "sekrit" 1; default ""; }');
    expect(cfg).toContain('    "1:site_shop.web:shop-web-1" "172.20.0.5:80";\n');
    expect(cfg).not.toContain(':shop-web-2"');
    expect(cfg).toContain('if ($refit_pin) { set $refit_target $refit_pin; }');
    expect(cfg).toContain('proxy_set_header X-Refit-Probe "";');
    expect(cfg).toContain('add_header X-Refit-Server $refit_served_by always;');
  });

  it('logs an observed site per server, without refit\'s probes, and no other site', () => {
    const observed = input().sites.map((x) => (x.id === 'shop.web' ? { ...x, observed: true } : x));
    const cfg = renderRouter(input({ sites: observed }));
    expect(cfg).toContain("log_format refit_watch '$upstream_addr|$upstream_status';");
    expect(cfg).toContain('map $refit_probe $refit_logged { 1 0; default 1; }');
    expect(cfg).toContain('      access_log /run/refit/nginx/router/watch/shop.web.log refit_watch buffer=32k flush=1s if=$refit_logged;\n');
    expect(cfg.match(/access_log \//g)).toHaveLength(1);
    expect(renderRouter(input())).not.toMatch(/access_log \//);
  });

  it('keeps a client on the server of its cookie only while the site shares, and only while that server is in rotation', () => {
    const shared = input({
      sites: [{ id: 'shop.web', vhosts: ['shop.example'], affinity: true, servers: [
        { name: 'shop-web-1', ip: '172.20.0.5', port: 80, state: 'ready' },
        { name: 'shop-web-1-refit-shadow', ip: '172.20.0.7', port: 80, state: 'ready' },
        { name: 'old', ip: '172.20.0.6', port: 80, state: 'drain' },
      ] }],
    });
    const cfg = renderRouter(shared);
    const value = affinityValue('sekrit', 'shop.web', { name: 'shop-web-1', ip: '172.20.0.5', port: 80 });
    expect(value).toMatch(/^[0-9a-f]{16}$/);
    expect(cfg).toContain(`    "site_shop.web:${value}" "172.20.0.5:80";\n`);
    expect(cfg).toContain(`    "172.20.0.5:80" "refit_srv=${value}; Path=/; HttpOnly; SameSite=Lax";\n`);
    expect(cfg).not.toContain('172.20.0.6');
    // The probe's pin wins over a cookie.
    expect(cfg).toContain('      if ($refit_sticky) { set $refit_target $refit_sticky; }\n      if ($refit_pin) { set $refit_target $refit_pin; }\n');
    expect(cfg).toContain('      add_header Set-Cookie $refit_affinity_cookie always;\n');
    const plain = renderRouter(input());
    expect(plain).not.toContain('$refit_sticky; }');
    expect(plain).not.toContain('Set-Cookie');
  });
});
