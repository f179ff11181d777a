import { describe, expect, it } from 'vitest';
import { includesDir, proxiesTo, renderProbeFile, renderSiteFile, routeVariable } from './render.js';

const site = { id: 'shop.web', vhosts: ['shop.example'], servers: [
  { name: 'shop-web-1', ip: '172.20.0.5', port: 80, state: 'ready' as const },
  { name: 'shop-web-1-refit-shadow', ip: '172.20.0.6', port: 80, state: 'drain' as const },
] };

describe("nginx-guest: refit's files in the operator's include dir", () => {
  it('a site file holds its upstream (servers in rotation, kept alive) and the variable the operator proxies to, and no secret', () => {
    const text = renderSiteFile('refit_shop.web', site);
    expect(text).toContain('upstream refit_shop.web {\n    server 172.20.0.5:80 max_fails=1 fail_timeout=5s;\n    keepalive 16;');
    expect(text).not.toContain('172.20.0.6:80 max_fails');
    expect(text).toContain('map "$refit_probe:$http_x_refit_probe_server" $refit_shop_web {\n    default refit_shop.web;\n    "1:172.20.0.5:80" 172.20.0.5:80;\n}');
  });

  it('a site with no server in rotation points at a server marked down (nginx refuses an empty upstream)', () => {
    expect(renderSiteFile('refit_shop.web', { ...site, servers: [] })).toContain('    server 127.0.0.1:9 down;');
  });

  it('the probe file matches the secret by regex (any map_hash_bucket_size) and names the server only to probes', () => {
    expect(renderProbeFile('abc123')).toContain('map $http_x_refit_probe $refit_probe { "~^abc123$" 1; default ""; }');
    expect(renderProbeFile('abc123')).toContain('map $refit_probe $refit_served_by { 1 $upstream_addr; default ""; }');
  });

  it("reads the operator's nginx -T: the include of refit's dir and a location proxying to the route", () => {
    const full = 'http {\n  include /etc/nginx/refit/*.conf;\n  server { location / {\n    proxy_pass http://$refit_shop_web;\n  } }\n}\n';
    expect(includesDir(full, '/etc/nginx/refit')).toBe(true);
    expect(includesDir(full, '/etc/nginx/other')).toBe(false);
    expect(proxiesTo(full, 'refit_shop.web')).toBe(true);
    expect(proxiesTo(full, 'refit_blog.web')).toBe(false);
    expect(routeVariable('refit_my-shop.web')).toBe('refit_my_shop_web');
  });
});
