import { describe, expect, it } from 'vitest';
import { parseImageArg } from './image.js';
import { poolConfig, where } from './connection.js';
import { fleetMembership, renderFleetMembership } from './membership.js';
import { fleetSchema } from '../config/schema.js';

describe('IMAGE[@DIGEST] arguments', () => {
  it('take a repository or one image by digest, as the fleet keys them', () => {
    expect(parseImageArg('registry.example/web')).toEqual({ repository: 'registry.example/web', digest: null });
    expect(parseImageArg(`127.0.0.1:5000/web@sha256:${'c'.repeat(64)}`)).toEqual({ repository: '127.0.0.1:5000/web', digest: `sha256:${'c'.repeat(64)}` });
    expect(parseImageArg('nginx')).toEqual({ repository: 'docker.io/library/nginx', digest: null });
  });

  it('refuse a tag, which can move, naming what to give instead', () => {
    expect(() => parseImageArg('registry.example/web:1.1.0')).toThrow('registry.example/web:1.1.0 names a tag, which can move');
    expect(() => parseImageArg('Not A Ref')).toThrow(/image reference/);
  });
});

describe('the fleet database connection', () => {
  const db = { url: 'postgres://refit@db.example:6432/fleet?sslmode=require', passwordFile: '/etc/refit/fleet-password', connectTimeoutMs: 5000, statementTimeoutMs: 10000 };

  it('reads the password from its file when connecting, and never shows it', () => {
    const c = poolConfig(db, {}, (p) => (p === db.passwordFile ? 's3cret\nignored\n' : ''));
    expect(c).toMatchObject({ host: 'db.example', port: 6432, user: 'refit', database: 'fleet', password: 's3cret', ssl: { rejectUnauthorized: false }, statement_timeout: 10000 });
    expect(where(db)).toBe('postgres://refit@db.example:6432/fleet');
  });

  it('takes the password from the environment variable named', () => {
    const env = { ...db, passwordFile: undefined, passwordEnv: 'FLEET_PW' };
    expect(poolConfig(env, { FLEET_PW: 'x' }).password).toBe('x');
    expect(() => poolConfig(env, {})).toThrow('fleet.database.passwordEnv names FLEET_PW, which is not set');
    expect(() => poolConfig(db, {}, () => { throw Object.assign(new Error('no'), { code: 'EACCES' }); })).toThrow('fleet.database.passwordFile /etc/refit/fleet-password: cannot read it (EACCES)');
  });
});

describe('refit status about the fleet', () => {
  it('names the host, its wave, the database and what waits in the outbox', () => {
    const config = fleetSchema.parse({ enabled: true, database: { url: 'postgres://refit@db/fleet' }, host: 'web-3', wave: 2 });
    expect(renderFleetMembership(fleetMembership(config, 3)!)).toBe('fleet: web-3 (wave 2) on postgres://refit@db/fleet; 3 event(s) queued for the database');
    expect(renderFleetMembership(fleetMembership({ ...config, wave: 'canary' }, 0)!)).toBe('fleet: web-3 (canary) on postgres://refit@db/fleet; everything published');
    expect(fleetMembership(fleetSchema.parse({}), 0)).toBeNull();
  });
});
