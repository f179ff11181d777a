import { describe, expect, it } from 'vitest';
import { body, incidentLine, jsonBody, passHeadline, slackBody, watchLine } from './format.js';
import type { ContainerIncident, PassSummary } from './types.js';

const summary: PassSummary = {
  runId: '42',
  startedAt: '2026-11-01T03:00:00.000Z',
  finishedAt: '2026-11-01T03:12:00.000Z',
  host: 'web-3',
  results: [
    { container: 'shop', result: 'updated', from: 'web:1.0.0', to: 'web:1.1.0' },
    { container: 'blog', result: 'rolled-back', from: 'web:1.0.0', to: 'web:1.1.0', reason: 'shadow unhealthy: HTTP 500' },
    { container: 'wiki', result: 'current' },
    { container: 'docs', result: 'current' },
  ],
};

const incident: ContainerIncident = {
  runId: '42',
  host: 'web-3',
  at: '2026-11-01T03:05:00.000Z',
  container: 'blog',
  result: 'rolled-back',
  step: 'shadow-health',
  from: 'web:1.0.0',
  to: 'web:1.1.0',
  reason: 'shadow unhealthy: HTTP 500',
};

describe('passHeadline', () => {
  it('counts results, problems first, and says whether the pass needs attention', () => {
    expect(passHeadline(summary)).toBe('refit on web-3: 1 rolled back, 1 updated, 2 current (needs attention)');
  });

  it('is ok when nothing failed', () => {
    expect(passHeadline({ ...summary, results: [{ container: 'a', result: 'updated' }] })).toBe('refit on web-3: 1 updated (ok)');
  });

  it('says so when the host has no managed container', () => {
    expect(passHeadline({ ...summary, results: [] })).toBe('refit on web-3: no managed containers (ok)');
  });
});

describe('jsonBody', () => {
  it('is the summary itself plus the event kind and a text line', () => {
    expect(jsonBody({ kind: 'pass', summary })).toEqual({ event: 'pass', text: passHeadline(summary), ...summary });
  });

  it('carries every incident field', () => {
    expect(jsonBody({ kind: 'incident', incident })).toEqual({ event: 'incident', text: incidentLine(incident), ...incident });
  });
});

describe('slackBody', () => {
  it('has a complete text for clients without blocks, and lists what changed but not what is current', () => {
    const msg = slackBody({ kind: 'pass', summary });
    expect(msg.text).toBe(passHeadline(summary));
    const listing = msg.blocks?.[1]?.text?.text ?? '';
    expect(listing.split('\n')).toEqual([
      '↩️ *blog* rolled-back `web:1.0.0` → `web:1.1.0`: shadow unhealthy: HTTP 500',
      '✅ *shop* updated `web:1.0.0` → `web:1.1.0`',
    ]);
    expect(listing).not.toContain('wiki');
  });

  it('cuts long listings and says how many more there are', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ container: `c${String(i).padStart(2, '0')}`, result: 'updated' as const }));
    const listing = slackBody({ kind: 'pass', summary: { ...summary, results: many } }).blocks?.[1]?.text?.text ?? '';
    expect(listing.split('\n')).toHaveLength(26);
    expect(listing).toContain('… and 5 more');
  });

  it('names the container, step, images and reason of an incident', () => {
    const msg = slackBody({ kind: 'incident', incident });
    expect(msg.text).toBe('refit on web-3: blog rolled back at shadow-health: shadow unhealthy: HTTP 500');
    expect(msg.blocks?.[0]?.text?.text).toBe(
      '*blog* on `web-3`: rolled back at step `shadow-health`\nimage: `web:1.0.0` → `web:1.1.0`\nreason: shadow unhealthy: HTTP 500\nrun 42, 2026-11-01T03:05:00.000Z',
    );
  });

  it('is what body() sends to slack hooks', () => {
    expect(body('slack', { kind: 'incident', incident })).toEqual(slackBody({ kind: 'incident', incident }));
    expect(body('json', { kind: 'incident', incident })).toEqual(jsonBody({ kind: 'incident', incident }));
  });
});

describe('hold notifications', () => {
  const hold = { host: 'web-1', at: '2026-11-01T03:05:00.000Z', repository: 'reg.example/web', digest: `sha256:${'a'.repeat(64)}`, auto: true, by: 'web-1', reason: 'failure rate 100% (1 of 1 report) is over fleet.thresholds.maxFailureRate 10%' };

  it('say which image is held everywhere, by whom and why', () => {
    expect(jsonBody({ kind: 'hold', hold })).toEqual({
      event: 'hold',
      text: 'refit fleet: reg.example/web@sha256:aaaaaaaaaaaa… held automatically (seen on web-1): failure rate 100% (1 of 1 report) is over fleet.thresholds.maxFailureRate 10%',
      ...hold,
    });
    expect(slackBody({ kind: 'hold', hold: { ...hold, auto: false, by: 'alice@web-1', digest: null, reason: 'checking' } }).text).toBe('refit fleet: reg.example/web (every digest) held by alice@web-1 (seen on web-1): checking');
  });
});

describe('the watch after an update', () => {
  const watch = { decision: 'kept' as const, from: 'web:1.0.0', to: 'web:1.1.0', requests: 1840, errors: 22, before: { requests: 3100, errors: 28 }, reason: 'within 5.0 points' };

  it('tells, for each watched container, from → to, the rate, the requests and the decision', () => {
    const listing = slackBody({ kind: 'pass', summary: { ...summary, results: [{ container: 'shop', result: 'updated', from: 'web:1.0.0', to: 'web:1.1.0', watch }] } }).blocks?.[1]?.text?.text;
    expect(listing).toBe('✅ *shop* updated `web:1.0.0` → `web:1.1.0` (watched: kept: 1.2% 5xx over 1840 requests (0.9% before))');
    expect(watchLine({ ...watch, decision: 'not-judged', requests: 0, errors: 0, before: undefined })).toBe('not-judged: 0.0% 5xx over 0 requests');
  });

  it('makes a revert an incident for every hook, and a problem in the headline', () => {
    const reverted: ContainerIncident = { ...incident, container: 'shop', result: 'reverted', step: undefined, reason: 'reverted to web:1.0.0 after its update: 5xx rate 31.0% (120 of 387 requests) on web:1.1.0' };
    expect(incidentLine(reverted)).toBe('refit on web-3: shop reverted after its update: reverted to web:1.0.0 after its update: 5xx rate 31.0% (120 of 387 requests) on web:1.1.0');
    expect(slackBody({ kind: 'incident', incident: reverted }).blocks?.[0]?.text?.text).toMatch(/^\*shop\* on `web-3`: REVERTED after its update\n/);
    expect(passHeadline({ ...summary, results: [{ container: 'shop', result: 'reverted', watch: { ...watch, decision: 'reverted' } }] })).toBe('refit on web-3: 1 reverted (needs attention)');
  });
});

