/**
 * @module proxy/nginx/nginx
 * The nginx adapter: two nginx masters refit starts and keeps (see render.ts for why), the
 * edge (clients, TLS) and the router (sites, servers). nginx has no runtime API for upstreams,
 * so a server change is a new router config (checked by `nginx -t`) and a graceful router
 * reload. Draining = the server leaves its upstream, the router reloads, and the old router
 * workers, which still carry the server's in-flight requests, are watched in /proc until they
 * have exited.
 */
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { kill } from 'node:process';
import type { NginxConfig, ProxyConfig } from '../../config/schema.js';
import { RefitError } from '../../errors.js';
import { processStartTime } from '../../journal/lock.js';
import { certCovering, loadCerts } from '../certs.js';
import { installConfig, markLoaded, masterOf } from '../master.js';
import { probeAddress, probeToken } from '../probe.js';
import { childPids, commandLine, exclusiveProxy, processAlive, runTool, waitFor } from '../process.js';
import { readState, writeFileAtomic, writeState } from '../state-file.js';
import { applySites, findServer, requireSite, withFlag, withoutServer, withServer, type ProxyState } from '../state.js';
import type { ApplyOptions, DrainOptions, DrainResult, Listener, ProbeRoute, ProxyAdapter, ProxySite, ServerCounters, Upstream, UpstreamState } from '../types.js';
import { countLog, type LogTally } from './access-log.js';
import { gracefulReload } from './reload.js';
import { PROBE_HEADER, PROBE_SERVER_HEADER, renderEdge, renderRouter, routerSocket, SERVED_BY_HEADER, tierFiles, watchLog, watchLogDir, type NginxRenderInput } from './render.js';

/**
 * The `proxy.nginx` section plus the proxy-wide server timeout. `edge: false` runs the router
 * alone, behind the operator's own proxy (nginx-guest and caddy in mode router), whose workers
 * reach its socket through `socketGroup`.
 */
export type NginxOptions = NginxConfig & Pick<ProxyConfig, 'serverTimeoutMs'> & { edge?: boolean; socketGroup?: string };

const START_TIMEOUT_MS = 10_000;
const ORPHAN_QUIT_MS = 10_000;
const POLL_MS = 100;
/** How much of a site's log one read takes in at a time. */
const LOG_CHUNK = 1 << 20;

type TierName = 'edge' | 'router';

