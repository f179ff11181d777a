import { describe, expect, it } from 'vitest';
import { renderHaproxy, type HaproxyRenderInput } from './render.js';

const input = (o: Partial<HaproxyRenderInput> = {}): HaproxyRenderInput => ({
  adminSocket: '/run/refit/haproxy/admin.sock',
  bind: '0.0.0.0',
  httpPort: 80,
  httpsPort: 443,
  certFiles: [],
  serverTimeoutMs: 300_000,
  sites: [
    {
      id: 'shop.web',
      vhosts: ['shop.example', '*.shop.example'],
      servers: [
        { name: 'shop-web-1', ip: '172.20.0.5', port: 80, state: 'ready', origin: 'apply' },
        { name: 'shop-web-2', ip: '172.20.0.6', port: 8080, state: 'drain', origin: 'runtime' },
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

  it('renders one round-robin backend per site; servers not ready are disabled', () => {
    const cfg = renderHaproxy(input());
    expect(cfg).toContain('backend site_shop.web\n  balance roundrobin\n  server shop-web-1 172.20.0.5:80\n  server shop-web-2 172.20.0.6:8080 disabled\n');
    expect(cfg).toContain('backend site_blog.web\n  balance roundrobin\n');
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
