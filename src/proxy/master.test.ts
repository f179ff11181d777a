import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { masterOf, masterRecordOf } from './master.js';

// This test process stands in for the proxy master: its command line holds the marker.
const marker = readFileSync('/proc/self/cmdline', 'utf8').split('\0')[0]!;
const dirs: string[] = [];
const pidFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'refit-master-test-'));
  dirs.push(dir);
  return join(dir, 'proxy.pid');
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('masterOf(...).pid', () => {
  it('keeps naming the master while a reload rewrites its pid file (for a moment missing or empty), in this refit process and in one started later', async () => {
    const file = pidFile();
    writeFileSync(file, `${process.pid}\n`);
    expect(masterOf('haproxy', { pid: file, cfg: marker }).pid()).toBe(process.pid);
    writeFileSync(file, '');
    // A refit process that never read the filled pid file (another command, a daemon just started): nothing it holds in memory helps.
    vi.resetModules();
    const { masterOf: masterOfLater } = await import('./master.js');
    const later = masterOfLater('haproxy', { pid: file, cfg: marker });
    expect(later.pid()).toBe(process.pid);
    rmSync(file);
    expect(later.pid()).toBe(process.pid);
    expect(later.require()).toBe(process.pid);
  });

  it('is null for a pid file naming a dead process, and for a blank one nobody saw filled', () => {
    const file = pidFile();
    const master = masterOf('haproxy', { pid: file, cfg: marker });
    const dead = spawnSync('true').pid!;
    writeFileSync(file, `${dead}\n`);
    expect(master.pid()).toBeNull();
    expect(() => master.require()).toThrow(/haproxy is not running/);

    const fresh = pidFile();
    writeFileSync(fresh, '');
    expect(masterOf('haproxy', { pid: fresh, cfg: marker }).pid()).toBeNull();
  });

  it("follows the proxy's pid file once the master refit recorded is gone (a restart)", () => {
    const file = pidFile();
    writeFileSync(masterRecordOf(file), `${spawnSync('true').pid!}\n`);
    writeFileSync(file, `${process.pid}\n`);
    expect(masterOf('haproxy', { pid: file, cfg: marker }).pid()).toBe(process.pid);
    expect(readFileSync(masterRecordOf(file), 'utf8').trim()).toBe(String(process.pid));
  });

  it('is null when the process the pid file names is not the proxy (a reused pid), and records nothing', () => {
    const file = pidFile();
    writeFileSync(file, `${process.pid}\n`);
    expect(masterOf('nginx', { pid: file, cfg: '/nowhere/refit-proxy.cfg' }).pid()).toBeNull();
    expect(existsSync(masterRecordOf(file))).toBe(false);
  });
});
