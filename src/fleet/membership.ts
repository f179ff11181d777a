/**
 * @module fleet/membership
 * What `refit status` says about the host's place in the fleet: its name and wave, the
 * database, and how many events its outbox still holds for it (more than a handful while the
 * database is reachable means publishing is stuck: see docs/fleet.md).
 */
import { hostname } from 'node:os';
import type { FleetConfig } from '../config/schema.js';
import { where } from './connection.js';

export interface FleetMembership {
  host: string;
  wave: string;
  database: string;
  /** Events in the journal's outbox not yet in the fleet database. */
  queued: number;
}

export function fleetMembership(config: FleetConfig, queued: number): FleetMembership | null {
  if (!config.enabled || !config.database) return null;
  return { host: config.host ?? hostname(), wave: String(config.wave), database: where(config.database), queued };
}

export function renderFleetMembership(f: FleetMembership): string {
  const wave = f.wave === 'canary' ? 'canary' : `wave ${f.wave}`;
  return `fleet: ${f.host} (${wave}) on ${f.database}; ${f.queued ? `${f.queued} event(s) queued for the database` : 'everything published'}`;
}
