import { describe, expect, it } from 'vitest';
import { backendFindings, globalFindings, parseSections } from './config.js';

const CFG = `global
  stats socket /run/haproxy/admin.sock level admin   # the admin socket
defaults
  mode http
  option idle-close-on-response
frontend www
  bind :80
  use_backend refit_shop.web if { hdr(host) shop.example }
backend refit_shop.web
  load-server-state-from-file local
  server-state-file-name /var/lib/refit/haproxy-guest/server-state/refit_shop.web
  http-request set-var(txn.refit_probe) bool(true) if { req.hdr(x-refit-probe) -m str -f /var/lib/refit/haproxy-guest/probe.token }
  use-server refit1 if { var(txn.refit_probe) -m bool } { req.hdr(x-refit-probe-server) -m str refit1 }
  use-server refit2 if { var(txn.refit_probe) -m bool } { req.hdr(x-refit-probe-server) -m str refit2 }
  http-response set-header x-refit-server %[srv_name] if { var(txn.refit_probe) -m bool }
  server-template refit 1-2 refit.invalid:9 disabled check init-addr last,127.0.0.1
backend refit_blog.web
  server-template refit 1-2 127.0.0.1:9 disabled
`;
const needs = (route: string) => ({ route, runDir: '/var/lib/refit/haproxy-guest', slotPrefix: 'refit', slots: ['refit1', 'refit2'] });

describe("the operator's haproxy.cfg", () => {
  it('splits sections and drops comments', () => {
    const s = parseSections(CFG);
    expect(s.map((x) => `${x.kind} ${x.name}`)).toEqual(['global ', 'defaults ', 'frontend www', 'backend refit_shop.web', 'backend refit_blog.web']);
    expect(s[0]!.lines).toEqual(['stats socket /run/haproxy/admin.sock level admin']);
  });

  it('a backend written as docs/proxy.md says has no problem', () => {
    expect(backendFindings(parseSections(CFG), needs('refit_shop.web')).map((f) => f.level)).toEqual(['ok', 'ok', 'ok']);
  });

  it('says what a bare backend lacks: the server state file and the probe lines', () => {
    const f = backendFindings(parseSections(CFG), needs('refit_blog.web'));
    expect(f.map((x) => x.level)).toEqual(['ok', 'problem', 'problem']);
    expect(f[1]!.fix).toContain('server-state-file-name /var/lib/refit/haproxy-guest/server-state/refit_blog.web');
    expect(f[1]!.fix).toContain('server-template refit 1-4 refit.invalid:9 disabled check init-addr last,127.0.0.1');
    expect(f[2]!.what).toMatch(/no probe ACL; no use-server for refit1, refit2; no x-refit-server answer/);
  });

  it('slots declared by address lose their servers at a reload: a problem', () => {
    const byAddress = CFG.replace('refit.invalid:9 disabled check init-addr last,127.0.0.1', '127.0.0.1:9 disabled check');
    expect(backendFindings(parseSections(byAddress), needs('refit_shop.web'))[1]).toMatchObject({ level: 'problem' });
  });

  it('a missing backend or too few slots is a problem', () => {
    expect(backendFindings(parseSections(CFG), needs('refit_x.web'))[0]).toMatchObject({ level: 'problem', what: 'haproxy.cfg has no backend refit_x.web' });
    expect(backendFindings(parseSections(CFG), { ...needs('refit_shop.web'), slots: ['refit1'] })[0]!.level).toBe('problem');
  });

  it('warns when reloads drop kept-alive requests or drains cannot see old workers', () => {
    expect(globalFindings(parseSections(CFG), { masterSocket: '/run/haproxy/master.sock' }).map((f) => f.level)).toEqual(['ok', 'ok']);
    expect(globalFindings(parseSections(CFG.replace('  option idle-close-on-response\n', '')), {}).map((f) => f.level)).toEqual(['warning', 'warning']);
  });
});
