/**
 * @module proxy/haproxy/haproxy
 * The HAProxy adapter (the reference proxy). Structure (sites, vhosts, certificates) goes into
 * haproxy.cfg, applied by a seamless master-worker reload; servers join, drain and leave
 * through the runtime API without a reload. Every change is first written to state.json, from
 * which haproxy.cfg is rendered, so a later reload keeps what was done at runtime.
 */
import { kill } from 'node:process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HaproxyConfig, ProxyConfig } from '../../config/schema.js';
import { RefitError } from '../../errors.js';
import { loadCerts } from '../certs.js';
import { installConfig, masterOf } from '../master.js';
import { runTool, serial, waitFor } from '../process.js';
import { readState, writeState } from '../state-file.js';
import { applySites, findServer, requireSite, withoutServer, withServer, type ProxyState } from '../state.js';
import type { DrainOptions, DrainResult, ProxyAdapter, ProxySite, Upstream, UpstreamState } from '../types.js';
import { backendOf, renderHaproxy } from './render.js';
import { RuntimeApi } from './runtime.js';

/** The `proxy.haproxy` section plus the proxy-wide server timeout. */
export type HaproxyOptions = HaproxyConfig & Pick<ProxyConfig, 'serverTimeoutMs'>;

const START_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

export function haproxyProxy(o: HaproxyOptions): ProxyAdapter {
  const files = {
    cfg: join(o.runDir, 'haproxy.cfg'),
    pid: join(o.runDir, 'haproxy.pid'),
    admin: join(o.runDir, 'admin.sock'),
    state: join(o.runDir, 'state.json'),
  };
  const api = new RuntimeApi(files.admin);
  const exclusive = serial();
  const master = masterOf('haproxy', files);
  const masterPid = master.pid;
  const requireRunning = master.require;

  /**
   * Renders the state into haproxy.cfg, checked by `haproxy -c` before it replaces the old file.
   * True when the config text changed: only then is a reload worth it.
   */
  async function install(state: ProxyState): Promise<boolean> {
    const text = renderHaproxy({ adminSocket: files.admin, bind: o.bind, httpPort: o.httpPort, httpsPort: o.httpsPort, certFiles: loadCerts(o.certDir).map((c) => c.path), serverTimeoutMs: o.serverTimeoutMs, sites: state.sites });
    const changed = await installConfig(files.cfg, text, (candidate) =>
      runTool(o.binary, ['-c', '-q', '-f', candidate], 'checking the rendered HAProxy config', `the rendered file is kept at ${candidate}`),
    );
    writeState(files.state, state);
    return changed;
  }

  async function start(): Promise<void> {
    // -W master-worker, -D daemon: the master outlives this refit process; its pid goes to the pid file.
    await runTool(o.binary, ['-W', '-D', '-f', files.cfg, '-p', files.pid], 'starting haproxy');
    const worker = await waitFor(async () => (masterPid() !== null ? ((await api.workerPid().catch(() => null)) ?? undefined) : undefined), START_TIMEOUT_MS);
    if (worker === undefined) throw new RefitError('proxy', `haproxy started but its admin socket ${files.admin} does not answer`, `check that ports ${o.httpPort}/${o.httpsPort} on ${o.bind} are free`);
  }

  /** Seamless reload: the master re-reads haproxy.cfg and starts a new worker; the old one finishes its requests. */
  async function reload(master: number): Promise<void> {
    const before = await api.workerPid();
    kill(master, 'SIGUSR2');
    const after = await waitFor(async () => {
      const pid = await api.workerPid().catch(() => null);
      return pid !== null && pid !== before ? pid : undefined;
    }, START_TIMEOUT_MS);
    if (after === undefined) throw new RefitError('proxy', `haproxy (master ${master}) did not start a new worker after a reload`, `run \`${o.binary} -c -f ${files.cfg}\` to see why`);
  }

  /** A reload renders drained servers as disabled; put them back into drain so list() tells the truth. */
  async function restoreDrains(state: ProxyState): Promise<void> {
    for (const site of state.sites) {
      for (const s of site.servers.filter((x) => x.state === 'drain')) await api.expect(`set server ${backendOf(site.id)}/${s.name} state drain`);
    }
  }

  async function runtimeServer(siteId: string, name: string) {
    return (await api.servers(backendOf(siteId))).find((s) => s.name === name);
  }

  return {
    kind: 'haproxy',
    zeroDowntime: true,

    apply: (sites: ProxySite[]) =>
      exclusive(async () => {
        mkdirSync(o.runDir, { recursive: true, mode: 0o755 });
        chmodSync(o.runDir, 0o755);
        const state = applySites(readState(files.state), sites);
        // Every reload makes the old worker close idle keep-alive connections: reload only for a change.
        const changed = await install(state);
        const master = masterPid();
        if (master === null) await start();
        else if (changed) await reload(master);
        await restoreDrains(state);
      }),

    add: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        requireRunning();
        const state = withServer(readState(files.state), siteId, up, 'ready');
        const target = `${backendOf(siteId)}/${up.name}`;
        if (await runtimeServer(siteId, up.name)) {
          await api.expect(`set server ${target} addr ${up.ip} port ${up.port}`, /changed|no need to change/);
        } else {
          // Dynamic servers start in maintenance; they take no traffic until set ready below.
          await api.expect(`add server ${target} ${up.ip}:${up.port}`, /^New server registered/);
        }
        await api.expect(`set server ${target} state ready`);
        await install(state);
      }),

    async drain(siteId: string, up: Upstream, { timeoutMs, onStopped }: DrainOptions): Promise<DrainResult> {
      const started = Date.now();
      const present = await exclusive(async () => {
        requireRunning();
        const state = readState(files.state);
        requireSite(state, siteId);
        if (!(await runtimeServer(siteId, up.name))) return false;
        await api.expect(`set server ${backendOf(siteId)}/${up.name} state drain`);
        const known = findServer(state, siteId, up.name);
        if (known) await install(withServer(state, siteId, { name: known.name, ip: known.ip, port: known.port }, 'drain'));
        return true;
      });
      onStopped?.();
      if (!present) return { drained: true, waitedMs: Date.now() - started, remainingSessions: 0 };
      let remaining = Number.POSITIVE_INFINITY;
      const done = await waitFor(async () => {
        remaining = (await runtimeServer(siteId, up.name))?.sessions ?? 0;
        return remaining === 0 ? true : undefined;
      }, Math.max(0, timeoutMs - (Date.now() - started)), POLL_MS);
      return { drained: done === true, waitedMs: Date.now() - started, remainingSessions: done ? 0 : remaining };
    },

    remove: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        requireRunning();
        const target = `${backendOf(siteId)}/${up.name}`;
        if (await runtimeServer(siteId, up.name)) {
          await api.expect(`set server ${target} state maint`);
          // HAProxy refuses while the server still has streams or idle connections; idle ones end
          // quickly once it is in maint. Requests still running after that outlived the drain bound
          // the caller chose: they are cut, as the container they run on is about to stop.
          let refusal = '';
          const del = () =>
            waitFor(async () => {
              refusal = (await api.send(`del server ${target}`)).trim();
              return /^Server deleted/.test(refusal) ? true : undefined;
            }, 2_000, POLL_MS);
          let deleted = await del();
          if (!deleted) {
            await api.send(`shutdown sessions server ${target}`);
            deleted = await del();
          }
          if (!deleted) throw new RefitError('proxy', `HAProxy would not remove server ${up.name} from site ${siteId}: ${refusal}`, 'it is in maintenance and gets no new requests; see `show servers conn` on the admin socket');
        }
        await install(withoutServer(readState(files.state), siteId, up.name));
      }),

    async list(siteId: string): Promise<UpstreamState[]> {
      requireRunning();
      return (await api.servers(backendOf(siteId))).map(({ name, ip, port, state, sessions }) => ({ name, ip, port, state, sessions }));
    },

    stop: master.stop,
  };
}
