/**
 * The shipped systemd units pass `systemd-analyze verify` exactly as shipped. verify checks
 * that ExecStart's program exists and is executable, so the units are verified inside a
 * throwaway root laid out as after `npm install -g` (/usr/local/bin/refit -> the package's
 * dist/cli/main.js) with the host's own system units (docker.service, the targets), rather
 * than by editing the path in the files or touching the host's /usr/local/bin.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/refit-cli.js';

const UNITS = ['refit.service', 'refit-run.service', 'refit-run.timer'];
const unitDir = join(REPO_ROOT, 'packaging', 'systemd');
let root: string;

beforeAll(() => {
  const cli = join(REPO_ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  root = mkdtempSync(join(tmpdir(), 'refit-systemd-'));
  cpSync(realpathSync('/lib/systemd/system'), join(root, 'usr/lib/systemd/system'), { recursive: true });
  symlinkSync('usr/lib', join(root, 'lib'));
  const pkg = join(root, 'usr/local/lib/node_modules/refit');
  cpSync(join(REPO_ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
  chmodSync(join(pkg, 'dist/cli/main.js'), 0o755);
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
  symlinkSync('../lib/node_modules/refit/dist/cli/main.js', join(root, 'usr/local/bin/refit'));
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  for (const unit of UNITS) cpSync(join(unitDir, unit), join(root, 'etc/systemd/system', unit));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function verify(...units: string[]): { status: number | null; output: string } {
  const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...units.map((u) => `/etc/systemd/system/${u}`)], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('systemd units', () => {
  it('verify cleanly, with no warning, as shipped', () => {
    expect(verify(...UNITS)).toEqual({ status: 0, output: '' });
  });

  it('are checked for real: a unit whose program is missing fails verify', () => {
    const broken = readFileSync(join(unitDir, 'refit.service'), 'utf8').replace('/usr/local/bin/refit', '/usr/local/bin/refit-missing');
    writeFileSync(join(root, 'etc/systemd/system/refit-broken.service'), broken);
    const r = verify('refit-broken.service');
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('refit-missing');
  });

  it('leave the reverse proxy running when refit stops, and keep its runtime dir', () => {
    for (const unit of ['refit.service', 'refit-run.service']) {
      const text = readFileSync(join(unitDir, unit), 'utf8');
      expect(text).toMatch(/^KillMode=process$/m);
      expect(text).toMatch(/^RuntimeDirectoryPreserve=yes$/m);
      expect(text).toMatch(/^After=docker\.service/m);
    }
  });

  it('start the daemon at boot, after Docker, and keep it running across a Docker restart', () => {
    const text = readFileSync(join(unitDir, 'refit.service'), 'utf8');
    expect(text).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(text).toMatch(/^Wants=docker\.service/m);
    expect(text).not.toMatch(/^(Requires|BindsTo|PartOf)=.*docker/m);
    expect(text).toMatch(/^Restart=on-failure$/m);
  });
});
