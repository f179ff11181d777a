/**
 * @module fleet/status
 * `refit fleet status`, pure: per image (a repository at one digest) its holds, failure rate
 * and, for every wave, how its sites fared and what the rollout rules say now; per host its
 * wave and last run; per site what it runs, its last result and why.
 */
import { table } from '../cli/output.js';
import { utcTime } from '../report/text.js';
import type { HoldRow, HostRow, SiteRow, StatusRows, TargetRow } from './read.js';
import { decide, failureRate, waveName, type Hold, type Thresholds, type WaveFacts } from './waves.js';

export interface ImageStatus {
  repository: string;
  digest: string;
  /** The references (tags) it was rolled out as. */
  references: string[];
  firstSeen: string;
  lastSeen: string;
  holds: HoldView[];
  failureRate: { failed: number; reports: number; over: boolean };
  waves: {
    wave: string;
    rank: number;
    /** Maintenances of this image by status in this wave. */
    counts: Record<string, number>;
    /** What a host of this wave would be told now. */
    gate: { admit: true; note: string } | { admit: false; reason: string };
  }[];
}

/** A hold as JSON shows it: active (released* null) or released. */
export type HoldView = Omit<Hold, 'heldAt'> & { heldAt: string; releasedBy: string | null; releasedAt: string | null };

export interface SiteStatus {
  container: string;
  project: string;
  service: string;
  /** The image it runs now (from its host's last pass), its digest when known, and the pass's result. */
  image: string | null;
  digest: string | null;
  imageId: string | null;
  result: string | null;
  reason: string | null;
  seen: string | null;
  /** Its newest maintenance, as the host's `refit history` shows it. */
  last: {
    id: number;
    runId: number;
    status: string;
    imageBefore: string;
    imageAfter: string | null;
    reason: string | null;
    started: string;
    finished: string | null;
  } | null;
}

export interface HostStatus {
  name: string;
  wave: string;
  firstSeen: string;
  lastSeen: string;
  lastRun: { id: number; kind: string; started: string; finished: string | null; result: string | null } | null;
  sites: SiteStatus[];
}

export interface FleetStatus {
  database: string;
  at: string;
  images: ImageStatus[];
  hosts: HostStatus[];
  /** Holds in force now. */
  holds: HoldView[];
}

export function fleetStatus(rows: StatusRows, thresholds: Thresholds, database: string): FleetStatus {
  const ranks = [...new Set(rows.hosts.map((h) => h.waveRank))].sort((a, b) => a - b);
  return {
    database,
    at: rows.now.toISOString(),
    images: rows.targets.map((t) => imageStatus(t, rows, ranks, thresholds)),
    hosts: rows.hosts.map((h) => hostStatus(h, rows.sites.filter((s) => s.host === h.name))),
    holds: rows.holds.filter((h) => !h.releasedAt).map(holdView),
  };
}

function imageStatus(t: TargetRow, rows: StatusRows, ranks: number[], thresholds: Thresholds): ImageStatus {
  const matching = rows.holds.filter((h) => h.repository === t.repository && (h.digest === null || h.digest === t.digest));
  const releases = matching.flatMap((h) => (h.releasedAt ? [h.releasedAt] : []));
  const facts: WaveFacts = {
    now: rows.now,
    holds: matching.filter((h) => !h.releasedAt),
    lastRelease: releases.length ? new Date(Math.max(...releases.map((d) => d.getTime()))) : null,
    reports: t.reports,
    sitesByWave: sitesByWave(rows, t.repository),
  };
  const rate = failureRate(facts, thresholds);
  return {
    repository: t.repository,
    digest: t.digest,
    references: t.references,
    firstSeen: t.firstSeen.toISOString(),
    lastSeen: t.lastSeen.toISOString(),
    holds: matching.map(holdView),
    failureRate: { failed: rate.failed, reports: rate.total, over: rate.over },
    waves: ranks.map((rank) => {
      const counts: Record<string, number> = {};
      for (const c of t.counts) if (c.waveRank === rank) counts[c.status] = c.n;
      const v = decide(t, rank === 0 ? 'canary' : rank, facts, thresholds);
      return { wave: waveName(rank), rank, counts, gate: v.admit ? { admit: true, note: v.note } : { admit: false, reason: v.reason } };
    }),
  };
}

