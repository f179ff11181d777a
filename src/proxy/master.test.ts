import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { masterOf } from './master.js';

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
  it('keeps naming the master while a reload rewrites its pid file (for a moment missing or empty)', () => {
    const file = pidFile();
    const master = masterOf('haproxy', { pid: file, cfg: marker });
    writeFileSync(file, `${process.pid}\n`);
    expect(master.pid()).toBe(process.pid);
    writeFileSync(file, '');
    expect(master.pid()).toBe(process.pid);
    rmSync(file);
    expect(master.pid()).toBe(process.pid);
    expect(master.require()).toBe(process.pid);
  });

  it('is null for a pid file naming a dead process, and for a blank one it never saw filled', () => {
    const file = pidFile();
    const master = masterOf('haproxy', { pid: file, cfg: marker });
    writeFileSync(file, `${process.pid}\n`);
    expect(master.pid()).toBe(process.pid);
    const dead = spawnSync('true').pid!;
    writeFileSync(file, `${dead}\n`);
    expect(master.pid()).toBeNull();
    expect(() => master.require()).toThrow(/haproxy is not running/);

    const fresh = pidFile();
    writeFileSync(fresh, '');
    expect(masterOf('haproxy', { pid: fresh, cfg: marker }).pid()).toBeNull();
  });

  it('is null when the process the pid file names is not the proxy (a reused pid)', () => {
    const file = pidFile();
    writeFileSync(file, `${process.pid}\n`);
    expect(masterOf('nginx', { pid: file, cfg: '/nowhere/refit-proxy.cfg' }).pid()).toBeNull();
  });
});
