import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../journal/schema.js';
import { openJournal, type Journal } from '../journal/journal.js';
import { openOutbox, type Outbox } from './outbox.js';

let dir: string;
let journal: Journal;
let outbox: Outbox;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'refit-outbox-'));
  journal = openJournal(dir);
  outbox = openOutbox(journal.file);
});
afterEach(() => {
  outbox.close();
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

const start = { container: 'shop', project: 'shop', service: 'web', imageBefore: 'reg.example/web:1.0.0', imageAfter: 'reg.example/web:1.1.0' };

describe('the fleet outbox in the journal', () => {
  it('queues every run and maintenance the journal writes, in the same transaction, one pending event each', () => {
    const run = journal.beginRun('run');
    const m = journal.beginMaintenance(run, start);
    journal.stepBegin(m, 'pull');
    journal.finishMaintenance(m, { status: 'updated', reason: 'updated', report: { to: { reference: start.imageAfter, digest: 'sha256:feed' } } });
    journal.finishRun(run, 'success');
    const events = outbox.pending(10);
    expect(events.map((e) => e.topic)).toEqual(['maintenance', 'run']);
    expect(events[0]).toMatchObject({ topic: 'maintenance', maintenance: { id: m, runId: run, status: 'updated', repository: 'reg.example/web', digest: 'sha256:feed' } });
    expect(events[1]).toMatchObject({ topic: 'run', run: { id: run, result: 'success' } });
  });

  it('keeps a change made while a send was in flight queued', () => {
    const run = journal.beginRun('run');
    const inFlight = outbox.pending(10);
    journal.finishRun(run, 'failed');
    outbox.sent(inFlight.map((e) => e.seq));
    expect(outbox.pending(10)).toEqual([expect.objectContaining({ topic: 'run', run: expect.objectContaining({ result: 'failed' }) })]);
    expect(outbox.pending(10)[0]!.seq).toBeGreaterThan(inFlight[0]!.seq);
  });

  it('queues the site versions of a pass, once per run', () => {
    const run = journal.beginRun('run');
    outbox.sent(outbox.pending(10).map((e) => e.seq));
    const site = { container: 'shop', project: 'shop', service: 'web', image: 'reg.example/web:1.1.0', repository: 'reg.example/web', imageId: 'sha256:1', digest: null, result: 'current', reason: 'current' };
    outbox.queueSites(run, [site]);
    outbox.queueSites(run, [{ ...site, result: 'updated' }]);
    expect(outbox.pending(10)).toEqual([expect.objectContaining({ topic: 'sites', runId: run, sites: [expect.objectContaining({ result: 'updated' })] })]);
  });

  it('has a stable identity per journal', () => {
    const again = openOutbox(journal.file);
    expect(again.journalId).toBe(outbox.journalId);
    again.close();
    const other = mkdtempSync(join(tmpdir(), 'refit-outbox-'));
    const j2 = openJournal(other);
    const o2 = openOutbox(j2.file);
    expect(o2.journalId).toMatch(/^[0-9a-f]{32}$/);
    expect(o2.journalId).not.toBe(outbox.journalId);
    o2.close();
    j2.close();
    rmSync(other, { recursive: true, force: true });
  });

  it('queues what a journal held before it had an outbox, when it is migrated', () => {
    const old = mkdtempSync(join(tmpdir(), 'refit-outbox-v1-'));
    // The journal as the first refit wrote it: schema version 1, no outbox.
    const db = new Database(join(old, 'journal.db'));
    db.exec(MIGRATIONS[0]!);
    db.exec(`INSERT INTO runs (kind, pid, started) VALUES ('run', 1, '2026-01-04T03:00:00.000Z');
             INSERT INTO maintenances (run_id, container, project, service, image_before, image_after, status, started)
             VALUES (1, '${start.container}', '${start.project}', '${start.service}', '${start.imageBefore}', '${start.imageAfter}', 'in-progress', '2026-01-04T03:00:01.000Z');
             PRAGMA user_version = 1`);
    db.close();
    const migrated = openJournal(old);
    const o = openOutbox(migrated.file);
    expect(o.pending(10).map((e) => e.topic)).toEqual(['run', 'maintenance']);
    o.close();
    migrated.close();
    rmSync(old, { recursive: true, force: true });
  });
});
