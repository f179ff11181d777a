/**
 * @module maintenance/window
 * The weekly maintenance window: it opens at each time the cron expression names and stays
 * open `windowMinutes`. No container starts its update after it closes (one already running
 * finishes or rolls back).
 */
import { Cron } from 'croner';
import { RefitError } from '../errors.js';

export interface Window {
  start: Date;
  end: Date;
}

export interface Schedule {
  cron: string;
  timezone: string;
  windowMinutes: number;
}

function cronOf(s: Schedule): Cron {
  try {
    return new Cron(s.cron, { timezone: s.timezone, paused: true });
  } catch (err) {
    throw new RefitError('config', `schedule.cron ${JSON.stringify(s.cron)} (timezone ${s.timezone}) is not valid: ${(err as Error).message}`, 'use five cron fields, e.g. "0 3 * * 0"');
  }
}

/** The window open at `now`, if any, else the next one. */
export function windowAt(s: Schedule, now: Date): Window {
  const cron = cronOf(s);
  const length = s.windowMinutes * 60_000;
  // A window opened at most `length` ago may still be open: look for a start in (now - length, now].
  const recent = cron.nextRun(new Date(now.getTime() - length));
  if (recent && recent.getTime() <= now.getTime()) return { start: recent, end: new Date(recent.getTime() + length) };
  const next = cron.nextRun(now);
  if (!next) throw new RefitError('config', `schedule.cron ${JSON.stringify(s.cron)} never fires`, 'use an expression that repeats, e.g. "0 3 * * 0"');
  return { start: next, end: new Date(next.getTime() + length) };
}

export function isOpen(w: Window, now: Date): boolean {
  return now >= w.start && now < w.end;
}

/** Checks the schedule section at start-up, so a bad cron is a config error (exit 2) at once. */
export function validateSchedule(s: Schedule): void {
  windowAt(s, new Date());
}
