import { describe, expect, it } from 'vitest';
import type { ContainerReport, PassReport } from '../maintenance/report.js';
import { renderContainer, renderPass } from './text.js';

const updated: ContainerReport = {
  container: 'shop-web-1',
  project: 'shop',
  service: 'web',
  result: 'updated',
  reason: 'updated web:1.0.0 -> web:1.1.0',
  from: { reference: 'web:1.0.0', imageId: 'sha256:a' },
  to: { reference: 'web:1.1.0', digest: null },
  steps: [{ step: 'pull', ms: 12.4, outcome: 'done' }],
  merge: {
    base: '/s/base',
    latest: '/s/latest',
    customer: '/srv/conf',
    out: '/s/merged',
    items: [
      { path: 'site.conf', kind: 'file', outcome: 'conflict', conflicts: 2, overridden: [{ line: 3, customer: 'workers=8\n', upstream: 'workers=4\n' }] },
      { path: 'httpd.conf', kind: 'file', outcome: 'unchanged' },
    ],
    refused: [{ side: 'latest', path: 'evil', reason: 'symlink out of the tree' } as never],
    notes: [],
    summary: { unchanged: 1, 'took-latest': 0, 'kept-customer': 0, merged: 0, conflict: 1, added: 0, deleted: 0, 'kept-deleted': 0, refused: 0 },
    customerFingerprint: 'sha256:c',
  },
  health: { shadow: { healthy: true, attempts: [] }, original: null },
  drains: [{ server: 'shop-web-1', result: { drained: false, waitedMs: 30000, remainingSessions: 1 } }],
  notes: ['a note'],
  durationMs: 4200,
};

describe('report text', () => {
  it('shows the outcome line and what matters', () => {
    const lines = renderContainer(updated);
    expect(lines[0]).toBe('updated  shop-web-1  web:1.0.0 -> web:1.1.0  4.2 s');
    const text = lines.join('\n');
    expect(text).toMatch(/configs:\n +conflict +site\.conf \(you won 2 conflicting hunks\)\n +at line 3, upstream wanted:\n +\| workers=4/);
    expect(text).not.toContain('httpd.conf');
    expect(text).toMatch(/refused +evil in latest: symlink out of the tree/);
    expect(lines).toContain('    drained shop-web-1 in 30000 ms (bound hit, 1 in flight)');
    expect(lines.at(-1)).toBe('    steps: pull 12 ms');
    expect(renderContainer(updated, { verbose: true }).join('\n')).toMatch(/step pull: done in 12 ms/);
    expect(renderContainer(updated, { verbose: true }).join('\n')).not.toMatch(/steps:/);
  });

  it('says why a container was rolled back and sums up the pass', () => {
    const rolled: ContainerReport = {
      ...updated,
      container: 'blog-web-1',
      result: 'rolled-back',
      reason: 'rolled back: shadow-health: unhealthy',
      merge: null,
      drains: [],
      notes: [],
      steps: [
        { step: 'pull', ms: 1234, outcome: 'done' },
        { step: 'shadow-health', ms: 2500, outcome: 'failed', error: 'unhealthy' },
        { step: 'shadow', ms: 310.4, outcome: 'undone' },
      ],
    };
    const pass: PassReport = { runId: 7, kind: 'run', startedAt: '', finishedAt: '', recovered: [], containers: [updated, rolled], ok: false };
    const lines = renderPass(pass);
    expect(lines).toContain('ROLLED BACK  blog-web-1  web:1.0.0 -> web:1.1.0  4.2 s');
    expect(lines).toContain('    rolled back: shadow-health: unhealthy');
    expect(lines).toContain('    steps: pull 1.2 s, shadow-health failed 2.5 s, shadow undone 310 ms');
    expect(lines.at(-1)).toBe('run #7: 1 updated, 1 rolled-back');
  });

  it('names the replaced images the pass removed or untagged, and why any stayed, before the summary', () => {
    const images = {
      removed: [
        { imageId: 'sha256:0123456789abcdef0123', references: ['web:1.0.0'], deleted: true },
        { imageId: 'sha256:fedcba9876543210fedc', references: ['web:0.9.0'], deleted: false },
      ],
      notes: ['could not remove the replaced image sha256:1 (web:0.8.0): conflict'],
    };
    const lines = renderPass({ runId: 8, kind: 'run', startedAt: '', finishedAt: '', recovered: [], containers: [updated], images, ok: true });
    expect(lines.slice(-4)).toEqual([
      'removed the replaced image sha256:0123456789ab (web:1.0.0)',
      'untagged the replaced image sha256:fedcba987654 (web:0.9.0): another tag keeps it',
      'could not remove the replaced image sha256:1 (web:0.8.0): conflict',
      'run #8: 1 updated',
    ]);
  });

  it('says what the old version answered, what the watch decided and why, the hold, and the revert', () => {
    const revert: ContainerReport = { ...updated, kind: 'revert', result: 'updated', reason: 'reverted web:1.1.0 -> web:1.0.0', from: { reference: 'web:1.1.0', imageId: 'sha256:b' }, to: { reference: 'web:1.0.0', digest: null }, merge: null, health: { shadow: null, original: null }, drains: [], notes: [], steps: [], durationMs: 3000 };
    const lines = renderContainer({
      ...updated,
      result: 'reverted',
      reason: 'reverted to web:1.0.0 after its update: 5xx rate 30.0% (120 of 400 requests) on web:1.1.0, …',
      merge: null,
      health: { shadow: null, original: null },
      drains: [],
      notes: [],
      steps: [],
      served: { requests: 3000, errors: 3 },
      watch: { watchId: 2, decision: 'reverted', reason: '5xx rate 30.0% (120 of 400 requests) on web:1.1.0, …', from: 'web:1.0.0', to: 'web:1.1.0', windowMs: 600_000, baseline: { requests: 3000, errors: 3 }, observed: { requests: 400, errors: 120 }, holdId: 1, revert },
    });
    expect(lines).toEqual([
      'REVERTED  shop-web-1  web:1.0.0 -> web:1.1.0  4.2 s',
      '    reverted to web:1.0.0 after its update: 5xx rate 30.0% (120 of 400 requests) on web:1.1.0, …',
      '    before the switch web:1.0.0 answered 3000 request(s) through the proxy, 3 with a 5xx',
      '    watched 10m: reverted: 5xx rate 30.0% (120 of 400 requests) on web:1.1.0, …',
      '    web:1.1.0 is held on this host (hold #1; `refit holds release 1` lets it be taken again)',
      '    the revert: updated  shop-web-1  web:1.1.0 -> web:1.0.0  3.0 s',
    ]);
  });
});
