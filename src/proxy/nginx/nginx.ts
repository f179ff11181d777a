/**
 * @module proxy/nginx/nginx
 * The nginx adapter. nginx has no runtime API for upstreams, so every change is a new
 * nginx.conf (rendered from state.json, checked by `nginx -t`) and a graceful reload (HUP to
 * the master refit started). Draining = the server leaves the upstream, nginx reloads, and the
 * old workers, which still carry the server's in-flight requests, are watched in /proc until
 * they have exited.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { kill } from 'node:process';
import type { NginxConfig, ProxyConfig } from '../../config/schema.js';
import { RefitError } from '../../errors.js';
import { loadCerts } from '../certs.js';
import { installConfig, masterOf } from '../master.js';
import { childPids, commandLine, processAlive, runTool, serial, waitFor } from '../process.js';
import { readState, writeState } from '../state-file.js';
import { applySites, findServer, requireSite, withoutServer, withServer, type ProxyState } from '../state.js';
import type { DrainOptions, DrainResult, ProxyAdapter, ProxySite, Upstream, UpstreamState } from '../types.js';
import { renderNginx } from './render.js';

/** The `proxy.nginx` section plus the proxy-wide server timeout. */
export type NginxOptions = NginxConfig & Pick<ProxyConfig, 'serverTimeoutMs'>;

const START_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

export function nginxProxy(o: NginxOptions): ProxyAdapter {
  const prefix = `${o.runDir.replace(/\/+$/, '')}/`;
  const files = { cfg: join(o.runDir, 'nginx.conf'), pid: join(o.runDir, 'nginx.pid'), state: join(o.runDir, 'state.json') };
  const exclusive = serial();
  const master = masterOf('nginx', files);
  const masterPid = master.pid;
  const requireRunning = master.require;

  /** Renders the state into nginx.conf, checked by `nginx -t` before it replaces the old file. */
  async function install(state: ProxyState): Promise<void> {
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(o.runDir, 'tmp', d), { recursive: true });
    const text = renderNginx({
      runDir: o.runDir,
      pidFile: files.pid,
      user: process.getuid?.() === 0 ? o.user : null,
      bind: o.bind,
      httpPort: o.httpPort,
      httpsPort: o.httpsPort,
      certs: loadCerts(o.certDir),
      serverTimeoutMs: o.serverTimeoutMs,
      sites: state.sites,
    });
    await installConfig(files.cfg, text, (candidate) =>
      runTool(o.binary, ['-t', '-q', '-p', prefix, '-c', candidate], 'checking the rendered nginx config', `the rendered file is kept at ${candidate}`),
    );
    writeState(files.state, state);
  }

  async function start(): Promise<void> {
    await runTool(o.binary, ['-p', prefix, '-c', files.cfg], 'starting nginx', `see ${join(o.runDir, 'error.log')}`);
    const up = await waitFor(() => (masterPid() !== null ? true : undefined), START_TIMEOUT_MS);
    if (!up) throw new RefitError('proxy', `nginx started but wrote no live pid to ${files.pid}`, `see ${join(o.runDir, 'error.log')}`);
  }

  /**
   * Graceful reload; done when new workers run and every old one has stopped accepting
   * (exited, or retitled "shutting down"). Returns the old workers: they finish their
   * in-flight requests and exit.
   */
  async function reload(master: number): Promise<number[]> {
    const old = childPids(master);
    kill(master, 'SIGHUP');
    const switched = await waitFor(() => {
      const fresh = childPids(master).some((p) => !old.includes(p));
      return fresh && old.every((p) => !processAlive(p) || /shutting down/.test(commandLine(p))) ? true : undefined;
    }, START_TIMEOUT_MS, 20);
    if (!switched) throw new RefitError('proxy', `nginx (master ${master}) did not switch to new workers after a reload`, `see ${join(o.runDir, 'error.log')}`);
    return old;
  }

  /** Writes the new state and reloads, or starts nginx when it is not running. */
  async function activate(state: ProxyState): Promise<number[]> {
    await install(state);
    const master = masterPid();
    if (master !== null) return reload(master);
    await start();
    return [];
  }

  return {
    kind: 'nginx',
    zeroDowntime: true,

    apply: (sites: ProxySite[]) =>
      exclusive(async () => {
        mkdirSync(o.runDir, { recursive: true, mode: 0o755 });
        // Workers run unprivileged and need to reach the temp dirs inside.
        chmodSync(o.runDir, 0o755);
        await activate(applySites(readState(files.state), sites));
      }),

    add: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        requireRunning();
        await activate(withServer(readState(files.state), siteId, up, 'ready'));
      }),

    async drain(siteId: string, up: Upstream, { timeoutMs, onStopped }: DrainOptions): Promise<DrainResult> {
      const started = Date.now();
      const oldWorkers = await exclusive(async () => {
        requireRunning();
        const state = readState(files.state);
        requireSite(state, siteId);
        const known = findServer(state, siteId, up.name);
        if (!known) return [];
        return activate(withServer(state, siteId, { name: known.name, ip: known.ip, port: known.port }, 'drain'));
      });
      onStopped?.();
      let alive = oldWorkers;
      const done = await waitFor(() => {
        alive = alive.filter(processAlive);
        return alive.length === 0 ? true : undefined;
      }, Math.max(0, timeoutMs - (Date.now() - started)), POLL_MS);
      return { drained: done === true, waitedMs: Date.now() - started, remainingSessions: alive.length };
    },

    remove: (siteId: string, up: Upstream) =>
      exclusive(async () => {
        requireRunning();
        await activate(withoutServer(readState(files.state), siteId, up.name));
      }),

    async list(siteId: string): Promise<UpstreamState[]> {
      requireRunning();
      const site = requireSite(readState(files.state), siteId);
      return site.servers.map(({ name, ip, port, state }) => ({ name, ip, port, state, sessions: 0 }));
    },

    stop: master.stop,
  };
}
