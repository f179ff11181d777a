import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RefitError } from '../errors.js';
import { loadConfig, parseConfigText } from './load.js';

function configError(text: string): string {
  try {
    parseConfigText(text, '/etc/refit/refit.yml');
  } catch (err) {
    expect(err).toBeInstanceOf(RefitError);
    expect((err as RefitError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a config error');
}

describe('host configuration', () => {
  it('has documented defaults for an empty file', () => {
    const c = parseConfigText('');
    expect(c.health.attempts).toBe(10);
    expect(c.health.intervalMs).toBe(1000);
    expect(c.health.path).toBe('/refit/health');
    expect(c.images.labels).toEqual(['refit.web=true']);
    expect(c.proxy.type).toBe('haproxy');
    expect(c.stateDir).toBe('/var/lib/refit');
    expect(c.maintenance.watch).toEqual({ window: 'off', windowMs: 0, minRequests: 100, maxIncrease: 0.05, intervalMs: 2000 });
  });

  it('takes maintenance.watch as a window alone or with its thresholds', () => {
    expect(parseConfigText('maintenance: { watch: 10m }').maintenance.watch).toMatchObject({ windowMs: 600_000, minRequests: 100 });
    expect(parseConfigText('maintenance: { watch: { window: 1h30m, minRequests: 50, maxIncrease: 0.1 } }').maintenance.watch).toMatchObject({ windowMs: 5_400_000, minRequests: 50, maxIncrease: 0.1 });
    expect(configError('maintenance: { watch: soon }')).toBe('config /etc/refit/refit.yml: maintenance.watch.window: must be a duration such as 10m or 1h, or off');
    expect(configError('maintenance: { watch: { window: 10m, maxIncrease: 2 } }')).toMatch(/maintenance\.watch\.maxIncrease: /);
  });

  it('names the key and the problem on one line', () => {
    const msg = configError('health:\n  attempts: ten\n');
    expect(msg).toMatch(/health\.attempts/);
    expect(msg).not.toMatch(/\n/);
    expect(configError('proxy:\n  type: traefik\n')).toMatch(/proxy\.type/);
    expect(configError('stateDir: relative/dir\n')).toMatch(/stateDir: must be an absolute path/);
  });

  it('rejects unknown keys and says where to look', () => {
    expect(configError('helth:\n  attempts: 3\n')).toMatch(/unknown key helth/);
    expect(configError('health:\n  atempts: 3\n')).toMatch(/unknown key health\.atempts/);
  });

  it('rejects YAML that does not parse, with its line', () => {
    expect(configError('health: [\n  attempts: 3\n')).toMatch(/not valid YAML/);
    expect(configError('- a\n- b\n')).toMatch(/top level must be a mapping/);
  });

  it('uses defaults when the default file is absent but fails when an explicit file is', () => {
    expect(() => loadConfig({ flag: '/nonexistent/refit.yml' })).toThrow(/cannot read it \(ENOENT\)/);
    const dir = mkdtempSync(join(tmpdir(), 'refit-config-'));
    writeFileSync(join(dir, 'refit.yml'), 'health:\n  attempts: 3\n');
    expect(loadConfig({ env: { REFIT_CONFIG: join(dir, 'refit.yml') } }).health.attempts).toBe(3);
  });

  it('has the fleet off by default, and asks for what it needs when it is on', () => {
    expect(parseConfigText('').fleet).toMatchObject({ enabled: false, thresholds: { maxFailureRate: 0.1, soakMs: 3_600_000, minReports: 1 } });
    const on = 'fleet:\n  enabled: true\n';
    expect(configError(on)).toMatch(/fleet\.database: is required when fleet\.enabled is true/);
    expect(configError(`${on}  database: { url: "postgres://refit@db/fleet" }\n`)).toMatch(/fleet\.wave: is required when fleet\.enabled is true: canary or a wave number/);
    expect(configError(`${on}  wave: 0\n  database: { url: "postgres://refit@db/fleet" }\n`)).toMatch(/fleet\.wave: must be canary or a wave number/);
    expect(configError(`${on}  wave: 1\n  database: { url: "postgres://refit:pw@db/fleet" }\n`)).toMatch(/fleet\.database\.url: must not carry a password: put it in fleet\.database\.passwordFile or passwordEnv/);
    expect(configError(`${on}  wave: 1\n  database: { url: "mysql://db/fleet" }\n`)).toMatch(/fleet\.database\.url: must be a postgres:\/\/ URL/);
    const ok = parseConfigText(`${on}  wave: 2\n  host: web-3\n  database: { url: "postgres://refit@db/fleet", passwordEnv: FLEET_PW }\n  thresholds: { soakMs: 60000 }\n`);
    expect(ok.fleet).toMatchObject({ enabled: true, wave: 2, host: 'web-3', thresholds: { soakMs: 60000, minReports: 1 } });
  });
});
