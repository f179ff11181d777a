/**
 * The model-based fault test on the fake world: thousands of seeded schedules of failures and
 * kills at every command, in `run`, in `recover` and inside undos, with repeated recovers
 * (testing/schedules.ts). After every command: the site has a ready server on a proven image,
 * the config dir is the customer's tree or its merge, the compose file old or bumped, affinity on
 * only while two versions may share, and the journal agrees with the world; once closed, the
 * site is whole and nothing is left over. A quarter of the schedules are reverts (the watch
 * after an update going back to the image it replaced) instead of updates.
 *
 * And the same for a pass over two services of one project (one compose file, one image, one
 * network) with concurrency 2: each site's invariants after every command, under every
 * interleaving of the two maintenances the seed picks; updates to another tag run at once,
 * same-tag updates take turns; once both are closed, both sites are whole and the tag they run
 * by names the image a standing same-tag update brought.
 *
 * A failure prints each failing seed; replay one with REFIT_SCHEDULE_SEED=N (and more schedules
 * with REFIT_SCHEDULES=N, REFIT_PAIR_SCHEDULES=N).
 */
import { describe, expect, it } from 'vitest';
import { inMemoryJournal } from '../journal/journal.js';
import type { MaintenanceLog } from '../journal/types.js';
import { fakePairTarget, fakeTarget, pairScenarioOf, scenarioOf } from './testing/fake-site.js';
import { runSchedule, seeded, type Fault, type ScheduleResult } from './testing/schedules.js';

const COUNT = Number(process.env.REFIT_SCHEDULES ?? 3000);
const PAIRS = Number(process.env.REFIT_PAIR_SCHEDULES ?? 1000);
const ONLY = process.env.REFIT_SCHEDULE_SEED;

/** A failed schedule as the test prints it: how to replay it, what it was, its faults and what broke. */
function failureOf(seed: number, scenario: object, options: object, r: ScheduleResult): string {
  const trail = r.faults.map((f) => `${f.kind} ${f.at} (process ${f.process}, ${f.during})`).join('; ');
  return `seed ${seed} (replay: REFIT_SCHEDULE_SEED=${seed}) ${JSON.stringify(scenario)} ${JSON.stringify(options)}\n    faults: ${trail || 'none'}\n    ${r.problems.join('\n    ')}`;
}

describe('seeded fault schedules on the fake world', () => {
  it(`${ONLY ? `seed ${ONLY}` : `${COUNT} schedules`}: every invariant holds after every command; every maintenance ends closed, its site whole`, async () => {
    const failures: string[] = [];
    const endings: Record<string, number> = {};
    const faults: Fault[] = [];
    const reverts: Record<string, number> = {};
    const seeds = ONLY ? [Number(ONLY)] : Array.from({ length: COUNT }, (_, i) => i + 1);
    for (const seed of seeds) {
      const rand = seeded(seed);
      const scenario = scenarioOf(rand);
      const journal = inMemoryJournal();
      const options = { failRate: rand() * 0.03, killRate: rand() * 0.02, faultyProcesses: 1 + Math.floor(rand() * 4), quietEvents: rand() < 0.5 ? Math.floor(rand() * 250) : 0 };
      const r = await runSchedule(fakeTarget(scenario, journal), rand, options);
      journal.close();
      endings[r.status] = (endings[r.status] ?? 0) + 1;
      if (scenario.revert) reverts[r.status] = (reverts[r.status] ?? 0) + 1;
      faults.push(...r.faults);
      if (r.problems.length) {
        failures.push(failureOf(seed, scenario, options, r));
        if (failures.length >= 5) break;
      }
    }
    expect(failures.join('\n')).toBe('');
    if (ONLY) return;
    // The schedules reach every kind of ending and every kind of fault the test is about.
    expect(Object.keys(endings).sort()).toEqual(['rolled-back', 'skipped', 'updated']);
    expect(endings.updated).toBeGreaterThan(COUNT / 10);
    const kills = faults.filter((f) => f.kind === 'kill');
    expect(kills.filter((f) => f.process === 1).length).toBeGreaterThan(100); // in run
    expect(kills.filter((f) => f.process > 1).length).toBeGreaterThan(100); // in recover
    expect(faults.filter((f) => f.process > 2).length).toBeGreaterThan(50); // in repeated recovers
    expect(faults.filter((f) => f.during.endsWith('undo-begin')).length).toBeGreaterThan(100); // inside undos
    expect(kills.filter((f) => f.at.startsWith('after journal')).length).toBeGreaterThan(100); // between journal entries
    expect(faults.filter((f) => f.at.startsWith('after proxy.add-server')).length).toBeGreaterThan(10); // between the two commands of an add
    // Reverts (the watch's way back to the image an update replaced) end both ways too, faults in their own first step.
    expect(reverts.updated).toBeGreaterThan(COUNT / 20);
    expect(reverts['rolled-back']).toBeGreaterThan(COUNT / 100);
    expect(faults.filter((f) => f.during.startsWith('old-image ')).length).toBeGreaterThan(10);
    const afterCommit = ['original-traffic', 'retire-shadow', 'commit-configs', 'remove-scratch'];
    expect(faults.filter((f) => afterCommit.some((s) => f.during.startsWith(`${s} `))).length).toBeGreaterThan(100); // past the commit point
  }, 300_000);
});

