/**
 * @module proxy/haproxy-guest/haproxy-guest
 * refit inside the operator's HAProxy (`proxy.type: haproxy-guest`). refit never writes
 * haproxy.cfg: each managed site's backend declares server slots (`server-template refit 1-4
 * 127.0.0.1:9 disabled`), and refit moves containers in and out of them through the operator's
 * admin socket (`set server … addr/state`), which never reloads anything. Slots rather than
 * dynamic servers (`add server`): a slot can be named by `use-server` (refit's probes are
 * pinned that way; 2.6 cannot name a dynamic server there), and an operator reload keeps it:
 * after every change refit writes the backend's `show servers state` to the file the
 * backend loads on reload (`load-server-state-from-file local` + `server-state-file-name`).
 *
 * A drain counts the server's requests in the current worker and, when the operator runs a
 * master CLI (`-S`, proxy.haproxyGuest.masterSocket), in the workers a reload left finishing.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HaproxyGuestConfig } from '../../config/schema.js';
import { RefitError } from '../../errors.js';
import { ok, problem, warning, type Finding } from '../doctor.js';
import { guestProxy, type GuestDriver, type GuestSite, type GuestState } from '../guest/core.js';
import { MasterCli, RuntimeApi, type ServerStat } from '../haproxy/runtime.js';
import { writeFileAtomic } from '../state-file.js';
import type { ProxyAdapter, Upstream, UpstreamState } from '../types.js';
import { backendFindings, globalFindings, parseSections, type Section } from './config.js';
import { assignSlots, reloadProblem, slotsOf, slotTemplate, versionProblem, type Slot } from './slots.js';

/** Where refit keeps the server state a managed backend loads on reload. */
export const serverStateFile = (runDir: string, route: string) => join(runDir, 'server-state', route);