export function nginxProxy(o: NginxOptions): ProxyAdapter {
  const prefix = `${o.runDir.replace(/\/+$/, '')}/`;
  const stateFile = join(o.runDir, 'state.json');
  const exclusive = exclusiveProxy(join(o.runDir, 'proxy.lock'), 'refit: nginx change');
  const user = process.getuid?.() === 0 ? o.user : null;
  const tiers = { router: tier('router', renderRouter), edge: tier('edge', renderEdge) };
  const running: TierName[] = o.edge === false ? ['router'] : ['router', 'edge'];
  /** How many times this adapter started a tier (an apply tells a restart by it). */
  let starts = 0;

  function tier(name: TierName, render: (i: NginxRenderInput) => string) {
    const f = tierFiles(o.runDir, name);
    const master = masterOf('nginx', { pid: f.pid, cfg: f.cfg });
    const workersFile = join(f.dir, 'workers.json');

    /** Remembers the workers of a fresh master: if the master is killed they live on, holding the listeners. */
    function recordWorkers(pid: number): void {
      const workers = childPids(pid).map((w) => ({ pid: w, startTime: processStartTime(w) }));
      writeFileAtomic(workersFile, `${JSON.stringify(workers)}\n`, 0o600);
    }

    /** Workers of a master that died without them: quit gracefully (they finish their requests), then make sure. */
    async function endOrphans(): Promise<void> {
      let recorded: { pid: number; startTime: string | null }[] = [];
      try {
        recorded = JSON.parse(readFileSync(workersFile, 'utf8')) as typeof recorded;
      } catch {
        return;
      }
      const orphans = recorded.filter((w) => processAlive(w.pid) && processStartTime(w.pid) === w.startTime && /^nginx: worker process/.test(commandLine(w.pid)));
      for (const w of orphans) kill(w.pid, 'SIGQUIT');
      const gone = await waitFor(() => (orphans.every((w) => !processAlive(w.pid)) ? true : undefined), ORPHAN_QUIT_MS, 20);
      if (!gone) for (const w of orphans.filter((x) => processAlive(x.pid))) kill(w.pid, 'SIGKILL');
    }

    async function start(): Promise<void> {
      starts++;
      await endOrphans();
      if (name === 'router') rmSync(routerSocket(o.runDir), { force: true });
      // umask 0: the router's socket must be connectable by the edge's workers (its directory guards it).
      await runTool('sh', ['-c', 'umask 000 && exec "$0" "$@"', o.binary, '-p', prefix, '-c', f.cfg], `starting nginx (${name})`, `see ${f.errorLog}`);
      const pid = await waitFor(() => master.pid() ?? undefined, START_TIMEOUT_MS);
      if (pid === undefined) throw new RefitError('proxy', `nginx (${name}) started but wrote no live pid to ${f.pid}`, `see ${f.errorLog}`);
      await waitFor(() => (childPids(pid).length ? true : undefined), START_TIMEOUT_MS, 20);
      recordWorkers(pid);
      markLoaded(f.cfg);
    }

    /** Graceful reload; returns the old workers, which finish their in-flight requests and exit. */
    async function reload(pid: number): Promise<number[]> {
      const old = await gracefulReload(pid, `nginx ${name}`, `see ${f.errorLog}`);
      recordWorkers(pid);
      markLoaded(f.cfg);
      return old;
    }

    /** Installs the tier's config and makes its master run it; returns the workers a reload retired. */
    async function activate(input: NginxRenderInput): Promise<number[]> {
      for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(f.dir, 'tmp', d), { recursive: true });
      const text = render(input);
      // nginx changes nothing at runtime: only the config its master runs is taken as it is.
      const { load } = await installConfig(
        f.cfg,
        text,
        (candidate) => runTool(o.binary, ['-t', '-q', '-p', prefix, '-c', candidate], `checking the rendered nginx ${name} config`, `the rendered file is kept at ${candidate}`, { atWorkPriority: true }),
        (loaded) => loaded === text,
      );
      const pid = master.pid();
      if (pid === null) {
        await start();
        return [];
      }
      return load ? reload(pid) : [];
    }

    return { master, activate, start, endOrphans };
  }

  /** What this process has read of each observed site's log: the file (inode), how far, and the counts so far. */
  const logs = new Map<string, { ino: number; offset: number; rest: string; counts: Map<string, LogTally> }>();

  /** The site's log read on from where the last read stopped; a new file (another inode, or shorter) is read from its start. */
  function readLog(siteId: string): ServerCounters[] {
    const file = watchLog(o.runDir, siteId);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      const { ino, size } = statSync(file);
      let seen = logs.get(siteId);
      if (!seen || seen.ino !== ino || size < seen.offset) logs.set(siteId, (seen = { ino, offset: 0, rest: '', counts: new Map() }));
      const buf = Buffer.alloc(LOG_CHUNK);
      while (seen.offset < size) {
        const n = readSync(fd, buf, 0, Math.min(LOG_CHUNK, size - seen.offset), seen.offset);
        if (n === 0) break;
        seen.offset += n;
        seen.rest = countLog(seen.rest + buf.toString('latin1', 0, n), seen.counts);
      }
      return [...seen.counts].map(([addr, t]) => {
        const colon = addr.lastIndexOf(':');
        return { key: `log:${ino}:${addr}`, ip: addr.slice(0, colon), port: Number(addr.slice(colon + 1)), responses: t.responses, errors: t.errors };
      });
    } finally {
      closeSync(fd);
    }
  }

  function renderInput(state: ProxyState): NginxRenderInput {
    return { runDir: o.runDir, user, bind: o.bind, httpPort: o.httpPort, httpsPort: o.httpsPort, certs: loadCerts(o.certDir), serverTimeoutMs: o.serverTimeoutMs, probeToken: probeToken(o.runDir), sites: state.sites };
  }

  function prepareDirs(): void {
    mkdirSync(o.runDir, { recursive: true, mode: 0o755 });
    // Workers run unprivileged and need to reach the temp dirs inside.
    chmodSync(o.runDir, 0o755);
    for (const name of ['edge', 'router'] as const) mkdirSync(tierFiles(o.runDir, name).dir, { recursive: true, mode: 0o755 });
    // The router's master (root) opens the logs of observed sites; nobody else needs them.
    mkdirSync(watchLogDir(o.runDir), { recursive: true, mode: 0o700 });
    const sockDir = join(o.runDir, 'router', 'sock');
    mkdirSync(sockDir, { recursive: true });
    // Only root and the worker user may talk to the router: it trusts the forwarded headers it gets.
    const peer = o.socketGroup ? { name: `group ${o.socketGroup}`, account: { uid: -1, gid: groupOf(o.socketGroup) } } : user ? { name: user, account: accountOf(user) } : null;
    chmodSync(sockDir, peer ? 0o750 : 0o700);
    if (peer) {
      chownSync(sockDir, 0, peer.account.gid);
      requireReachable(o.runDir, peer.name, peer.account);
    }
  }

  /** Saves the state and brings both tiers to it (router first: the edge needs it); returns the retired router workers. */
  async function activate(state: ProxyState): Promise<number[]> {
    writeState(stateFile, state);
    const input = renderInput(state);
    const retired = await tiers.router.activate(input);
    if (running.includes('edge')) await tiers.edge.activate(input);
    return retired;
  }

  /** Set up once (a state saved) and a tier's master not running. */
  const gone = () => existsSync(stateFile) && running.some((n) => tiers[n].master.pid() === null);

  const requireRunning = () => {
    for (const name of running) tiers[name].master.require();
  };

  return {
    kind: 'nginx',
    zeroDowntime: true,

    apply: (sites: ProxySite[], opts: ApplyOptions = {}) =>
      exclusive(async () => {
        prepareDirs();
        // Set up before and a tier started by this apply: it died before or during it (even while the new config was checked).
        const setUp = existsSync(stateFile);
        const startsBefore = starts;
        await activate(applySites(readState(stateFile), sites, opts.owned?.(), opts.observed?.()));
        if (setUp && starts > startsBefore) opts.restarted?.();
      }),

    add: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        requireRunning();
        await activate(withServer(readState(stateFile), siteId, up, 'ready'));
      }),

    async drain(siteId: string, up: Upstream, { timeoutMs, onStopped }: DrainOptions): Promise<DrainResult> {
      const started = Date.now();
      const retired = await exclusive(async () => {
        requireRunning();
        const state = readState(stateFile);
        requireSite(state, siteId);
        const known = findServer(state, siteId, up.name);
        if (!known) return [];
        return activate(withServer(state, siteId, known, 'drain'));
      });
      onStopped?.();
      let alive = retired;
      const done = await waitFor(() => {
        alive = alive.filter(processAlive);
        return alive.length === 0 ? true : undefined;
      }, Math.max(0, timeoutMs - (Date.now() - started)), POLL_MS);
      return { drained: done === true, waitedMs: Date.now() - started, remainingSessions: alive.length };
    },

    remove: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        requireRunning();
        await activate(withoutServer(readState(stateFile), siteId, up.name));
      }),

    async counters(siteId: string): Promise<ServerCounters[]> {
      requireRunning();
      requireSite(readState(stateFile), siteId);
      return readLog(siteId);
    },

    observe: (siteId: string, on: boolean) =>
      exclusive(async () => {
        requireRunning();
        const state = readState(stateFile);
        if (Boolean(requireSite(state, siteId).observed) === on) return;
        // A log a crash left behind is not this watch's: the new one starts empty.
        if (on) rmSync(watchLog(o.runDir, siteId), { force: true });
        await activate(withFlag(state, siteId, 'observed', on));
        // Workers the reload retired may still flush into it: they write to a file nobody reads any more.
        if (!on) rmSync(watchLog(o.runDir, siteId), { force: true });
      }),

    affinity: (siteId: string, on: boolean) =>
      exclusive(async () => {
        requireRunning();
        await activate(withFlag(readState(stateFile), siteId, 'affinity', on));
      }),

    async list(siteId: string): Promise<UpstreamState[]> {
      requireRunning();
      const site = requireSite(readState(stateFile), siteId);
      return site.servers.map(({ name, ip, port, state }) => ({ name, ip, port, state, sessions: 0 }));
    },

    async probeRoute(siteId: string, up: Upstream): Promise<ProbeRoute | null> {
      const site = requireSite(readState(stateFile), siteId);
      const listener = (port: number): Listener => ({ ip: probeAddress(o.bind), port });
      return {
        http: listener(o.httpPort),
        https: certCovering(site.vhosts, loadCerts(o.certDir)) ? listener(o.httpsPort) : null,
        headers: { [PROBE_HEADER]: probeToken(o.runDir), [PROBE_SERVER_HEADER]: up.name },
        servedBy: { header: SERVED_BY_HEADER.toLowerCase(), value: `${up.ip}:${up.port}` },
      };
    },

    // The daemon asks every second: only a proxy that looks gone takes the lock, and is looked at again under it.
    revive: async () =>
      gone() &&
      exclusive(async () => {
        if (!gone()) return false;
        prepareDirs();
        await activate(readState(stateFile));
        return true;
      }),

    async stop() {
      await tiers.edge.master.stop();
      await tiers.router.master.stop();
    },
  };
}

