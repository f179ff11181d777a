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
    files: [
      { path: 'site.conf', outcome: 'conflict', conflicts: 2 },
      { path: 'httpd.conf', outcome: 'unchanged' },
    ],
    conflicts: 2,
    refused: [{ path: 'evil', reason: 'symlink out of the tree' }],
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
    expect(lines).toContain('    config site.conf: conflict (customer won 2 conflicting hunks)');
    expect(lines.join('\n')).not.toContain('httpd.conf');
    expect(lines).toContain('    config evil: refused, symlink out of the tree');
    expect(lines).toContain('    drained shop-web-1 in 30000 ms (bound hit, 1 in flight)');
    expect(renderContainer(updated, { verbose: true }).join('\n')).toMatch(/httpd\.conf: unchanged[\s\S]*step pull: done in 12 ms/);
  });

  it('says why a container was rolled back and sums up the pass', () => {
    const rolled: ContainerReport = { ...updated, container: 'blog-web-1', result: 'rolled-back', reason: 'rolled back: shadow-health: unhealthy', merge: null, drains: [], notes: [] };
    const pass: PassReport = { runId: 7, kind: 'run', startedAt: '', finishedAt: '', recovered: [], containers: [updated, rolled], ok: false };
    const lines = renderPass(pass);
    expect(lines).toContain('ROLLED BACK  blog-web-1  web:1.0.0 -> web:1.1.0  4.2 s');
    expect(lines).toContain('    rolled back: shadow-health: unhealthy');
    expect(lines.at(-1)).toBe('run #7: 1 updated, 1 rolled-back');
  });
});