/** Whether the two maintenances' journal entries interleave in the pass (before any recover): they ran at once. */
function overlapped(a: MaintenanceLog | undefined, b: MaintenanceLog | undefined): boolean {
  if (!a?.steps.length || !b?.steps.length) return false;
  const span = (l: MaintenanceLog) => [l.steps[0]!.seq, l.steps.at(-1)!.seq] as const;
  const [[a0, a1], [b0, b1]] = [span(a), span(b)];
  return a0 < b1 && b0 < a1;
}

describe('seeded fault schedules on the fake world: two services of one project at once', () => {
  it(`${ONLY ? `seed ${ONLY}` : `${PAIRS} schedules`}: every invariant of both sites holds after every command; both end closed and whole; only updates to another tag overlap`, async () => {
    const failures: string[] = [];
    const endings: Record<string, number> = {};
    const overlaps = { tagChange: 0, sameTag: 0 };
    let kills = 0;
    const seeds = ONLY ? [Number(ONLY)] : Array.from({ length: PAIRS }, (_, i) => i + 1);
    for (const seed of seeds) {
      const rand = seeded(seed);
      const scenario = pairScenarioOf(rand);
      const journal = inMemoryJournal();
      const options = { failRate: rand() * 0.03, killRate: rand() * 0.02, faultyProcesses: 1 + Math.floor(rand() * 4), quietEvents: rand() < 0.5 ? Math.floor(rand() * 400) : 0 };
      const target = fakePairTarget(scenario, journal, rand);
      const r = await runSchedule(target, rand, options);
      // Overlap is judged on faultless first processes only: a kill ends a pass before the other begins.
      if (!r.faults.some((f) => f.process === 1)) {
        const [a, b] = target.sites.map((s) => journal.history({ container: s.name, limit: 1 })[0]);
        if (overlapped(a, b)) overlaps[scenario.sameTag ? 'sameTag' : 'tagChange']++;
      }
      journal.close();
      for (const status of r.status.split(',')) endings[status] = (endings[status] ?? 0) + 1;
      kills += r.faults.filter((f) => f.kind === 'kill').length;
      if (r.problems.length) {
        failures.push(failureOf(seed, scenario, options, r));
        if (failures.length >= 5) break;
      }
    }
    expect(failures.join('\n')).toBe('');
    if (ONLY) return;
    expect(Object.keys(endings).sort()).toEqual(expect.arrayContaining(['rolled-back', 'updated']));
    expect(endings.updated).toBeGreaterThan(PAIRS / 5);
    expect(kills).toBeGreaterThan(200);
    expect(overlaps.tagChange).toBeGreaterThan(PAIRS / 10);
    expect(overlaps.sameTag).toBe(0);
  }, 300_000);
});
