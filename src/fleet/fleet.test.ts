/**
 * A host whose fleet database is unreachable: a loopback server that accepts connections and
 * drops them at once, counting them. The gate answers "skip" without failing, a pass's events
 * stay queued, and one failed connection is remembered instead of retried for every site.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fleetSchema } from '../config/schema.js';
import { openJournal, type Journal } from '../journal/journal.js';
import type { Notifier } from '../notify/notifier.js';
import { siteFor } from '../registry/testing/sites.js';
import { openFleet } from './fleet.js';
import { openOutbox } from './outbox.js';

let dir: string;
let journal: Journal;
let server: Server;
let connections = 0;
const logs: { level: number; msg: string }[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(chunk.toString()));
      done();
    },
  }),
);
const notifier: Notifier = { pass() {}, incident() {}, hold() {}, flush: async () => ({ delivered: 0, failed: 0, abandoned: 0 }) };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'refit-fleet-down-'));
  journal = openJournal(dir);
  connections = 0;
  logs.length = 0;
  server = createServer((s: Socket) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
afterEach(async () => {
  journal.close();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function fleet() {
  const port = (server.address() as { port: number }).port;
  const config = fleetSchema.parse({ enabled: true, wave: 'canary', host: 'web-1', database: { url: `postgres://refit@127.0.0.1:${port}/fleet`, passwordEnv: 'REFIT_TEST_FLEET_PASSWORD' }, publishTimeoutMs: 2000 });
  process.env.REFIT_TEST_FLEET_PASSWORD = 'secret-password';
  return openFleet({ config, journalFile: journal.file, logger, notifier, publish: false });
}

describe('a fleet database that cannot be reached', () => {
  it('makes the gate skip the site with the reason, asking the database once for the whole pass', async () => {
    const f = fleet();
    const candidate = { reference: 'reg.example/web:1.1.0', digest: `sha256:${'e'.repeat(64)}` };
    const first = await f.gate.admit(siteFor('shop', 'reg.example/web:1.0.0', 'minor'), candidate);
    expect(first).toEqual({ admit: false, reason: expect.stringMatching(/^fleet: the fleet database postgres:\/\/refit@127\.0\.0\.1:\d+\/fleet cannot be asked \(.+\); reg\.example\/web@sha256:eeeeeeeeeeee waits until it can$/) });
    const tried = connections;
    expect(tried).toBeGreaterThan(0);
    expect(await f.gate.admit(siteFor('blog', 'reg.example/web:1.0.0', 'minor'), candidate)).toEqual(first);
    expect(connections).toBe(tried);
    await f.close();
  });

  it('keeps a pass\'s events queued in the journal, says so, and never shows the password', async () => {
    const f = fleet();
    const run = journal.beginRun('run');
    journal.finishRun(run, 'success');
    f.passFinished({ runId: run, kind: 'run', startedAt: '', finishedAt: '', recovered: [], containers: [], ok: true });
    await f.close();
    const outbox = openOutbox(journal.file);
    expect(outbox.size()).toBe(2);
    outbox.close();
    expect(logs.map((l) => l.msg)).toContainEqual(expect.stringMatching(/^fleet: 2 event\(s\) wait in the outbox for the fleet database/));
    expect(JSON.stringify(logs)).not.toContain('secret-password');
  });

  it('asks for no digest-less image: the fleet rolls out by digest', async () => {
    const f = fleet();
    expect(await f.gate.admit(siteFor('shop', 'reg.example/web:1.0.0', 'minor'), { reference: 'reg.example/web:1.1.0', digest: null })).toEqual({
      admit: false,
      reason: 'fleet: the registry gave no digest for reg.example/web:1.1.0, and the fleet rolls out images by digest',
    });
    expect(connections).toBe(0);
    await f.close();
  });
});
