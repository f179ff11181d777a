import { describe, expect, it } from 'vitest';
import type { ServerStat } from '../haproxy/runtime.js';
import { assignSlots, reloadProblem, slotsOf, versionProblem } from './slots.js';

const row = (name: string): ServerStat => ({ backend: 'refit_a.web', name, ip: '127.0.0.1', port: 9, state: 'maint', sessions: 0, responses: 0, errors: 0 });
const server = (name: string, slot?: string) => ({ name, ip: '10.0.0.2', port: 80, state: 'ready' as const, ...(slot ? { slot } : {}) });

describe('haproxy-guest slots', () => {
  it("picks only refit's slots, in numeric order, leaving the operator's own servers alone", () => {
    expect(slotsOf([row('refit10'), row('static1'), row('refit2'), row('refit1'), row('refitx')], 'refit').map((r) => r.name)).toEqual(['refit1', 'refit2', 'refit10']);
  });

  it('keeps a server in its slot and gives a new one the first free slot', () => {
    const site = assignSlots({ id: 'a.web', vhosts: [], servers: [server('x', 'refit1'), server('y')] }, 'refit_a.web', ['refit1', 'refit2', 'refit3']);
    expect(site.servers.map((s) => s.slot)).toEqual(['refit1', 'refit2']);
  });

  it('says how to get more slots when all are taken', () => {
    expect(() => assignSlots({ id: 'a.web', vhosts: [], servers: [server('x', 'refit1'), server('y')] }, 'refit_a.web', ['refit1'])).toThrow(/backend refit_a\.web has no free server slot for y/);
  });

  it('refuses HAProxy before 2.0 and warns about reloads before 2.6', () => {
    expect(versionProblem('2.6.12-1+deb12u4')).toBeNull();
    expect(versionProblem('1.8.19')).toMatch(/too old: refit needs 2\.0/);
    expect(versionProblem('')).toMatch(/cannot tell its version/);
    expect(reloadProblem('2.4.22')).toMatch(/idle-close-on-response/);
    expect(reloadProblem('2.6.12')).toBeNull();
  });
});
