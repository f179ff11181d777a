/**
 * @module proxy/haproxy/haproxy
 * The HAProxy adapter (the reference proxy). Structure (sites, vhosts, certificates, the
 * server slots of each backend) goes into haproxy.cfg, applied by a seamless master-worker
 * reload; servers take, drain and leave slots through the runtime API without a reload. Every
 * change is first written to state.json, from which haproxy.cfg is rendered, so a later reload
 * (or a restart after a crash) keeps what was done at runtime.
 *
 * A drain waits for the server's requests in every worker: a reload in the middle of it leaves
 * the older ones to the previous worker, which only the master CLI (`-S`) can see.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { kill } from 'node:process';
import type { HaproxyConfig, ProxyConfig } from '../../config/schema.js';
import { RefitError } from '../../errors.js';
import { certCovering, loadCerts } from '../certs.js';
import { installConfig, markLoaded, masterOf } from '../master.js';
import { probeAddress, probeToken } from '../probe.js';
import { exclusiveProxy, runTool, waitFor } from '../process.js';
import { readState, writeFileAtomic, writeState } from '../state-file.js';
import { applySites, findServer, requireSite, withFlag, withoutServer, withServer, type ProxyState } from '../state.js';
import type { ApplyOptions, DrainOptions, DrainResult, Listener, ProbeRoute, ProxyAdapter, ProxySite, ServerCounters, Upstream, UpstreamState } from '../types.js';
import { backendOf, onlyServersDiffer, PROBE_HEADER, PROBE_SERVER_HEADER, renderAffinityMap, renderHaproxy, SERVED_BY_HEADER, type HaproxyRenderInput } from './render.js';
import { MasterCli, RuntimeApi, type ServerStat } from './runtime.js';
import { withSlots } from './slots.js';

/** The `proxy.haproxy` section plus the proxy-wide timeouts. */
export type HaproxyOptions = HaproxyConfig & Pick<ProxyConfig, 'serverTimeoutMs'>;

const START_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