export function haproxyGuestProxy(o: HaproxyGuestConfig): ProxyAdapter {
  const api = new RuntimeApi(o.adminSocket);
  const master = o.masterSocket ? new MasterCli(o.masterSocket) : null;
  const hint = 'run `refit proxy doctor` to see what the operator config needs';

  async function requireVersion(): Promise<void> {
    const info = await api.send('show info');
    const problem = versionProblem(/^Version: (\S+)/m.exec(info)?.[1] ?? '');
    if (problem) throw new RefitError('proxy', `the operator's HAProxy at ${o.adminSocket}: ${problem}`, 'upgrade HAProxy or use proxy.type haproxy (refit runs its own)');
  }

  async function slotRows(route: string): Promise<Slot[]> {
    return slotsOf(await api.servers(route), o.slotPrefix);
  }

  /** Sets one slot to what the state wants; only what differs is sent. */
  async function setSlot(route: string, row: ServerStat, want: { ip: string; port: number; state: 'ready' | 'drain' } | null): Promise<void> {
    const target = `${route}/${row.name}`;
    if (!want) {
      if (row.state !== 'maint') await api.expect(`set server ${target} state maint`);
      return;
    }
    if (want.state === 'drain' && row.state === 'ready') await api.expect(`set server ${target} state drain`);
    if (row.ip !== want.ip || row.port !== want.port) {
      if (row.state !== 'maint' && want.state === 'ready') await api.expect(`set server ${target} state maint`);
      await api.expect(`set server ${target} addr ${want.ip} port ${want.port}`, /changed|no need to change/);
    }
    if (want.state === 'ready' && (row.state !== 'ready' || row.ip !== want.ip || row.port !== want.port)) await api.expect(`set server ${target} state ready`);
    if (want.state === 'drain' && row.state === 'maint') await api.expect(`set server ${target} state drain`);
  }

  /** What an operator reload loads for this backend: the runtime as refit just left it. */
  async function saveServerState(route: string): Promise<void> {
    const dump = await api.send(`show servers state ${route}`);
    if (!/^\d+\n# be_id/.test(dump)) throw new RefitError('proxy', `HAProxy answered \`show servers state ${route}\` with: ${dump.split('\n')[0]}`, hint);
    writeFileAtomic(serverStateFile(o.runDir, route), dump);
  }

  const differs = (row: ServerStat | undefined, s: { ip: string; port: number; state: string } | undefined) =>
    s ? !row || row.ip !== s.ip || row.port !== s.port || row.state !== s.state : !!row && row.state !== 'maint';

  const driver: GuestDriver<void> = {
    kind: 'haproxy-guest',

    async missingRoutes(routes) {
      await requireVersion();
      const all = await api.servers();
      const missing = new Map<string, string>();
      for (const route of routes) {
        const rows = all.filter((r) => r.backend === route);
        const slots = slotsOf(rows, o.slotPrefix);
        if (!rows.length && !all.some((r) => r.backend === route)) missing.set(route, `HAProxy has no backend ${route} with server slots (add \`backend ${route}\` with \`${slotTemplate(o.slotPrefix)}\`)`);
        else if (slots.length < 2) missing.set(route, `backend ${route} has ${slots.length} server slot(s) named ${o.slotPrefix}N; declare at least 2: \`${slotTemplate(o.slotPrefix)}\``);
      }
      return missing;
    },

    prepareFiles() {
      const dir = join(o.runDir, 'server-state');
      if (existsSync(dir)) return [];
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      return [dir];
    },

    async doctor(sites: GuestSite[]) {
      const findings: Finding[] = [];
      const routes = new Map<string, Finding[]>();
      let info: string;
      try {
        info = await api.send('show info');
      } catch (err) {
        findings.push(problem(`the admin socket ${o.adminSocket} does not answer: ${(err as Error).message}`, 'add `stats socket <path> mode 600 level admin` to global and set proxy.haproxyGuest.adminSocket to it'));
        for (const s of sites) routes.set(s.route, [problem('cannot be checked without the admin socket')]);
        return { findings, routes };
      }
      const version = /^Version: (\S+)/m.exec(info)?.[1] ?? '';
      const tooOld = versionProblem(version);
      findings.push(tooOld ? problem(tooOld, 'upgrade HAProxy, or use proxy.type haproxy (refit runs its own)') : ok(`HAProxy ${version}`));
      const reloads = reloadProblem(version);
      if (reloads) findings.push(warning(reloads));
      const level = (await api.send('show cli level').catch(() => '')).trim();
      if (level && level !== 'admin') findings.push(problem(`the admin socket gives level ${level}: refit needs admin to set servers`, 'add `level admin` to the stats socket line'));
      let sections: Section[] = [];
      try {
        sections = parseSections(readFileSync(o.config, 'utf8'));
        findings.push(...globalFindings(sections, o));
      } catch (err) {
        findings.push(problem(`cannot read ${o.config}: ${(err as Error).message}`, 'set proxy.haproxyGuest.config to the config HAProxy runs'));
      }
      const all = await api.servers();
      for (const s of sites) {
        const slots = slotsOf(all.filter((r) => r.backend === s.route), o.slotPrefix).map((r) => r.name);
        routes.set(s.route, sections.length ? backendFindings(sections, { route: s.route, runDir: o.runDir, slotPrefix: o.slotPrefix, slots }) : [problem('cannot be checked without the config file')]);
      }
      return { findings, routes };
    },

    async prepare(state: GuestState): Promise<GuestState> {
      const sites = [];
      for (const site of state.sites) {
        const route = `${o.routePrefix}${site.id}`;
        const free = site.servers.every((s) => s.slot) ? [] : (await slotRows(route)).map((r) => r.name);
        sites.push(assignSlots(site, route, free));
      }
      return { ...state, sites };
    },

    async push(sites: GuestSite[]) {
      mkdirSync(join(o.runDir, 'server-state'), { recursive: true, mode: 0o755 });
      for (const site of sites) {
        // An operator reload between the runtime change and the state file starts a worker from
        // the previous file: a new worker pid shows it, and the site is set again in that worker
        // (a reload still starting when the pid is asked is left to revive()).
        for (let attempt = 1; ; attempt++) {
          const worker = await api.workerPid();
          for (const row of await slotRows(site.route)) {
            const server = site.servers.find((s) => s.slot === row.name);
            await setSlot(site.route, row, server ? { ip: server.ip, port: server.port, state: server.state } : null);
          }
          await saveServerState(site.route);
          if ((await api.workerPid()) === worker) break;
          if (attempt === 3) throw new RefitError('proxy', `HAProxy reloaded three times while refit set backend ${site.route}`, 'retry when the operator\'s reloads are done');
        }
      }
    },

    async inFlight(site: GuestSite, up: Upstream) {
      const slot = site.servers.find((s) => s.name === up.name)?.slot;
      if (!slot) return 0;
      let total = (await api.servers(site.route)).find((r) => r.name === slot)?.sessions ?? 0;
      for (const worker of master ? await master.oldWorkers().catch(() => []) : []) {
        const row = (await master!.serversOf(worker, site.route).catch(() => [])).find((r) => r.name === slot);
        // An old worker may have had another container in this slot: count only ours.
        if (row && row.ip === up.ip && row.port === up.port) total += row.sessions;
      }
      return total;
    },

    async cut(site: GuestSite, up: Upstream) {
      const row = (await api.servers(site.route)).find((r) => r.ip === up.ip && r.port === up.port && r.name.startsWith(o.slotPrefix));
      if (row && row.sessions > 0) await api.send(`shutdown sessions server ${site.route}/${row.name}`);
    },

    async list(site: GuestSite): Promise<UpstreamState[]> {
      const rows = await api.servers(site.route);
      return site.servers.map((s) => {
        const row = rows.find((r) => r.name === s.slot);
        if (!row) return { name: s.name, ip: s.ip, port: s.port, state: 'maint', sessions: 0 };
        return { name: s.name, ip: row.ip, port: row.port, state: row.state, sessions: row.sessions };
      });
    },

    pin: (_site, server) => ({ server: server.slot!, servedBy: server.slot! }),

    async drifted(sites: GuestSite[]) {
      for (const site of sites) {
        const rows = await api.servers(site.route).catch(() => []);
        for (const row of slotsOf(rows, o.slotPrefix)) {
          if (differs(row, site.servers.find((s) => s.slot === row.name))) return true;
        }
      }
      return false;
    },
  };

  return guestProxy(o, driver);
}
