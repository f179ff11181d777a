/**
 * @module proxy/master
 * What the HAProxy and nginx adapters share about the proxy process refit runs: its master,
 * found by the pid file (checked against the config path, so a reused pid is not mistaken for
 * it), stopping it, and installing a rendered config only after the proxy's own check took it.
 */
import { readFileSync } from 'node:fs';
import { kill } from 'node:process';
import { RefitError } from '../errors.js';
import { aliveAs, livePid, pidFileBlank, processAlive, waitFor } from './process.js';
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
 * The master each pid file last named. HAProxy's master re-executes itself on a reload (same
 * pid) and meanwhile rewrites its pid file (unlinked, created, written): for a moment the file is
 * missing or empty. A maintenance asking then, while another one's change reloads the proxy, must
 * still find the master, so a blank pid file means the master seen last, if it still runs as the proxy.
 */
const lastSeen = new Map<string, number>();

export function masterOf(kind: 'haproxy' | 'nginx', files: { pid: string; cfg: string }): Master {
  const pid = () => {
    const live = livePid(files.pid, files.cfg);
    if (live !== null) lastSeen.set(files.pid, live);
    else {
      const seen = lastSeen.get(files.pid);
      if (seen !== undefined && pidFileBlank(files.pid) && aliveAs(seen, files.cfg)) return seen;
    }
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
 * Writes `text` beside `cfg` as `cfg.next`, lets `check` (the proxy's own config test) vet it,
 * then replaces `cfg`. A rejected config leaves the running proxy and `cfg` untouched.
 * Returns the config the running proxy last loaded (see markLoaded), or null when unknown:
 * the caller compares it with `text` to decide whether a reload is due.
 */
export async function installConfig(cfg: string, text: string, check: (candidate: string) => Promise<unknown>): Promise<{ loaded: string | null }> {
  const candidate = `${cfg}.next`;
  // Root only: the config carries the probe secret.
  writeFileAtomic(candidate, text, 0o600);
  await check(candidate);
  writeFileAtomic(cfg, text, 0o600);
  return { loaded: readOrNull(loadedFile(cfg)) };
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