export function haproxyProxy(o: HaproxyOptions): ProxyAdapter {
  const files = {
    cfg: join(o.runDir, 'haproxy.cfg'),
    pid: join(o.runDir, 'haproxy.pid'),
    admin: join(o.runDir, 'admin.sock'),
    master: join(o.runDir, 'master.sock'),
    state: join(o.runDir, 'state.json'),
    lock: join(o.runDir, 'proxy.lock'),
    affinity: join(o.runDir, 'affinity.map'),
  };
  const api = new RuntimeApi(files.admin);
  const masterCli = new MasterCli(files.master);
  const exclusive = exclusiveProxy(files.lock, 'refit: haproxy change');
  const master = masterOf('haproxy', files);

  function renderInput(state: ProxyState): HaproxyRenderInput {
    return {
      adminSocket: files.admin,
      bind: o.bind,
      httpPort: o.httpPort,
      httpsPort: o.httpsPort,
      certFiles: loadCerts(o.certDir).map((c) => c.path),
      serverTimeoutMs: o.serverTimeoutMs,
      hardStopAfterMs: o.serverTimeoutMs + 30_000,
      user: process.getuid?.() === 0 ? o.user : null,
      probeToken: probeToken(o.runDir),
      affinityMap: files.affinity,
      sites: state.sites,
    };
  }

  /**
   * Renders the state into haproxy.cfg and saves the state. Says whether a reload is needed:
   * only when the structure the running proxy loaded changed (sites, vhosts, certificates, slot
   * count), and only then is the new file checked by `haproxy -c` (at refit's work priority)
   * before it replaces the old one; a server's address and state in an existing slot are set
   * at runtime, and the file with them differs from the loaded one only in server lines.
   */
  async function install(state: ProxyState): Promise<{ reload: boolean }> {
    const text = renderHaproxy(renderInput(state));
    // Read when HAProxy loads its config; at runtime the worker's copy is changed (syncAffinity).
    writeFileAtomic(files.affinity, renderAffinityMap(state.sites), 0o600);
    const { load } = await installConfig(
      files.cfg,
      text,
      (candidate) => runTool(o.binary, ['-c', '-q', '-f', candidate], 'checking the rendered HAProxy config', `the rendered file is kept at ${candidate}`, { atWorkPriority: true }),
      (loaded) => onlyServersDiffer(loaded, text),
    );
    writeState(files.state, state);
    return { reload: load };
  }

  /** How many times this adapter started the proxy (an apply tells a restart by it). */
  let starts = 0;

  async function start(): Promise<void> {
    starts++;
    // -W master-worker, -D daemon: the master outlives this refit process; -S: the master CLI.
    await runTool(o.binary, ['-W', '-D', '-S', `${files.master},mode,600`, '-f', files.cfg, '-p', files.pid], 'starting haproxy');
    const worker = await waitFor(async () => (master.pid() !== null ? ((await api.workerPid().catch(() => null)) ?? undefined) : undefined), START_TIMEOUT_MS);
    if (worker === undefined) throw new RefitError('proxy', `haproxy started but its admin socket ${files.admin} does not answer`, `check that ports ${o.httpPort}/${o.httpsPort} on ${o.bind} are free`);
    markLoaded(files.cfg);
  }

  /** Seamless reload: the master re-reads haproxy.cfg and starts a new worker; the old one finishes its requests. */
  async function reload(pid: number): Promise<void> {
    const before = await api.workerPid();
    kill(pid, 'SIGUSR2');
    const after = await waitFor(async () => {
      const now = await api.workerPid().catch(() => null);
      return now !== null && now !== before ? now : undefined;
    }, START_TIMEOUT_MS);
    if (after === undefined) throw new RefitError('proxy', `haproxy (master ${pid}) did not start a new worker after a reload`, `run \`${o.binary} -c -f ${files.cfg}\` to see why`);
    markLoaded(files.cfg);
  }

  /** Set up once (a state saved) and its master not running. */
  const gone = () => existsSync(files.state) && master.pid() === null;

  /**
   * Brings the running proxy in line with an installed state: reload, or set the changed slots at
   * runtime, of every site or only of the one a change was made to (one backend's rows to read,
   * not the whole host's).
   */
  async function activate(state: ProxyState, { reload: structural }: { reload: boolean }, changed?: string): Promise<void> {
    const pid = master.pid();
    if (pid === null) return start();
    if (structural) return reload(pid);
    const rows = await api.servers(changed === undefined ? undefined : backendOf(changed));
    for (const site of state.sites.filter((s) => changed === undefined || s.id === changed)) {
      for (const row of rows.filter((r) => r.backend === backendOf(site.id))) {
        const server = site.servers.find((s) => s.slot === row.name);
        await setSlot(site.id, row, server ? { ip: server.ip, port: server.port, ready: server.state === 'ready' } : null);
      }
    }
    await syncAffinity(state);
  }

  /** The running worker's affinity map made to name exactly the backends the state says share (no reload). */
  async function syncAffinity(state: ProxyState): Promise<void> {
    // HAProxy loads the map only for the backends that use it: with no site there is none to change.
    if (!state.sites.length) return;
    const want = new Set(state.sites.filter((s) => s.affinity).map((s) => backendOf(s.id)));
    const have = new Set(await api.mapKeys(files.affinity));
    for (const backend of want) if (!have.has(backend)) await api.expect(`add map ${files.affinity} ${backend} 1`);
    for (const backend of have) if (!want.has(backend)) await api.expect(`del map ${files.affinity} ${backend}`);
  }

  /** Each slot's response counters in one worker, keyed by worker and slot (they only grow while that worker lives). */
  const countersOf = (worker: number, rows: ServerStat[]): ServerCounters[] =>
    rows.map((r) => ({ key: `${worker}/${r.name}`, ip: r.ip, port: r.port, responses: r.responses, errors: r.errors }));

  /** Puts a slot at an address, in or out of rotation; only what differs is sent. */
  async function setSlot(siteId: string, row: ServerStat, want: { ip: string; port: number; ready: boolean } | null): Promise<void> {
    const target = `${backendOf(siteId)}/${row.name}`;
    const ready = want?.ready ?? false;
    if (!ready && row.state !== 'maint') await api.expect(`set server ${target} state maint`);
    if (want && (row.ip !== want.ip || row.port !== want.port)) await api.expect(`set server ${target} addr ${want.ip} port ${want.port}`, /changed|no need to change/);
    if (ready && row.state !== 'ready') await api.expect(`set server ${target} state ready`);
  }

  async function slotRow(siteId: string, slot: string): Promise<ServerStat | undefined> {
    return (await api.servers(backendOf(siteId))).find((r) => r.name === slot);
  }

  /** Requests in flight on a slot, in the current worker and in every old one still finishing. */
  async function sessionsOn(siteId: string, slot: string, up: Upstream): Promise<number> {
    const backend = backendOf(siteId);
    let total = (await slotRow(siteId, slot))?.sessions ?? 0;
    for (const worker of await masterCli.oldWorkers().catch(() => [])) {
      const row = (await masterCli.serversOf(worker, backend).catch(() => [])).find((r) => r.name === slot);
      // An old worker may have had another container in this slot: count only ours.
      if (row && row.ip === up.ip && row.port === up.port) total += row.sessions;
    }
    return total;
  }

  return {
    kind: 'haproxy',
    zeroDowntime: true,

    apply: (sites: ProxySite[], opts: ApplyOptions = {}) =>
      exclusive(async () => {
        mkdirSync(o.runDir, { recursive: true, mode: 0o755 });
        chmodSync(o.runDir, 0o755);
        // Set up before and started by this apply: it died before or during it (even while the new config was checked).
        const setUp = existsSync(files.state);
        const startsBefore = starts;
        const state = withSlots(applySites(readState(files.state), sites, opts.owned?.(), opts.observed?.()));
        await activate(state, await install(state));
        if (setUp && starts > startsBefore) opts.restarted?.();
      }),

    add: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        master.require();
        const state = withSlots(withServer(readState(files.state), siteId, up, 'ready'));
        const slot = findServer(state, siteId, up.name)!.slot!;
        await activate(state, await install(state), siteId);
        // Two runtime commands (address, then ready): only both together count as added.
        const row = await slotRow(siteId, slot);
        if (!row || row.ip !== up.ip || row.port !== up.port || row.state !== 'ready') {
          throw new RefitError('proxy', `HAProxy did not take ${up.name} (${up.ip}:${up.port}) into site ${siteId}: slot ${slot} is ${row ? `${row.state} at ${row.ip}:${row.port}` : 'missing'}`, 'see `show servers state` on the admin socket');
        }
      }),

    async drain(siteId: string, up: Upstream, { timeoutMs, onStopped }: DrainOptions): Promise<DrainResult> {
      const started = Date.now();
      const slot = await exclusive(async () => {
        master.require();
        const state = readState(files.state);
        requireSite(state, siteId);
        const known = findServer(state, siteId, up.name);
        if (!known?.slot) return null;
        const next = withServer(state, siteId, known, 'drain');
        await activate(next, await install(next), siteId);
        return known.slot;
      });
      onStopped?.();
      if (!slot) return { drained: true, waitedMs: Date.now() - started, remainingSessions: 0 };
      let remaining = Number.POSITIVE_INFINITY;
      const done = await waitFor(async () => {
        remaining = await sessionsOn(siteId, slot, up);
        return remaining === 0 ? true : undefined;
      }, Math.max(0, timeoutMs - (Date.now() - started)), POLL_MS);
      return { drained: done === true, waitedMs: Date.now() - started, remainingSessions: done ? 0 : remaining };
    },

    remove: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        master.require();
        const state = readState(files.state);
        const known = findServer(state, siteId, up.name);
        if (!known?.slot) return;
        const row = await slotRow(siteId, known.slot);
        if (row) await setSlot(siteId, row, null);
        // Requests still running here outlived the drain bound the caller chose: they are cut,
        // as the container they run on is about to stop.
        if ((await sessionsOn(siteId, known.slot, up)) > 0) {
          const target = `${backendOf(siteId)}/${known.slot}`;
          await api.send(`shutdown sessions server ${target}`);
          for (const worker of await masterCli.oldWorkers().catch(() => [])) await masterCli.send(`@!${worker} shutdown sessions server ${target}`).catch(() => undefined);
        }
        const next = withoutServer(state, siteId, up.name);
        await activate(next, await install(next), siteId);
      }),

    async counters(siteId: string): Promise<ServerCounters[]> {
      master.require();
      const backend = backendOf(siteId);
      // The worker must be the same before and after reading its rows: a reload in between would file them under the wrong key.
      let current: ServerCounters[] | null = null;
      for (let tries = 0; current === null && tries < 3; tries++) {
        const before = await api.workerPid();
        const rows = await api.servers(backend);
        if (before !== null && before === (await api.workerPid())) current = countersOf(before, rows);
      }
      if (current === null) throw new RefitError('proxy', `HAProxy reloaded three times while refit read the counters of site ${siteId}`, 'try again; see what reloads it (`refit proxy sync` in a loop?)');
      // Old workers a reload left finishing requests: their counts since before the reload are theirs.
      for (const worker of await masterCli.oldWorkers().catch(() => [])) current.push(...countersOf(worker, await masterCli.serversOf(worker, backend).catch(() => [])));
      return current;
    },

    affinity: (siteId: string, on: boolean) =>
      exclusive(async () => {
        master.require();
        const state = withSlots(withFlag(readState(files.state), siteId, 'affinity', on));
        await activate(state, await install(state), siteId);
      }),

    async list(siteId: string): Promise<UpstreamState[]> {
      master.require();
      const site = requireSite(readState(files.state), siteId);
      const rows = await api.servers(backendOf(siteId));
      return site.servers.map((s) => {
        const row = rows.find((r) => r.name === s.slot);
        // What the proxy really does: a slot missing or in maintenance is not in rotation.
        if (!row) return { name: s.name, ip: s.ip, port: s.port, state: 'maint', sessions: 0 };
        const state = row.state === 'ready' ? 'ready' : s.state === 'drain' ? 'drain' : 'maint';
        return { name: s.name, ip: row.ip, port: row.port, state, sessions: row.sessions };
      });
    },

    async probeRoute(siteId: string, up: Upstream): Promise<ProbeRoute | null> {
      const state = readState(files.state);
      const slot = findServer(state, siteId, up.name)?.slot;
      if (!slot) throw new RefitError('proxy', `server ${up.name} is not in site ${siteId} of the proxy`, 'add it before probing it');
      const listener = (port: number): Listener => ({ ip: probeAddress(o.bind), port });
      return {
        http: listener(o.httpPort),
        https: certCovering(requireSite(state, siteId).vhosts, loadCerts(o.certDir)) ? listener(o.httpsPort) : null,
        headers: { [PROBE_HEADER]: probeToken(o.runDir), [PROBE_SERVER_HEADER]: slot },
        servedBy: { header: SERVED_BY_HEADER.toLowerCase(), value: slot },
      };
    },

    // The daemon asks every second: only a proxy that looks gone takes the lock, and is looked at again under it.
    revive: async () =>
      gone() &&
      exclusive(async () => {
        if (!gone()) return false;
        const state = withSlots(readState(files.state));
        await install(state);
        await start();
        return true;
      }),

    stop: master.stop,
  };
}

