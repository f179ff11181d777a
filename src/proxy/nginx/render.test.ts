import { describe, expect, it } from 'vitest';
import { renderNginx, type NginxRenderInput } from './render.js';

const input = (o: Partial<NginxRenderInput> = {}): NginxRenderInput => ({
  runDir: '/run/refit/nginx',
  pidFile: '/run/refit/nginx/nginx.pid',
  user: 'www-data',
  bind: '0.0.0.0',
  httpPort: 80,
  httpsPort: 443,
  certs: [],
  serverTimeoutMs: 300_000,
  sites: [
    {
      id: 'shop.web',
      vhosts: ['shop.example', '*.shop.example'],
      servers: [
        { name: 'shop-web-1', ip: '172.20.0.5', port: 80, state: 'ready', origin: 'apply' },
        { name: 'shop-web-2', ip: '172.20.0.6', port: 80, state: 'drain', origin: 'runtime' },
      ],
    },
    { id: 'blog.web', vhosts: ['blog.example'], servers: [{ name: 'blog-1', ip: '172.20.0.9', port: 80, state: 'maint', origin: 'apply' }] },
    { id: 'ip.web', vhosts: [], servers: [{ name: 'ip-1', ip: '172.20.0.10', port: 80, state: 'ready', origin: 'apply' }] },
  ],
  ...o,
});

describe('renderNginx', () => {
  it('puts only ready servers into the upstream and answers 503 when none is', () => {
    const cfg = renderNginx(input());
    expect(cfg).toContain('upstream site_shop.web {\n    server 172.20.0.5:80;\n  }');
    expect(cfg).not.toContain('172.20.0.6');
    expect(cfg).not.toContain('upstream site_blog.web');
    expect(cfg).toMatch(/server_name blog\.example;\n {4}location \/ \{ return 503/);
  });

  it('routes by server_name, and leaves out sites without vhosts', () => {
    const cfg = renderNginx(input());
    expect(cfg).toContain('server_name shop.example *.shop.example;\n    location / { proxy_pass http://site_shop.web; }');
    expect(cfg).not.toContain('ip.web');
    expect(cfg).toMatch(/listen 0\.0\.0\.0:80 default_server;\n {4}return 503/);
  });

  it('sends forwarded headers from the connection, never from the client', () => {
    const cfg = renderNginx(input());
    expect(cfg).toContain('proxy_set_header X-Forwarded-Proto $scheme;');
    expect(cfg).toContain('map $https $refit_forwarded_ssl { on on; default ""; }');
    expect(cfg).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
  });

  it('listens for TLS with the certificate that covers the site, the first one otherwise', () => {
    const certs = [
      { path: '/c/a.pem', names: ['other.example'] },
      { path: '/c/shop.pem', names: ['*.shop.example', 'shop.example'] },
    ];
    const cfg = renderNginx(input({ certs, bind: '::' }));
    expect(cfg).toContain('listen [::]:443 ssl default_server;\n    ssl_certificate /c/a.pem;');
    expect(cfg).toMatch(/listen \[::\]:443 ssl;\n {4}ssl_certificate \/c\/shop\.pem;\n {4}ssl_certificate_key \/c\/shop\.pem;\n {4}server_name shop\.example/);
    expect(cfg).toMatch(/ssl_certificate_key \/c\/a\.pem;\n {4}server_name blog\.example/);
    expect(renderNginx(input())).not.toMatch(/listen .* ssl|ssl_certificate/);
  });

  it('sets the worker user only when given', () => {
    expect(renderNginx(input())).toContain('user www-data;');
    expect(renderNginx(input({ user: null }))).not.toContain('user ');
  });
});