/** A local group's id, from /etc/group. */
function groupOf(group: string): number {
  const gid = Number(
    readFileSync('/etc/group', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === group)?.[2],
  );
  if (!Number.isInteger(gid)) throw new RefitError('config', `socketGroup ${group} is not a group on this host`, "set it to the group the operator's proxy workers run as (www-data for nginx, caddy for Caddy on Debian)");
  return gid;
}

/** A local user's ids, from /etc/passwd. */
function accountOf(user: string): { uid: number; gid: number } {
  const fields = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === user);
  const [uid, gid] = [Number(fields?.[2]), Number(fields?.[3])];
  if (!fields || !Number.isInteger(uid) || !Number.isInteger(gid)) throw new RefitError('config', `proxy.nginx.user ${user} is not a user on this host`, 'set proxy.nginx.user to the user nginx workers run as (www-data on Debian)');
  return { uid, gid };
}

/** The edge's workers (running as `user`) reach the router's socket inside the run dir: every directory above it must let them through. */
function requireReachable(runDir: string, user: string, account: { uid: number; gid: number }): void {
  for (let dir = resolve(runDir); ; dir = dirname(dir)) {
    const st = statSync(dir);
    const through = st.uid === account.uid ? st.mode & 0o100 : st.gid === account.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!through) {
      throw new RefitError('config', `proxy.nginx.runDir ${runDir} is not reachable by the nginx worker user ${user}: ${dir} has mode ${(st.mode & 0o777).toString(8)}`, `use a run dir whose parents others may enter (chmod o+x ${dir}), e.g. the default /run/refit/nginx`);
    }
    if (dir === dirname(dir)) return;
  }
}
