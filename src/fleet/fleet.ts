/**
 * @module fleet/fleet
 * A host's part in the fleet while a command runs: the gate the pass asks before each
 * maintenance, and the publisher that drains the outbox to PostgreSQL in the background (at
 * start, every few seconds, after each pass, and at exit within `publishTimeoutMs`). The
 * database being unreachable never fails or blocks a pass: the publisher keeps its events
 * queued for later, and the gate answers at once that the site is skipped, because without
 * the database nobody can tell whether the rollout allows it.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { FleetConfig } from '../config/schema.js';
import { oneLine } from '../errors.js';
import type { FleetGate, FleetVerdict } from '../maintenance/pass.js';
import type { PassReport } from '../maintenance/report.js';
import type { Notifier } from '../notify/notifier.js';
import type { HoldNotice } from '../notify/types.js';
import { poolConfig, where } from './connection.js';
import type { SiteVersion } from './events.js';
import { openOutbox, repositoryOf, type Outbox } from './outbox.js';
import { migrateFleet } from './schema.js';
import { holdIfFailing, publishBatch, waveFacts, type HostIdentity, type Queryable } from './store.js';
import { decide, targetText, waveRank, type Hold, type Target, type Wave } from './waves.js';

/** After a failed connection, ask again only after this long (a pass over 50 sites must not wait 50 connect timeouts). */
const RETRY_AFTER_MS = 30_000;
const BATCH = 200;
const TICK_MS = 5_000;

