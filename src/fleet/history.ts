/**
 * @module fleet/history
 * `refit fleet history`, pure: every host's maintenances, newest first, as each host's own
 * `refit history` has them (same ids, statuses, images, reasons and times), with the host and
 * its wave and the image's repository and digest; and the holds taken and released.
 */
import { utcTime } from '../report/text.js';
import type { HoldRow, MaintenanceRow } from './read.js';
import { holdText, holdView, type HoldView } from './status.js';

/** A maintenance as `refit history --json` has it (same fields), plus its host, wave and target. */
export type FleetHistoryEntry = Omit<MaintenanceRow, 'started' | 'finished'> & {
  /** The image it was left on, as `refit history` says (null when failed or in progress). */
  endedOn: string | null;
  started: string;
  finished: string | null;
};

export interface FleetHistory {
  maintenances: FleetHistoryEntry[];
  holds: HoldView[];
}

export function fleetHistory(rows: { maintenances: MaintenanceRow[]; holds: HoldRow[] }): FleetHistory {
  return {
    maintenances: rows.maintenances.map((m) => ({
      ...m,
      endedOn: m.status === 'updated' ? m.imageAfter : m.status === 'rolled-back' || m.status === 'skipped' ? m.imageBefore : null,
      started: new Date(m.started).toISOString(),
      finished: m.finished ? new Date(m.finished).toISOString() : null,
    })),
    holds: rows.holds.map(holdView),
  };
}

const MARK: Record<string, string> = { updated: 'updated', skipped: 'skipped', 'rolled-back': 'ROLLED BACK', failed: 'FAILED', 'in-progress': 'IN PROGRESS' };

export function renderFleetHistory(h: FleetHistory): string[] {
  const lines: string[] = [];
  if (!h.maintenances.length) lines.push('no maintenance in the fleet database matches');
  for (const m of h.maintenances) {
    const to = m.imageAfter && m.imageAfter !== m.imageBefore ? ` -> ${m.imageAfter}` : '';
    lines.push(`${utcTime(m.started)}  ${m.host} (${m.wave}) run #${m.runId}  ${MARK[m.status] ?? m.status}  ${m.container}  ${m.imageBefore}${to}`);
    if (m.status !== 'updated' && m.reason) lines.push(`    ${m.reason}`);
  }
  if (h.holds.length) lines.push('', 'holds:', ...h.holds.map((x) => `  ${holdText(x)}`));
  return lines;
}
