/**
 * `refit history` and the journal part of `refit status` after real passes through the
 * harness (HAProxy, a local registry, a Compose site per maintenance): one update, one
 * rollback, one run killed mid-way that `refit status` reports until `refit recover`, and
 * one run that `refit status` watches while it is maintaining a container.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../src/report/history.js';
import type { JournalStatus } from '../src/report/journal-status.js';
import { startHarness, type Harness, type TestSite } from './support/host-harness.js';
import { refit, refitAsync } from './support/refit-cli.js';
import { suiteName } from './support/suite.js';

const SUITE = suiteName('history');
let h: Harness;
let updated: TestSite;
let rolledBack: TestSite;

const history = (...args: string[]) => refit(['history', ...args], h.env);
const entries = (...args: string[]) => {
  const r = history('--json', ...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.json<{ maintenances: HistoryEntry[] }>().maintenances;
};

beforeAll(async () => {
  h = await startHarness(SUITE);
  updated = await h.site('v2');
  rolledBack = await h.site('v1', { repo: 'bad' });
  const sync = await refitAsync(['proxy', 'sync'], h.env);
  expect(sync.code, sync.stderr).toBe(0);
  const up = await refitAsync(['run', '--container', updated.container], h.env);
  expect(up.code, up.stdout + up.stderr).toBe(0);
  const back = await refitAsync(['run', '--container', rolledBack.container], h.env);
  expect(back.code, back.stdout + back.stderr).toBe(1);
});

afterAll(async () => {
  await updated?.down();
  await rolledBack?.down();
  await h?.stop();
});

describe('refit history after an update and a rollback', () => {
  it('shows versions, config outcomes with the overridden upstream hunk, health, timings and the rollback reason as text', () => {
    const r = history();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [newest, older] = r.stdout.split('\n\n');
    // Newest first: the rollback, then the update.
    expect(newest).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ  run #\\d+\\n  ROLLED BACK  ${rolledBack.container}  ${esc(h.ref('bad', '1.0.0'))} -> ${esc(h.ref('bad', '1.1.0'))}  [\\d.]+ s\\n`));
    expect(newest).toMatch(/\n {6}rolled back: shadow-health: shadow \S+ on \S+ is unhealthy/);
    expect(newest).toMatch(/\n {6}health of the shadow: unhealthy: .*\n {8}#1 failed in \d+ ms/);
    expect(newest).toMatch(/\n {6}steps: pull [\d.]+ m?s, .*shadow-health failed [\d.]+ m?s, .*shadow undone/);

    expect(older).toMatch(new RegExp(`  updated  ${updated.container}  ${esc(h.ref('web', '1.0.0'))} -> ${esc(h.ref('web', '1.1.0'))}  [\\d.]+ s\\n`));
    expect(older).toMatch(/\n {6}configs:\n(?: {8}.*\n)* {8}conflict +site\.conf \(you won 1 conflicting hunk\)\n {12}at line \d+, upstream wanted:\n(?: {14}\| .*\n)* {14}\| workers=4\n/);
    expect(older).toMatch(/\n {8}added +new-in-v2\.conf\n/);
    expect(older).toMatch(/\n {6}health of the shadow: healthy after \d+ attempts?\n {6}health of the original: healthy after \d+ attempts?\n/);
    expect(older).toMatch(/\n {6}steps: pull [\d.]+ m?s, scratch .*, retire-shadow [\d.]+ m?s, commit-configs [\d.]+ m?s, remove-scratch [\d.]+ m?s\n?$/);
  });

  it('gives the same as JSON: reports with merge hunks, health attempts, step timings, journal entries', () => {
    const [back, up] = entries();
    expect(up).toMatchObject({ container: updated.container, status: 'updated', imageBefore: h.ref('web', '1.0.0'), imageAfter: h.ref('web', '1.1.0'), endedOn: h.ref('web', '1.1.0') });
    const conflict = up!.report!.merge!.items.find((i) => i.path === 'site.conf');
    expect(conflict).toMatchObject({ outcome: 'conflict', conflicts: 1 });
    expect(conflict!.overridden![0]!.upstream).toContain('workers=4');
    expect(up!.report!.health.shadow).toMatchObject({ healthy: true });
    // Recorded, numbered from 1, the last one passed; how many it took depends on how fast the container starts.
    const attempts = up!.report!.health.shadow!.attempts;
    expect(attempts.map((a) => a.number)).toEqual(attempts.map((_, i) => i + 1));
    expect(attempts.at(-1)).toMatchObject({ passed: true });
    expect(up!.report!.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['pull', 'merge', 'shadow-health', 'original-health', 'retire-shadow']));
    expect(up!.report!.steps.every((s) => s.outcome === 'done' && s.ms >= 0)).toBe(true);
    expect(up!.steps.at(-1)).toMatchObject({ step: 'remove-scratch', phase: 'done' });

    expect(back).toMatchObject({ container: rolledBack.container, status: 'rolled-back', imageAfter: h.ref('bad', '1.1.0'), endedOn: h.ref('bad', '1.0.0') });
    expect(back!.reason).toMatch(/^rolled back: shadow-health: /);
    expect(back!.report!.health.shadow).toMatchObject({ healthy: false });
    expect(back!.report!.health.shadow!.attempts.length).toBeGreaterThan(1);
    expect(back!.report!.steps).toContainEqual(expect.objectContaining({ step: 'shadow-health', outcome: 'failed' }));
    expect(back!.steps.map((s) => `${s.step}:${s.phase}`)).toContain('shadow:undone');
  });

  it('filters by --container and by --since', () => {
    expect(entries('--container', updated.container).map((e) => e.container)).toEqual([updated.container]);
    expect(entries('--container', 'no-such-container')).toEqual([]);
    const [back, up] = entries();
    expect(entries('--since', back!.started).map((e) => e.id)).toEqual([back!.id]);
    expect(entries('--since', up!.started).map((e) => e.id)).toEqual([back!.id, up!.id]);
    expect(entries('--since', '1h').map((e) => e.id)).toEqual([back!.id, up!.id]);
    expect(entries('--since', '2999-01-01')).toEqual([]);
    expect(history('--since', '2999-01-01').stdout).toBe('no maintenance in the journal matches\n');
  });

  it('refuses a bad --since with one line and exit 2', () => {
    const r = history('--since', 'last tuesday');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--since "last tuesday" is neither an ISO date nor a duration/);
  });
});

describe('refit status from the journal', () => {
  it('lists the last runs', () => {
    const r = refit(['status', '--json'], h.env);
    expect(r.code, r.stderr).toBe(0);
    const s = r.json<JournalStatus>();
    expect(s.unfinished).toEqual([]);
    expect(s.current).toEqual([]);
    const [back, up] = s.runs;
    expect(back).toMatchObject({ kind: 'run', result: 'failed', counts: { 'rolled-back': 1 } });
    expect(up).toMatchObject({ kind: 'run', result: 'success', counts: { updated: 1 } });
  });

  it('reports a maintenance a killed refit left unfinished, with exit 1, until refit recover finishes it', async () => {
    const site = await h.site('v2');
    try {
      const killed = await refitAsync(['run', '--container', site.container], { ...h.env, REFIT_FAULT: 'kill:shadow:done' });
      expect(killed.code, killed.stdout + killed.stderr).toBe(137);

      const json = refit(['status', '--json'], h.env);
      expect(json.code).toBe(1);
      const s = json.json<JournalStatus>();
      expect(s.current).toEqual([]);
      expect(s.unfinished).toEqual([expect.objectContaining({ container: site.container, imageBefore: h.ref('web', '1.0.0'), imageAfter: h.ref('web', '1.1.0'), lastStep: expect.objectContaining({ step: 'shadow', phase: 'done' }) })]);
      expect(s.runs[0]).toMatchObject({ result: 'interrupted', counts: { 'in-progress': 1 } });

      const text = refit(['status'], h.env);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('1 maintenance left unfinished by a crash or kill; run `refit recover` to finish or roll back:');
      expect(text.stdout).toMatch(new RegExp(`\\n  ${site.container}  \\S+ -> \\S+  run #\\d+, last step shadow done at `));
      expect(history('--container', site.container).stdout).toMatch(/IN PROGRESS .*\n.*last step shadow done .*`refit recover` finishes or rolls it back/);

      const recovered = await refitAsync(['recover'], h.env);
      expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
      const after = refit(['status', '--json'], h.env);
      expect(after.code).toBe(0);
      expect(after.json<JournalStatus>().unfinished).toEqual([]);
      expect(entries('--container', site.container)[0]).toMatchObject({ status: 'rolled-back', endedOn: h.ref('web', '1.0.0') });
    } finally {
      await site.down();
    }
  });
});

describe('refit status while a refit is maintaining a container', () => {
  it('names the container and its step, and counts nothing as unfinished', async () => {
    const site = await h.site('v1', { repo: 'bad' });
    // The run holds right after journaling shadow-health begin, until the test has looked.
    const release = join(h.stateDir, '..', 'release-status-hold');
    try {
      const running = refitAsync(['run', '--container', site.container], { ...h.env, REFIT_FAULT: 'hold:shadow-health:begin', REFIT_FAULT_RELEASE: release });
      let seen: JournalStatus | undefined;
      for (let i = 0; i < 600 && seen?.current[0]?.lastStep?.step !== 'shadow-health'; i++) {
        const r = await refitAsync(['status', '--json'], h.env);
        expect(r.code, r.stderr).toBe(0);
        seen = r.json<JournalStatus>();
        if (seen.current[0]?.lastStep?.step !== 'shadow-health') await sleep(250);
      }
      expect(seen?.current).toEqual([expect.objectContaining({ container: site.container, lastStep: expect.objectContaining({ step: 'shadow-health', phase: 'begin' }) })]);
      expect(seen?.unfinished).toEqual([]);
      expect(seen?.runs[0]).toMatchObject({ id: seen?.current[0]?.runId, result: 'running', finished: null });
      const text = await refitAsync(['status'], h.env);
      expect(text.stdout).toMatch(new RegExp(`^maintaining now \\(run #\\d+\\): ${site.container}  \\S+ -> \\S+  last step shadow-health begin at `, 'm'));
      writeFileSync(release, '');
      expect((await running).code).toBe(1);
    } finally {
      writeFileSync(release, '');
      await site.down();
    }
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
