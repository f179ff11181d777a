import { describe, expect, it } from 'vitest';
import { decide, failureRate, type Report, type Thresholds, type WaveFacts } from './waves.js';

const T = { repository: 'reg.example/web', digest: `sha256:${'a'.repeat(64)}` };
const rules: Thresholds = { maxFailureRate: 0.1, soakMs: 3_600_000, minReports: 2 };
const at = (min: number) => new Date(Date.UTC(2026, 10, 1, 3, min));
const report = (host: string, waveRank: number, status: Report['status'], min: number, container = 'web'): Report => ({ host, container, waveRank, status, finished: at(min) });

function facts(over: Partial<WaveFacts> = {}): WaveFacts {
  return { holds: [], lastRelease: null, reports: [], sitesByWave: new Map([[0, 2], [1, 10], [2, 10]]), now: at(0), ...over };
}

describe('the wave rules', () => {
  it('let the canary take a new image at once', () => {
    expect(decide(T, 'canary', facts(), rules)).toMatchObject({ admit: true });
  });

  it('hold every wave, the canary too, while the image or its repository is held', () => {
    const hold = { id: 1, repository: T.repository, digest: null, reason: 'bad build', auto: false, heldBy: 'alice@web-1', heldAt: at(0) };
    for (const wave of ['canary', 1, 2] as const) {
      expect(decide(T, wave, facts({ holds: [hold] }), rules)).toEqual({ admit: false, reason: 'held by alice@web-1 since 2026-11-01T03:00:00Z: bad build' });
    }
  });

  it('make wave 1 wait for enough canary reports, then for the soak', () => {
    const one = facts({ reports: [report('c1', 0, 'updated', 0)], now: at(5) });
    expect(decide(T, 1, one, rules)).toEqual({ admit: false, reason: `waiting for canary: 1 of 2 reports of ${T.repository}@sha256:aaaaaaaaaaaa so far` });
    const two = { ...one, reports: [...one.reports, report('c2', 0, 'updated', 10)] };
    expect(decide(T, 1, { ...two, now: at(69) }, rules)).toEqual({
      admit: false,
      reason: `soaking: canary reported ${T.repository}@sha256:aaaaaaaaaaaa at 2026-11-01T03:10:00Z; wave 1 may take it from 2026-11-01T04:10:00Z`,
    });
    expect(decide(T, 1, { ...two, now: at(70) }, rules)).toMatchObject({ admit: true });
  });

  it('make wave 2 follow wave 1, not the canary', () => {
    const canaryDone = facts({ reports: [report('c1', 0, 'updated', 0), report('c2', 0, 'updated', 0)], now: at(600) });
    expect(decide(T, 2, canaryDone, rules)).toMatchObject({ admit: false, reason: expect.stringMatching(/^waiting for wave 1: 0 of 2 reports/) });
    const wave1 = { ...canaryDone, reports: [...canaryDone.reports, report('w1', 1, 'updated', 100), report('w2', 1, 'updated', 120)] };
    expect(decide(T, 2, wave1, rules)).toMatchObject({ admit: true });
  });

  it('skip an earlier wave that runs nothing of the repository', () => {
    const f = facts({ sitesByWave: new Map([[0, 1], [2, 5]]), reports: [report('c1', 0, 'updated', 0)], now: at(61) });
    expect(decide(T, 2, f, rules)).toMatchObject({ admit: true, note: expect.stringMatching(/^canary reported/) });
    expect(decide(T, 1, facts({ sitesByWave: new Map([[1, 3]]) }), rules)).toMatchObject({ admit: true, note: `no earlier wave runs ${T.repository}: wave 1 is the first to take it` });
  });

  it('need only as many reports as the earlier wave has sites', () => {
    const f = facts({ sitesByWave: new Map([[0, 1], [1, 5]]), reports: [report('c1', 0, 'updated', 0)], now: at(60) });
    expect(decide(T, 1, f, rules)).toMatchObject({ admit: true });
  });

  it('count a site that tried twice once, by its first report', () => {
    const f = facts({ reports: [report('c1', 0, 'updated', 0), report('c1', 0, 'updated', 30)], now: at(600) });
    expect(decide(T, 1, f, rules)).toMatchObject({ admit: false, reason: expect.stringMatching(/1 of 2 reports/) });
  });

  it('stop the image and ask for a hold when the failure rate is over the threshold', () => {
    const f = facts({ reports: [report('c1', 0, 'rolled-back', 0), report('c2', 0, 'updated', 1)], now: at(600) });
    const v = decide(T, 'canary', f, rules);
    expect(v).toEqual({ admit: false, reason: 'failure rate 50% (1 of 2 reports) is over fleet.thresholds.maxFailureRate 10%', holdReason: 'failure rate 50% (1 of 2 reports) is over fleet.thresholds.maxFailureRate 10%' });
    expect(decide(T, 1, f, rules)).toMatchObject({ admit: false, holdReason: expect.any(String) });
  });

  it('judge the failure rate only from minReports reports on, and forget failures before a release', () => {
    expect(failureRate({ reports: [report('c1', 0, 'failed', 0)], lastRelease: null }, rules).over).toBe(false);
    const reports = [report('c1', 0, 'failed', 0), report('c2', 0, 'failed', 1), report('c3', 0, 'updated', 20), report('c4', 0, 'updated', 21)];
    expect(failureRate({ reports, lastRelease: null }, rules)).toMatchObject({ over: true, failed: 2, total: 4 });
    expect(failureRate({ reports, lastRelease: at(10) }, rules)).toMatchObject({ over: false, failed: 0, total: 2 });
    expect(failureRate({ reports: [report('c1', 0, 'updated', 0)], lastRelease: null }, { ...rules, minReports: 1, maxFailureRate: 0 }).over).toBe(false);
  });
});