function sitesByWave(rows: StatusRows, repository: string): Map<number, number> {
  const rank = new Map(rows.hosts.map((h) => [h.name, h.waveRank]));
  const out = new Map<number, number>();
  for (const s of rows.sites) {
    const r = rank.get(s.host);
    if (s.repository === repository && r !== undefined) out.set(r, (out.get(r) ?? 0) + 1);
  }
  return out;
}

function hostStatus(h: HostRow, sites: SiteRow[]): HostStatus {
  return {
    name: h.name,
    wave: h.wave,
    firstSeen: h.firstSeen.toISOString(),
    lastSeen: h.lastSeen.toISOString(),
    lastRun: h.lastRun && { ...h.lastRun, started: h.lastRun.started.toISOString(), finished: h.lastRun.finished?.toISOString() ?? null },
    sites: sites.map((s) => ({
      container: s.container,
      project: s.project,
      service: s.service,
      image: s.image,
      digest: s.digest,
      imageId: s.imageId,
      result: s.result,
      reason: s.reason,
      seen: s.seen?.toISOString() ?? null,
      last: s.last && {
        id: s.last.id,
        runId: s.last.runId,
        status: s.last.status,
        imageBefore: s.last.imageBefore,
        imageAfter: s.last.imageAfter,
        reason: s.last.reason,
        started: s.last.started.toISOString(),
        finished: s.last.finished?.toISOString() ?? null,
      },
    })),
  };
}

export function holdView(h: HoldRow): HoldView {
  return { ...h, heldAt: h.heldAt.toISOString(), releasedAt: h.releasedAt?.toISOString() ?? null };
}

export function holdText(h: HoldView): string {
  const image = h.digest ? `${h.repository}@${h.digest}` : `${h.repository} (every digest)`;
  const by = h.auto ? 'automatically' : `by ${h.heldBy}`;
  const released = h.releasedAt ? `, released by ${h.releasedBy} at ${utcTime(h.releasedAt)}` : '';
  return `${image} held ${by} at ${utcTime(h.heldAt)}: ${h.reason}${released}`;
}

export function renderFleetStatus(s: FleetStatus): string[] {
  const lines = [`fleet database ${s.database}, ${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'}, at ${utcTime(s.at)}`];
  if (s.holds.length) lines.push('', 'HELD:', ...s.holds.map((h) => `  ${holdText(h)}`));
  if (s.images.length) lines.push('', 'images:');
  for (const i of s.images) {
    const rate = i.failureRate.reports ? `, ${i.failureRate.failed} of ${i.failureRate.reports} reports failed` : '';
    lines.push(`  ${i.repository}@${i.digest}  (${i.references.join(', ')})${i.holds.some((h) => !h.releasedAt) ? '  HELD' : ''}${rate}`);
    lines.push(
      ...table([
        ['WAVE', 'RESULTS', 'NOW'],
        ...i.waves.map((w) => [w.wave, countsText(w.counts), w.gate.admit ? `may take it: ${w.gate.note}` : w.gate.reason]),
      ]).map((l) => `    ${l}`),
    );
  }
  for (const h of s.hosts) {
    const run = h.lastRun ? `last run #${h.lastRun.id} ${h.lastRun.kind} ${h.lastRun.result ?? 'running'} at ${utcTime(h.lastRun.started)}` : 'no run published yet';
    lines.push('', `${h.name} (${h.wave}): ${run}, last seen ${utcTime(h.lastSeen)}`);
    if (!h.sites.length) continue;
    lines.push(
      ...table([
        ['SITE', 'IMAGE', 'LAST', 'WHY'],
        ...h.sites.map((x) => [x.container, x.image ?? x.last?.imageAfter ?? '-', x.last ? `${x.last.status} ${utcTime(x.last.started)}` : (x.result ?? '-'), x.last?.reason ?? x.reason ?? '']),
      ]).map((l) => `  ${l}`),
    );
  }
  return lines;
}

function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([status, n]) => `${n} ${status}`);
  return parts.length ? parts.join(', ') : '-';
}
