import { describe, expect, it } from 'vitest';
import { onlyServersDiffer, renderAffinityMap, renderHaproxy, type HaproxyRenderInput } from './render.js';

const input = (o: Partial<HaproxyRenderInput> = {}): HaproxyRenderInput => ({
  adminSocket: '/run/refit/haproxy/admin.sock',
  bind: '0.0.0.0',
  httpPort: 80,
  httpsPort: 443,
  certFiles: [],
  serverTimeoutMs: 300_000,
  hardStopAfterMs: 330_000,
  user: 'haproxy',
  probeToken: 'sekrit',
  affinityMap: '/run/refit/haproxy/affinity.map',
  sites: [
    {
      id: 'shop.web',
      vhosts: ['shop.example', '*.shop.example'],
      servers: [
        { name: 'shop-web-1', ip: '172.20.0.5', port: 80, state: 'ready', slot: 's1' },
        { name: 'shop-web-2', ip: '172.20.0.6', port: 8080, state: 'drain', slot: 's3' },
      ],
    },
    { id: 'blog.web', vhosts: ['blog.example'], servers: [] },
  ],
  ...o,
});

describe('renderHaproxy', () => {
  it('keeps listening sockets across reloads and routes by lower-cased Host without port', () => {
    const cfg = renderHaproxy(input());
    expect(cfg).toContain('stats socket /run/refit/haproxy/admin.sock mode 600 level admin expose-fd listeners');
    expect(cfg).toContain('http-request set-var(txn.host) req.hdr(host),field(1,:),lower');
    expect(cfg).toContain('default_backend refit_unknown_host');
    expect(cfg).toMatch(/backend refit_unknown_host\n {2}http-request return status 503/);
  });

  it('routes exact names before any wildcard', () => {
    const cfg = renderHaproxy(input());
    const exactBlog = cfg.indexOf('use_backend site_blog.web if { var(txn.host) -m str blog.example }');
    const wildcard = cfg.indexOf('use_backend site_shop.web if { var(txn.host) -m end .shop.example }');
    expect(exactBlog).toBeGreaterThan(0);
    expect(wildcard).toBeGreaterThan(exactBlog);
  });

  it('renders one round-robin backend per site with server slots; drained and free slots are disabled', () => {
    const cfg = renderHaproxy(input());
    const shop = cfg.slice(cfg.indexOf('\nbackend site_shop.web\n'), cfg.indexOf('\nbackend site_blog.web'));
    expect(shop.split('\n').filter((l) => l.startsWith('  server '))).toEqual(['  server s1 172.20.0.5:80', '  server s2 127.0.0.1:9 disabled', '  server s3 172.20.0.6:8080 disabled']);
    expect(shop).toContain('  balance roundrobin\n');
    const blog = cfg.slice(cfg.indexOf('\nbackend site_blog.web\n') + 1);
    expect(blog).toMatch(/^backend site_blog\.web\n {2}balance roundrobin\n(?: {2}(?:acl|http-request|use-server|http-response) .*\n)* {2}server s1 127\.0\.0\.1:9 disabled\n {2}server s2 127\.0\.0\.1:9 disabled\n/);
  });

  it('checks servers, retries failed connections elsewhere, and keeps kept-alive clients through a reload', () => {
    const cfg = renderHaproxy(input());
    expect(cfg).toContain('  default-server check inter 2s fall 2 rise 2\n');
    expect(cfg).toContain('  option redispatch 1\n  retries 3\n');
    expect(cfg).toContain('  option idle-close-on-response\n');
    expect(cfg).toContain('  hard-stop-after 330s\n  user haproxy\n  group haproxy\n');
    expect(renderHaproxy(input({ user: null }))).not.toContain('  user ');
  });

  it("pins refit's probes (and only requests carrying its secret) to a slot and names the slot that answered", () => {
    const cfg = renderHaproxy(input());
    expect(cfg).toContain('  http-request set-var(txn.refit_probe) bool(true) if { req.hdr(X-Refit-Probe) -m str sekrit }\n  http-request del-header X-Refit-Probe\n');
    expect(cfg).toContain('  http-response set-header X-Refit-Server %[srv_name] if { var(txn.refit_probe) -m bool }\n');
    expect(cfg).toContain('  use-server s3 if { var(txn.refit_probe) -m bool } { req.hdr(X-Refit-Probe-Server) -m str s3 }\n');
  });

  it('keeps a client on the slot its cookie names only while the backend is in the affinity map, and cookies the slot that answered', () => {
    const cfg = renderHaproxy(input());
    const shop = cfg.slice(cfg.indexOf('\nbackend site_shop.web\n'), cfg.indexOf('\nbackend site_blog.web'));
    expect(shop).toContain('  acl refit_sharing be_name,map(/run/refit/haproxy/affinity.map) -m found\n  http-request set-var(txn.refit_cookie) req.cook(refit_srv) if refit_sharing\n');
    expect(shop).toContain('  use-server s3 if refit_sharing { var(txn.refit_cookie) -m str s3 }\n');
    // refit's probes are pinned before any cookie is looked at.
    expect(shop.indexOf('use-server s1 if { var(txn.refit_probe)')).toBeLessThan(shop.indexOf('use-server s1 if refit_sharing'));
    expect(shop).toContain('  http-response add-header Set-Cookie "refit_srv=%[var(txn.refit_srv)]; Path=/; HttpOnly; SameSite=Lax" if refit_sharing !{ var(txn.refit_cookie),strcmp(txn.refit_srv) eq 0 }\n');
    expect(renderAffinityMap(input().sites)).toBe('');
    expect(renderAffinityMap(input().sites.map((s) => ({ ...s, affinity: s.id === 'shop.web' })))).toBe('site_shop.web 1\n');
  });

  it('has a TLS frontend only with certificates, and only there claims https', () => {
    expect(renderHaproxy(input())).not.toContain('frontend https');
    const cfg = renderHaproxy(input({ certFiles: ['/c/a.pem', '/c/b.pem'] }));
    expect(cfg).toContain('bind 0.0.0.0:443 ssl crt /c/a.pem crt /c/b.pem');
    const http = cfg.slice(cfg.indexOf('frontend http\n'), cfg.indexOf('frontend https'));
    expect(http).toContain('http-request set-header X-Forwarded-Proto http');
    expect(http).toContain('http-request del-header X-Forwarded-SSL');
    const https = cfg.slice(cfg.indexOf('frontend https'));
    expect(https).toContain('http-request set-header X-Forwarded-SSL on');
  });
});