export interface Fleet {
  readonly gate: FleetGate;
  /** Queues the site versions of a finished pass and starts sending. */
  passFinished(report: PassReport): void;
  /** Sends what is queued, waiting at most `timeoutMs`; resolves with how many events still wait. */
  flush(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

export interface FleetOptions {
  config: FleetConfig;
  journalFile: string;
  logger: Logger;
  notifier: Notifier;
  /** Starts the background sending (the CLI's fleet commands only read and write the database). */
  publish?: boolean;
}

/** The connection pool with refit's schema migrated once per process, and an outage remembered. */
export interface FleetDb {
  readonly where: string;
  /** Runs `fn` on one pooled connection (a transaction needs one connection). */
  use<T>(fn: (c: Queryable) => Promise<T>): Promise<T>;
  /** Why the database was unreachable, while the last failure is recent; null when it may be asked. */
  down(): string | null;
  end(): Promise<void>;
}

export function connectFleetDb(config: FleetConfig, logger: Logger): FleetDb {
  const db = config.database!;
  const settings = poolConfig(db);
  const at = where(db);
  // pg is loaded when the database is first used: a host outside a fleet never loads it.
  let pool: Promise<pg.Pool> | null = null;
  const poolOf = () =>
    (pool ??= import('pg').then(({ default: pgModule }) => {
      const p = new pgModule.Pool(settings);
      // An idle connection dies when the server stops: that is an outage, not a crash of refit.
      p.on('error', (err) => logger.debug({ database: at, err: err.message }, 'fleet database connection lost'));
      return p;
    }));
  let migrated: Promise<unknown> | null = null;
  let failure: { reason: string; until: number } | null = null;
  return {
    where: at,
    async use(fn) {
      let client: pg.PoolClient | undefined;
      // The server may end a connection refit holds between two queries (a restart, an
      // administrator): pg then emits 'error' on the client, which would crash refit unheard.
      let lost: Error | null = null;
      const onLost = (err: Error) => {
        lost = err;
        failure = { reason: oneLine(err), until: Date.now() + RETRY_AFTER_MS };
        logger.debug({ database: at, err: err.message }, 'fleet database connection lost');
      };
      const release = (destroy: boolean) => {
        client?.removeListener('error', onLost);
        client?.release(destroy || lost !== null);
      };
      try {
        client = await (await poolOf()).connect();
        client.on('error', onLost);
        const first = client;
        migrated ??= migrateFleet(first, at).catch((err) => {
          migrated = null;
          throw err;
        });
        await migrated;
      } catch (err) {
        failure = { reason: oneLine(err), until: Date.now() + RETRY_AFTER_MS };
        release(true);
        throw err;
      }
      try {
        const out = await fn(client);
        release(false);
        if (!lost) failure = null;
        return out;
      } catch (err) {
        release(true);
        if (isConnectionError(err)) failure = { reason: oneLine(err), until: Date.now() + RETRY_AFTER_MS };
        throw err;
      }
    },
    down: () => (failure && Date.now() < failure.until ? failure.reason : null),
    end: async () => {
      await (await pool)?.end();
    },
  };
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  // Node socket errors, and PostgreSQL's connection_exception and operator_intervention classes.
  return /^E[A-Z]+$/.test(code) || code.startsWith('08') || code.startsWith('57P') || /Connection terminated|timeout/i.test((err as Error).message ?? '');
}

export function openFleet(o: FleetOptions): Fleet {
  const { config, logger, notifier } = o;
  const wave = config.wave as Wave;
  const outbox: Outbox = openOutbox(o.journalFile);
  const identity: HostIdentity = { name: config.host ?? hostname(), wave: String(wave), waveRank: waveRank(wave), journalId: outbox.journalId };
  const db = connectFleetDb(config, logger);
  let draining: Promise<void> | null = null;
  let warned = false;
  // Set by close(): a send abandoned at the bound must not touch the closed journal afterwards.
  let closed = false;

  const notifyHold = (h: Hold) => {
    const notice: HoldNotice = { host: identity.name, at: h.heldAt.toISOString(), repository: h.repository, digest: h.digest, auto: h.auto, by: h.heldBy, reason: h.reason };
    logger.warn({ repository: h.repository, digest: h.digest }, `fleet: held ${h.digest ? `${h.repository}@${h.digest}` : h.repository}: ${h.reason}`);
    notifier.hold(notice);
  };

  const drainOnce = async () => {
    if (db.down()) return;
    try {
      for (let batch = outbox.pending(BATCH); batch.length && !closed; batch = closed ? [] : outbox.pending(BATCH)) {
        await db.use((c) => publishBatch(c, identity, batch));
        if (closed) return; // committed, and sent again next time: the database keeps it once
        outbox.sent(batch.map((e) => e.seq));
        // A failed report may tip its image over the failure threshold: hold it everywhere at once.
        for (const t of failedTargets(batch)) {
          const held = await db.use((c) => holdIfFailing(c, t, config.thresholds, identity.name));
          if (held) notifyHold(held);
        }
      }
      if (warned) logger.info({ database: db.where }, 'fleet: the outbox reached the fleet database again');
      warned = false;
    } catch (err) {
      if (closed) return;
      if (!warned) logger.warn({ database: db.where, queued: outbox.size() }, `fleet: cannot publish to ${db.where} (${oneLine(err)}); ${outbox.size()} event(s) stay queued in the journal and are sent later`);
      warned = true;
    }
  };
  const kick = () => (draining ??= drainOnce().finally(() => (draining = null)));
  const timer = o.publish === false ? null : setInterval(kick, TICK_MS).unref();
  if (timer) void kick();

  const gate: FleetGate = {
    async admit(site, candidate): Promise<FleetVerdict> {
      const repository = repositoryOf(candidate.reference);
      if (!repository || !candidate.digest) {
        return { admit: false, reason: `fleet: the registry gave no digest for ${candidate.reference}, and the fleet rolls out images by digest` };
      }
      const target: Target = { repository, digest: candidate.digest };
      const down = db.down();
      if (down) return unreachable(target, down);
      try {
        const verdict = decide(target, wave, await db.use((c) => waveFacts(c, target)), config.thresholds);
        if (verdict.admit) {
          logger.info({ container: site.name, target: targetText(target) }, `fleet: ${verdict.note}`);
          return { admit: true };
        }
        if (verdict.holdReason) {
          const held = await db.use((c) => holdIfFailing(c, target, config.thresholds, identity.name));
          if (held) notifyHold(held);
        }
        return { admit: false, reason: `fleet: ${verdict.reason}` };
      } catch (err) {
        return unreachable(target, oneLine(err));
      }
    },
  };
  const unreachable = (t: Target, why: string): FleetVerdict => ({
    admit: false,
    reason: `fleet: the fleet database ${db.where} cannot be asked (${why}); ${targetText(t)} waits until it can`,
  });

  return {
    gate,
    passFinished(report) {
      if (report.kind === 'dry-run') return;
      outbox.queueSites(report.runId, siteVersions(report));
      void kick();
    },
    async flush(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(r, timeoutMs, 'timeout')));
      // A drain already in flight may have read the queue before the pass's last writes: go again until it is empty.
      for (let left = outbox.size(), before = Infinity; left && left < before && !db.down(); before = left, left = outbox.size()) {
        if ((await Promise.race([kick(), deadline])) === 'timeout') break;
      }
      clearTimeout(timer);
      return outbox.size();
    },
    async close() {
      if (timer) clearInterval(timer);
      const left = await this.flush(config.publishTimeoutMs);
      if (left) logger.warn({ queued: left }, `fleet: ${left} event(s) wait in the outbox for the fleet database; the next refit run or the daemon sends them`);
      // A send still in flight at the bound is abandoned; its events stay queued.
      await Promise.race([draining, new Promise((r) => setTimeout(r, 1_000).unref())]);
      closed = true;
      await db.end().catch(() => undefined);
      outbox.close();
    },
  };
}

/** The targets of failed or rolled-back maintenances in a batch. */
function failedTargets(batch: ReturnType<Outbox['pending']>): Target[] {
  const out = new Map<string, Target>();
  for (const e of batch) {
    if (e.topic !== 'maintenance') continue;
    const m = e.maintenance;
    if ((m.status === 'rolled-back' || m.status === 'failed') && m.repository && m.digest) out.set(`${m.repository}@${m.digest}`, { repository: m.repository, digest: m.digest });
  }
  return [...out.values()];
}

/** What each site of the pass runs now. */
export function siteVersions(report: PassReport): SiteVersion[] {
  return report.containers.map((r) => {
    const moved = r.result === 'updated' && r.to !== null;
    const image = moved ? r.to!.reference : r.from.reference;
    return {
      container: r.container,
      project: r.project,
      service: r.service,
      image,
      repository: repositoryOf(image),
      imageId: (moved ? r.to!.imageId : r.from.imageId) ?? '',
      digest: moved ? r.to!.digest : null,
      result: r.result,
      reason: r.reason,
    };
  });
}
