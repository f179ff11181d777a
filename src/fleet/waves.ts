/**
 * @module fleet/waves
 * The rollout rules, pure: may a host of a given wave take a target image (repository +
 * digest) now, judged from what the fleet database holds about it. The order of the checks is
 * the order an operator reads the reason in:
 *   1. a hold (by an operator, or automatic) stops it in every wave;
 *   2. a failure rate over the threshold, once there are enough reports, stops it and asks for
 *      an automatic hold;
 *   3. the canary takes it;
 *   4. another wave takes it only after the nearest earlier wave that runs the repository has
 *      reported it from enough sites, and the soak time has passed since.
 */
import type { FleetConfig } from '../config/schema.js';

export type Wave = 'canary' | number;
export type Thresholds = FleetConfig['thresholds'];

export interface Target {
  repository: string;
  digest: string;
}

export interface Hold {
  id: number;
  repository: string;
  /** null: every digest of the repository. */
  digest: string | null;
  reason: string;
  auto: boolean;
  heldBy: string;
  heldAt: Date;
}

/** A final result of one site on the target: one report. */
export interface Report {
  host: string;
  container: string;
  waveRank: number;
  status: 'updated' | 'rolled-back' | 'failed';
  finished: Date;
}

export interface WaveFacts {
  holds: Hold[];
  /** The latest release of a hold on this target: failures before it are forgiven. */
  lastRelease: Date | null;
  reports: Report[];
  /** How many sites each wave runs on the target's repository (from the hosts' site versions). */
  sitesByWave: Map<number, number>;
  /** The database's clock: one clock for the whole fleet. */
  now: Date;
}

export type Verdict =
  | { admit: true; note: string }
  | { admit: false; reason: string; /** Set when the failure rate asks for an automatic hold. */ holdReason?: string };

export function waveRank(w: Wave): number {
  return w === 'canary' ? 0 : w;
}

export function waveName(rank: number): string {
  return rank === 0 ? 'canary' : `wave ${rank}`;
}

export function targetText(t: Target): string {
  return `${t.repository}@${t.digest.slice(0, 19)}`;
}

export function decide(target: Target, wave: Wave, f: WaveFacts, t: Thresholds): Verdict {
  const rank = waveRank(wave);
  const hold = f.holds[0];
  if (hold) return { admit: false, reason: `held ${hold.auto ? 'automatically' : `by ${hold.heldBy}`} since ${iso(hold.heldAt)}: ${hold.reason}` };

  const failure = failureRate(f, t);
  if (failure.over) return { admit: false, reason: failure.text, holdReason: failure.text };
  if (rank === 0) return { admit: true, note: `the canary takes ${targetText(target)} first` };

  const earlier = [...f.sitesByWave].filter(([r, n]) => r < rank && n > 0).map(([r]) => r);
  if (!earlier.length) return { admit: true, note: `no earlier wave runs ${target.repository}: ${waveName(rank)} is the first to take it` };
  const prev = Math.max(...earlier);
  const quota = Math.min(t.minReports, f.sitesByWave.get(prev)!);
  const firsts = firstReportPerSite(f.reports.filter((r) => r.waveRank === prev));
  if (firsts.length < quota) {
    return { admit: false, reason: `waiting for ${waveName(prev)}: ${firsts.length} of ${quota} report${quota === 1 ? '' : 's'} of ${targetText(target)} so far` };
  }
  const reportedAt = firsts[quota - 1]!.finished;
  const openAt = new Date(reportedAt.getTime() + t.soakMs);
  if (f.now < openAt) {
    return { admit: false, reason: `soaking: ${waveName(prev)} reported ${targetText(target)} at ${iso(reportedAt)}; ${waveName(rank)} may take it from ${iso(openAt)}` };
  }
  return { admit: true, note: `${waveName(prev)} reported ${targetText(target)} at ${iso(reportedAt)} and it soaked until ${iso(openAt)}` };
}

/** The share of failed reports since the last release, and whether it is over the threshold. */
export function failureRate(f: Pick<WaveFacts, 'reports' | 'lastRelease'>, t: Thresholds): { over: boolean; failed: number; total: number; text: string } {
  const counted = f.reports.filter((r) => !f.lastRelease || r.finished > f.lastRelease);
  const failed = counted.filter((r) => r.status !== 'updated').length;
  const total = counted.length;
  const over = total >= t.minReports && failed / total > t.maxFailureRate;
  const text = `failure rate ${pct(failed / (total || 1))} (${failed} of ${total} report${total === 1 ? '' : 's'}) is over fleet.thresholds.maxFailureRate ${pct(t.maxFailureRate)}`;
  return { over, failed, total, text };
}

/** Each site's first report, oldest first: a site that tried twice counts once. */
function firstReportPerSite(reports: Report[]): Report[] {
  const seen = new Set<string>();
  return [...reports]
    .sort((a, b) => a.finished.getTime() - b.finished.getTime())
    .filter((r) => {
      const key = `${r.host}\u0000${r.container}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

function iso(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
