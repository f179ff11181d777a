import { describe, expect, it } from 'vitest';
import type { StatusRows } from './read.js';
import { fleetHistory, renderFleetHistory } from './history.js';
import { fleetStatus, renderFleetStatus } from './status.js';

const at = (min: number) => new Date(Date.UTC(2026, 10, 1, 3, min));
const repo = 'reg.example/web';
const digest = `sha256:${'b'.repeat(64)}`;
const last = (status: string, min: number, reason: string | null) => ({
  id: min,
  runId: 1,
  container: 'x',
  project: 'x',
  service: 'web',
  status,
  imageBefore: `${repo}:1.0.0`,
  imageAfter: `${repo}:1.1.0`,
  repository: repo,
  digest,
  reason,
  started: at(min),
  finished: at(min + 1),
});

const rows: StatusRows = {
  now: at(30),
  hosts: [
    { name: 'c1', wave: 'canary', waveRank: 0, firstSeen: at(0), lastSeen: at(5), lastRun: { id: 4, kind: 'run', started: at(1), finished: at(5), result: 'success' } },
    { name: 'w1', wave: '1', waveRank: 1, firstSeen: at(0), lastSeen: at(7), lastRun: null },
  ],
  sites: [
    { host: 'c1', container: 'shop', project: 'shop', service: 'web', image: `${repo}:1.1.0`, repository: repo, imageId: 'sha256:2', digest, result: 'updated', reason: 'updated', seen: at(5), last: last('updated', 2, 'updated') },
    { host: 'w1', container: 'blog', project: 'blog', service: 'web', image: `${repo}:1.0.0`, repository: repo, imageId: 'sha256:1', digest: null, result: 'skipped', reason: 'fleet: soaking', seen: at(7), last: last('skipped', 6, 'fleet: soaking: …') },
  ],
  targets: [
    {
      repository: repo,
      digest,
      references: [`${repo}:1.1.0`],
      firstSeen: at(2),
      lastSeen: at(6),
      reports: [{ host: 'c1', container: 'shop', waveRank: 0, status: 'updated', finished: at(3) }],
      counts: [
        { waveRank: 0, status: 'updated', n: 1 },
        { waveRank: 1, status: 'skipped', n: 1 },
      ],
    },
  ],
  holds: [{ id: 3, repository: repo, digest: null, reason: 'old freeze', auto: false, heldBy: 'alice@c1', heldAt: at(0), releasedBy: 'bob@c1', releasedAt: at(1) }],
};

describe('fleet status', () => {
  const s = fleetStatus(rows, { maxFailureRate: 0.1, soakMs: 3_600_000, minReports: 1 }, 'postgres://refit@db/refit');

  it('tells per image, per wave, what happened and what the rules say now', () => {
    expect(s.images).toHaveLength(1);
    const [image] = s.images;
    expect(image!.failureRate).toEqual({ failed: 0, reports: 1, over: false });
    expect(image!.waves).toEqual([
      { wave: 'canary', rank: 0, counts: { updated: 1 }, gate: { admit: true, note: expect.stringContaining('canary takes') } },
      { wave: 'wave 1', rank: 1, counts: { skipped: 1 }, gate: { admit: false, reason: expect.stringMatching(/^soaking: canary reported .* at 2026-11-01T03:03:00Z; wave 1 may take it from 2026-11-01T04:03:00Z$/) } },
    ]);
    expect(image!.holds).toEqual([expect.objectContaining({ reason: 'old freeze', releasedBy: 'bob@c1' })]);
    expect(s.holds).toEqual([]);
  });

  it('lists every host with its sites: what they run, their last result and why', () => {
    expect(s.hosts.map((h) => [h.name, h.wave, h.sites.map((x) => [x.container, x.image, x.last?.status, x.last?.reason])])).toEqual([
      ['c1', 'canary', [['shop', `${repo}:1.1.0`, 'updated', 'updated']]],
      ['w1', '1', [['blog', `${repo}:1.0.0`, 'skipped', 'fleet: soaking: …']]],
    ]);
  });

  it('renders as text an operator reads top to bottom', () => {
    const text = renderFleetStatus(s).join('\n');
    expect(text).toMatch(/^fleet database postgres:\/\/refit@db\/refit, 2 hosts, at 2026-11-01 03:30:00Z\n/);
    expect(text).toContain(`  ${repo}@${digest}  (${repo}:1.1.0), 0 of 1 reports failed`);
    expect(text).toMatch(/ {4}wave 1 +1 skipped +soaking: canary reported/);
    expect(text).toMatch(/\nw1 \(1\): no run published yet, last seen 2026-11-01 03:07:00Z\n {2}SITE +IMAGE +LAST +WHY\n {2}blog +reg\.example\/web:1\.0\.0 +skipped 2026-11-01 03:06:00Z +fleet: soaking: …/);
  });
});

describe('fleet history', () => {
  it('says where each image was left, as the host\'s own history does', () => {
    const h = fleetHistory({
      maintenances: [
        { host: 'w1', wave: '1', ...last('skipped', 6, 'fleet: soaking'), report: null },
        { host: 'c1', wave: 'canary', ...last('rolled-back', 4, 'rolled back: shadow-health'), report: null },
        { host: 'c1', wave: 'canary', ...last('updated', 2, 'updated'), report: null },
      ],
      holds: [],
    });
    expect(h.maintenances.map((m) => [m.host, m.status, m.endedOn])).toEqual([
      ['w1', 'skipped', `${repo}:1.0.0`],
      ['c1', 'rolled-back', `${repo}:1.0.0`],
      ['c1', 'updated', `${repo}:1.1.0`],
    ]);
    expect(renderFleetHistory(h)).toEqual([
      `2026-11-01 03:06:00Z  w1 (1) run #1  skipped  x  ${repo}:1.0.0 -> ${repo}:1.1.0`,
      '    fleet: soaking',
      `2026-11-01 03:04:00Z  c1 (canary) run #1  ROLLED BACK  x  ${repo}:1.0.0 -> ${repo}:1.1.0`,
      '    rolled back: shadow-health',
      `2026-11-01 03:02:00Z  c1 (canary) run #1  updated  x  ${repo}:1.0.0 -> ${repo}:1.1.0`,
    ]);
  });
});
