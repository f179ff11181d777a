import { describe, expect, it } from 'vitest';
import { doctorExitCode, ok, problem, renderDoctor, siteDoctor, warning, type DoctorReport } from './doctor.js';

const report = (o: Partial<DoctorReport> = {}): DoctorReport => ({ proxy: 'haproxy-guest', prepared: [], findings: [ok('HAProxy 2.6.12')], sites: [siteDoctor('shop.web', 'refit_shop.web', [ok('2 server slots')])], skipped: [], ...o });

describe('refit proxy doctor report', () => {
  it('exits 0 when nothing is wrong, warnings included', () => {
    expect(doctorExitCode(report({ findings: [warning('reloads cost kept-alive requests')] }))).toBe(0);
  });

  it('exits 1 for a proxy-wide problem or a site refit cannot manage', () => {
    expect(doctorExitCode(report({ findings: [problem('admin socket does not answer')] }))).toBe(1);
    expect(doctorExitCode(report({ sites: [siteDoctor('shop.web', 'refit_shop.web', [problem('no backend')])] }))).toBe(1);
  });

  it('says site by site what is missing and how to fix it', () => {
    const lines = renderDoctor(report({ prepared: ['/var/lib/refit/haproxy-guest/probe.token'], sites: [siteDoctor('shop.web', 'refit_shop.web', [problem('haproxy.cfg has no backend refit_shop.web', 'add it')])] }));
    expect(lines).toEqual([
      'refit proxy doctor: haproxy-guest',
      "  prepared refit's own file /var/lib/refit/haproxy-guest/probe.token",
      '  ok       HAProxy 2.6.12',
      'site shop.web (route refit_shop.web): refit cannot manage it yet',
      '  PROBLEM  haproxy.cfg has no backend refit_shop.web',
      '           fix: add it',
      '1 problem(s): fix them, reload the proxy, and run refit proxy doctor again',
    ]);
  });
});
