/**
 * @module fleet/connection
 * How refit reaches the fleet database: the URL from refit.yml (never with a password in it),
 * the password from a file or an environment variable, read when connecting and never logged.
 * `where()` is how logs and errors name the database.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { RefitError } from '../errors.js';
import type { FleetConfig } from '../config/schema.js';

export type DatabaseConfig = NonNullable<FleetConfig['database']>;

/** `postgres://refit@db.example:5432/refit`: the URL as logs may show it (it has no password). */
export function where(db: Pick<DatabaseConfig, 'url'>): string {
  const u = new URL(db.url);
  u.password = '';
  u.search = '';
  return u.toString();
}

/** The pg pool settings for `db`; `env` and `readFile` are injected for tests. */
export function poolConfig(db: DatabaseConfig, env: NodeJS.ProcessEnv = process.env, readFile = (p: string) => readFileSync(p, 'utf8')): pg.PoolConfig {
  const u = new URL(db.url);
  const sslmode = u.searchParams.get('sslmode');
  return {
    host: decodeURIComponent(u.hostname.replace(/^\[(.*)\]$/, '$1')) || 'localhost',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || undefined,
    database: decodeURIComponent(u.pathname.slice(1)) || undefined,
    password: password(db, env, readFile),
    ssl: sslmode === 'require' ? { rejectUnauthorized: false } : sslmode === 'verify-full' ? { rejectUnauthorized: true } : undefined,
    connectionTimeoutMillis: db.connectTimeoutMs,
    statement_timeout: db.statementTimeoutMs,
    query_timeout: db.statementTimeoutMs + 1_000,
    application_name: 'refit',
    max: 4,
    idleTimeoutMillis: 10_000,
  };
}

function password(db: DatabaseConfig, env: NodeJS.ProcessEnv, readFile: (p: string) => string): string | undefined {
  if (db.passwordEnv) {
    const value = env[db.passwordEnv];
    if (value === undefined) throw new RefitError('config', `fleet.database.passwordEnv names ${db.passwordEnv}, which is not set`, `set ${db.passwordEnv} in refit's environment (e.g. a systemd drop-in with EnvironmentFile=)`);
    return value;
  }
  if (!db.passwordFile) return undefined;
  try {
    return readFile(db.passwordFile).split('\n')[0]!;
  } catch (err) {
    throw new RefitError('config', `fleet.database.passwordFile ${db.passwordFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'write the password on its first line, mode 0600');
  }
}
