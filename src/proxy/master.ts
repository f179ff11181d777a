/**
 * @module proxy/master
 * What the HAProxy and nginx adapters share about the proxy process refit runs: its master,
 * found by the pid file (checked against the config path, so a reused pid is not mistaken for
 * it), stopping it, and installing a rendered config only after the proxy's own check took it.
 */
import { readFileSync } from 'node:fs';
import { kill } from 'node:process';
import { RefitError } from '../errors.js';
import { livePid, processAlive, waitFor } from './process.js';
import { writeFileAtomic } from './state-file.js';

const STOP_TIMEOUT_MS = 10_000;

export interface Master {
  /** The live master's pid, or null when it is not running. */
  pid(): number | null;
  /** The live master's pid, or a RefitError saying how to start it. */
  require(): number;
  /** SIGTERM and wait until it is gone; a no-op when it is not running. */
  stop(): Promise<void>;
}

/**
 * The master's pid as refit last found it, kept beside the proxy's pid file. HAProxy's master
 * re-executes itself on a reload (same pid) and meanwhile rewrites its pid file (unlinked,
 * created, written): for a moment the file is missing or empty, and a refit process reading
 * it then (a drain while another maintenance's change reloads) would find no proxy. refit's own
 * copy is replaced by rename, so it is never blank; it counts only while that pid still runs
 * as this proxy (the config path on its command line), else the proxy's pid file decides.
 */
export const masterRecordOf = (pidFile: string) => `${pidFile}.master`;

export function masterOf(kind: 'haproxy' | 'nginx', files: { pid: string; cfg: string }): Master {
  const record = masterRecordOf(files.pid);
  const pid = () => {
    const recorded = livePid(record, files.cfg);
    if (recorded !== null) return recorded;
    const live = livePid(files.pid, files.cfg);
    if (live !== null) writeFileAtomic(record, `${live}\n`, 0o644);
    return live;
  };
  return {
    pid,
    require() {
      const p = pid();
      if (p === null) throw new RefitError('proxy', `${kind} is not running (no live process in ${files.pid})`, 'run `refit proxy sync` to start it');
      return p;
    },
    async stop() {
      const p = pid();
      if (p === null) return;
      kill(p, 'SIGTERM');
      const gone = await waitFor(() => (processAlive(p) ? undefined : true), STOP_TIMEOUT_MS);
      if (!gone) throw new RefitError('proxy', `${kind} master ${p} did not stop after SIGTERM`, `kill -KILL ${p}`);
    },
  };
}

/**
 * Installs `text` as the proxy's config file `cfg`, and says whether the running proxy must
 * load it. A config it takes as it runs (`asRunning` holds for the config it last loaded, see
 * markLoaded: the same, or changed only where the proxy is changed at runtime) is written at
 * once: each check is a whole proxy start-up, certificates included. Any other is first written
 * beside `cfg` as `cfg.next` and vetted by `check` (the proxy's own config test): a rejected
 * config leaves the running proxy and `cfg` untouched.
 */
export async function installConfig(cfg: string, text: string, check: (candidate: string) => Promise<unknown>, asRunning: (loaded: string) => boolean): Promise<{ load: boolean }> {
  const loaded = readOrNull(loadedFile(cfg));
  // Every file is root's only (0600): the config carries the probe secret.
  if (loaded !== null && asRunning(loaded)) {
    writeFileAtomic(cfg, text, 0o600);
    return { load: false };
  }
  const candidate = `${cfg}.next`;
  writeFileAtomic(candidate, text, 0o600);
  await check(candidate);
  writeFileAtomic(cfg, text, 0o600);
  return { load: true };
}

/** After a start or reload took `cfg`: remembers it as what the running proxy has loaded. */
export function markLoaded(cfg: string): void {
  writeFileAtomic(loadedFile(cfg), readOrNull(cfg) ?? '', 0o600);
}

const loadedFile = (cfg: string) => `${cfg}.loaded`;

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