describe('onlyServersDiffer', () => {
  const loaded = renderHaproxy(input());
  const [shop, blog] = input().sites;
  const withShopServers = (servers: NonNullable<typeof shop>['servers']) => renderHaproxy(input({ sites: [{ ...shop!, servers }, blog!] }));

  it('holds for the same config, and for servers that moved, left, or changed state in their slots', () => {
    expect(onlyServersDiffer(loaded, loaded)).toBe(true);
    const moved = withShopServers([
      { name: 'shop-web-1', ip: '172.20.0.9', port: 81, state: 'drain', slot: 's1' },
      { name: 'shop-web-3', ip: '172.20.0.7', port: 80, state: 'ready', slot: 's2' },
    ]);
    expect(moved).not.toBe(loaded);
    expect(onlyServersDiffer(loaded, moved)).toBe(true);
  });

  it('fails for anything a reload must load: a site, a vhost, a slot more, a certificate, a timeout', () => {
    expect(onlyServersDiffer(loaded, renderHaproxy(input({ sites: [shop!] })))).toBe(false);
    expect(onlyServersDiffer(loaded, renderHaproxy(input({ sites: [{ ...shop!, vhosts: ['shop.example'] }, blog!] })))).toBe(false);
    expect(onlyServersDiffer(loaded, withShopServers([...shop!.servers, { name: 'shop-web-4', ip: '172.20.0.8', port: 80, state: 'ready', slot: 's4' }]))).toBe(false);
    expect(onlyServersDiffer(loaded, renderHaproxy(input({ certFiles: ['/etc/refit/certs/shop.pem'] })))).toBe(false);
    expect(onlyServersDiffer(loaded, renderHaproxy(input({ serverTimeoutMs: 60_000 })))).toBe(false);
  });

  it('fails for a server line not as refit writes one (it is checked by haproxy -c instead)', () => {
    const hostile = loaded.replace('  server s1 172.20.0.5:80', '  server s1 172.20.0.5:80 check inter 1ms');
    expect(onlyServersDiffer(loaded, hostile)).toBe(false);
    expect(onlyServersDiffer(loaded, loaded.replace('  server s1 172.20.0.5:80', '  server s2 172.20.0.5:80'))).toBe(false);
    expect(onlyServersDiffer(loaded, loaded.replace('  server s1 172.20.0.5:80', '  server s1 fd00::5:80'))).toBe(false);
  });
});
