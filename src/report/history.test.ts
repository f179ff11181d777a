import { describe, expect, it } from 'vitest';
import type { MaintenanceLog } from '../journal/types.js';
import type { ContainerReport } from '../maintenance/report.js';
import { historyEntry, renderHistory } from './history.js';

const log = (over: Partial<MaintenanceLog>): MaintenanceLog => ({
  id: 4,
  kind: 'update',
  watchId: null,
  runId: 2,
  container: 'shop-web-1',
  project: 'shop',
  service: 'web',
  imageBefore: 'web:1.0.0',
  imageAfter: 'web:1.1.0',
  status: 'updated',
  reason: 'updated web:1.0.0 -> web:1.1.0',
  report: null,
  started: new Date('2026-11-01T03:00:12.345Z'),
  finished: new Date('2026-11-01T03:00:30Z'),
  steps: [],
  ...over,
});

const report: ContainerReport = {
  container: 'shop-web-1',
  project: 'shop',
  service: 'web',
  result: 'rolled-back',
  reason: 'rolled back: shadow-health: shadow is unhealthy',
  from: { reference: 'web:1.0.0', imageId: 'sha256:a' },
  to: { reference: 'web:1.1.0', digest: null },
  steps: [{ step: 'pull', ms: 800, outcome: 'done' }],
  merge: null,
  health: { shadow: { healthy: false, reason: 'HTTP 500', attempts: [] }, original: null },
  drains: [],
  notes: [],
  durationMs: 3100,
};

describe('history', () => {
  it('says which image each container was left on', () => {
    expect(historyEntry(log({})).endedOn).toBe('web:1.1.0');
    expect(historyEntry(log({ status: 'rolled-back' })).endedOn).toBe('web:1.0.0');
    expect(historyEntry(log({ status: 'failed' })).endedOn).toBeNull();
    expect(historyEntry(log({ status: 'in-progress', finished: null })).endedOn).toBeNull();
  });

  it('shows the kept report under the time and run, entries apart', () => {
    const lines = renderHistory([historyEntry(log({ status: 'rolled-back', report: report as never })), historyEntry(log({ id: 3, runId: 1, reason: null }))]);
    expect(lines).toEqual([
      '2026-11-01 03:00:12Z  run #2',
      '  ROLLED BACK  shop-web-1  web:1.0.0 -> web:1.1.0  3.1 s',
      '      rolled back: shadow-health: shadow is unhealthy',
      '      health of the shadow: unhealthy: HTTP 500',
      '      steps: pull 800 ms',
      '',
      '2026-11-01 03:00:12Z  run #1',
      '  updated  shop-web-1  web:1.0.0 -> web:1.1.0',
    ]);
  });

  it('says how far a maintenance still in progress got and what finishes it', () => {
    const entry = historyEntry(
      log({ status: 'in-progress', finished: null, reason: null, steps: [{ seq: 9, step: 'shadow', phase: 'begin', at: new Date('2026-11-01T03:00:20Z'), record: null, error: null }] }),
    );
    expect(renderHistory([entry])).toEqual([
      '2026-11-01 03:00:12Z  run #2',
      '  IN PROGRESS  shop-web-1  web:1.0.0 -> web:1.1.0',
      '      last step shadow begin at 2026-11-01 03:00:20Z; if no refit is running (see `refit status`), `refit recover` finishes or rolls it back',
    ]);
    expect(entry.steps).toEqual([{ seq: 9, step: 'shadow', phase: 'begin', at: '2026-11-01T03:00:20.000Z', record: null, error: null }]);
    expect(renderHistory([])).toEqual(['no maintenance in the journal matches']);
  });
});
