/**
 * @module cli/commands/fleet
 * `refit fleet status|history|hold|release`: the fleet database (docs/fleet.md) as operators
 * read and steer it, from any host configured with `fleet.database`.
 */
import { hostname, userInfo } from 'node:os';
import { Command } from 'commander';
import type { RefitConfig } from '../../config/schema.js';
import { RefitError } from '../../errors.js';
import { connectFleetDb, type FleetDb } from '../../fleet/fleet.js';
import { fleetHistory, renderFleetHistory } from '../../fleet/history.js';
import { parseImageArg } from '../../fleet/image.js';
import { historyRows, statusRows } from '../../fleet/read.js';
import { fleetStatus, holdText, holdView, renderFleetStatus } from '../../fleet/status.js';
import { hold, release } from '../../fleet/store.js';
import { createLogger } from '../../log/logger.js';
import { createNotifier } from '../../notify/notifier.js';
import { contextOf } from '../context.js';
import { printJson, printLines } from '../output.js';
import { parseSince } from './history.js';

export function fleetCommand(): Command {
  const fleet = new Command('fleet')
    .description('the fleet database: rollouts by wave across hosts, one history, holds (docs/fleet.md)')
    .addHelpText('after', '\nExamples:\n  refit fleet status\n  refit fleet hold registry.example/web --reason "500s on the canary"\n  refit fleet history --host web-03 --since 7d');
  fleet
    .command('status')
    .description('per image, per wave, per host and per site: versions, results, reasons, holds, and what each wave may take now')
    .option('--images <n>', 'the newest N images', '20')
    .option('--json', 'print the status as JSON (shape in docs/fleet.md)')
    .addHelpText('after', '\nExamples:\n  refit fleet status\n  refit fleet status --json | jq \'.images[] | {repository, digest, waves: [.waves[] | {wave, gate}]}\'')
    .action((opts: { images: string }, cmd: Command) =>
      withDb(cmd, async (db, config, json) => {
        const status = fleetStatus(await db.use((c) => statusRows(c, { images: count('--images', opts.images) })), config.fleet.thresholds, db.where);
        if (json) printJson(status);
        else printLines(renderFleetStatus(status));
      }),
    );
  fleet
    .command('history')
    .description('every host\'s maintenances, newest first, and the holds')
    .option('--host <name>', 'only this host')
    .option('--container <name>', 'only this container')
    .option('--image <image>', 'only this repository, or one image REPO@DIGEST')
    .option('--since <when>', 'only since: an ISO date or date-time, or 7d, 12h, 30m')
    .option('--limit <n>', 'at most this many maintenances', '100')
    .option('--json', 'print { maintenances, holds } as JSON')
    .addHelpText('after', '\nExamples:\n  refit fleet history --since 7d\n  refit fleet history --image registry.example/web --json | jq -r \'.maintenances[] | select(.status != "updated") | "\\(.host) \\(.container): \\(.reason)"\'')
    .action((opts: { host?: string; container?: string; image?: string; since?: string; limit: string }, cmd: Command) =>
      withDb(cmd, async (db, _config, json) => {
        const image = opts.image ? parseImageArg(opts.image) : null;
        const filter = {
          host: opts.host,
          container: opts.container,
          repository: image?.repository,
          digest: image?.digest,
          since: opts.since === undefined ? undefined : parseSince(opts.since, new Date()),
          limit: count('--limit', opts.limit),
        };
        const history = fleetHistory(await db.use((c) => historyRows(c, filter)));
        if (json) printJson(history);
        else printLines(renderFleetHistory(history));
      }),
    );
  fleet
    .command('hold')
    .description('stop a rollout everywhere: no host takes the image (or any digest of the repository) until it is released')
    .argument('<image>', 'a repository (registry.example/web) or one image (registry.example/web@sha256:…)')
    .option('--reason <text>', 'why, for everyone who sees it skipped', 'held by an operator')
    .option('--json', 'print the hold as JSON')
    .addHelpText('after', '\nExamples:\n  refit fleet hold registry.example/web --reason "checkout broken on web-01"\n  refit fleet hold registry.example/web@sha256:4f1c… --reason "bad build"')
    .action((arg: string, opts: { reason: string }, cmd: Command) =>
      withDb(cmd, async (db, config, json) => {
        const image = parseImageArg(arg);
        const by = operator(config);
        const held = await db.use((c) => hold(c, { ...image, reason: opts.reason, by }));
        if (held) {
          const notifier = createNotifier({ ...config.notify, logger: createLogger({}) });
          notifier.hold({ host: fleetHost(config), at: held.heldAt.toISOString(), repository: held.repository, digest: held.digest, auto: false, by, reason: held.reason });
          await notifier.flush(config.notify.deadlineMs);
        }
        const view = held && holdView({ ...held, releasedBy: null, releasedAt: null });
        if (json) printJson({ held: view });
        else printLines([view ? holdText(view) : `${arg} is held already (refit fleet status shows by whom and why)`]);
      }),
    );
  fleet
    .command('release')
    .description('resume a rollout: release the holds on the image (a repository: every hold on it); failures before now no longer count')
    .argument('<image>', 'a repository or one image REPO@DIGEST')
    .option('--json', 'print the released holds as JSON')
    .addHelpText('after', '\nExamples:\n  refit fleet release registry.example/web\n  refit fleet release registry.example/web@sha256:4f1c…')
    .action((arg: string, _opts, cmd: Command) =>
      withDb(cmd, async (db, config, json) => {
        const released = await db.use((c) => release(c, { ...parseImageArg(arg), by: operator(config) }));
        const views = released.map((h) => holdView({ ...h, releasedBy: operator(config), releasedAt: new Date() }));
        if (json) printJson({ released: views });
        else printLines(views.length ? views.map(holdText) : [`nothing holds ${arg}`]);
      }),
    );
  return fleet;
}

async function withDb(cmd: Command, fn: (db: FleetDb, config: RefitConfig, json: boolean) => Promise<void>): Promise<void> {
  const ctx = contextOf(cmd);
  if (!ctx.config.fleet.database) {
    throw new RefitError('config', `fleet.database is not set in ${ctx.config.source ?? 'the configuration'}`, 'see docs/fleet.md: fleet.database.url and passwordFile or passwordEnv');
  }
  const db = connectFleetDb(ctx.config.fleet, createLogger({}));
  try {
    await fn(db, ctx.config, ctx.json);
  } catch (err) {
    if (err instanceof RefitError) throw err;
    throw new RefitError('journal', `the fleet database ${db.where}: ${(err as Error).message}`, 'is it up, and do fleet.database.url and its password let this host in?', { cause: err });
  } finally {
    await db.end();
  }
}

function count(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RefitError('usage', `${flag} ${JSON.stringify(value)} must be a whole number from 1`);
  return n;
}

function fleetHost(config: RefitConfig): string {
  return config.fleet.host ?? hostname();
}

/** `alice@web-3`: who held or released, as everyone in the fleet will read it. */
function operator(config: RefitConfig): string {
  return `${process.env.SUDO_USER ?? userInfo().username}@${fleetHost(config)}`;
}
