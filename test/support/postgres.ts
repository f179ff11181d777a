/**
 * A real PostgreSQL for host tests and benchmarks: Debian's server binaries, a cluster made by
 * initdb in a temp dir (as the unprivileged `postgres` user: initdb refuses root), pg_ctl on a
 * free loopback port with its unix socket in that temp dir. Local socket connections are trusted
 * (the test's admin); TCP on 127.0.0.1 asks for a password (scram-sha-256), as refit hosts meet
 * a real fleet database. The postmaster's PID and the owning test process are recorded in a PID
 * file, so a later run stops a cluster that a killed run left behind: by that PID, never by name.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/registry/testing/local-registry.js';

const PID_DIR = join(tmpdir(), 'refit-test-postgres');
const OWNER = 'postgres';

export interface RunningPostgres {
  port: number;
  /** The unix socket directory (admin connections as `postgres`, trusted). */
  socketDir: string;
  /** A role with a password, reached over TCP on 127.0.0.1 as refit hosts do. */
  role: { user: string; password: string };
  /** postgres://USER@127.0.0.1:PORT/DB: the URL a refit host is configured with (its password comes from a file). */
  url(database: string): string;
  /** Creates a database owned by the role. */
  createDatabase(name: string): Promise<void>;
  /** Runs SQL as the superuser in `database`. */
  admin<T extends pg.QueryResultRow = pg.QueryResultRow>(database: string, sql: string, params?: unknown[]): Promise<T[]>;
  /** Stops the server (a database outage); `start` brings the same cluster back on the same port. */
  pause(): void;
  start(): Promise<void>;
  /** Stops the server and removes the cluster. */
  stop(): void;
}

/** The newest PostgreSQL server on this host (Debian: /usr/lib/postgresql/VERSION/bin). */
export function postgresBin(tool: 'initdb' | 'pg_ctl' | 'postgres'): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL server under ${root}: run \`bash scripts/host-setup.sh\` as root (it installs Debian's postgresql)`);
  return join(root, newest, 'bin', tool);
}

const asOwner = (cmd: string, args: string[], timeout = 60_000) => execFileSync('runuser', ['-u', OWNER, '--', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout }).toString();

/** `settings`: more server settings (`-c NAME=VALUE`), e.g. shared_preload_libraries for a benchmark. */
export async function startPostgres(o: { fsync?: boolean; settings?: Record<string, string> } = {}): Promise<RunningPostgres> {
  sweepPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'refit-pg-'));
  const data = join(dir, 'data');
  const uid = Number(execFileSync('id', ['-u', OWNER]).toString());
  const gid = Number(execFileSync('id', ['-g', OWNER]).toString());
  chownSync(dir, uid, gid);
  const role = { user: 'refit', password: `pw-${process.pid}-${Date.now()}` };
  asOwner(postgresBin('initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const options = ['-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', `fsync=${o.fsync === false ? 'off' : 'on'}`, '-c', 'max_connections=200', ...Object.entries(o.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const pidFile = { path: '' };

  const client = async (database: string) => {
    const c = new pg.Client({ host: dir, port, user: 'postgres', database });
    await c.connect();
    return c;
  };
  const admin = async <T extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []) => {
    const c = await client(database);
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end();
    }
  };
  const start = async () => {
    asOwner(postgresBin('pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', options.join(' '), 'start']);
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    mkdirSync(PID_DIR, { recursive: true });
    pidFile.path = join(PID_DIR, String(postmaster));
    writeFileSync(pidFile.path, JSON.stringify({ owner: process.pid, ownerStart: startTime(process.pid), data, dir }));
  };
  const pause = () => {
    asOwner(postgresBin('pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    rmSync(pidFile.path, { force: true });
  };

  await start();
  await admin('postgres', `CREATE ROLE ${role.user} LOGIN PASSWORD '${role.password}'`);
  return {
    port,
    socketDir: dir,
    role,
    url: (database) => `postgres://${role.user}@127.0.0.1:${port}/${database}`,
    createDatabase: async (name) => {
      await admin('postgres', `CREATE DATABASE "${name}" OWNER ${role.user}`);
    },
    admin,
    pause,
    start,
    stop: () => {
      if (existsSync(join(data, 'postmaster.pid'))) pause();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The start time of a process (field 22 of /proc/PID/stat), or null when it is gone. */
function startTime(pid: number): string | null {
  try {
    return /^\d+ \(.*\) \S(?: \S+){18} (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Stops clusters that killed test runs left behind: only PIDs we recorded, whose owning test process is gone. */
export function sweepPostgres(): void {
  if (!existsSync(PID_DIR)) return;
  for (const name of readdirSync(PID_DIR)) {
    const file = join(PID_DIR, name);
    const rec = JSON.parse(readFileSync(file, 'utf8')) as { owner: number; ownerStart: string | null; data: string; dir: string };
    if (startTime(rec.owner) !== null && startTime(rec.owner) === rec.ownerStart) continue; // its test run is alive
    const pid = Number(name);
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      // gone already
    }
    if (cmdline.includes(rec.data)) {
      process.kill(pid, 'SIGQUIT'); // immediate shutdown of that postmaster and its children
      for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) execFileSync('sleep', ['0.1']);
    }
    rmSync(rec.dir, { recursive: true, force: true });
    rmSync(file, { force: true });
  }
}
