/**
 * @module proxy/contract.case
 * The proxy adapter contract (types.ts) as one suite that every adapter's host test runs
 * against the real proxy: refit-run HAProxy and nginx (contract.host.test.ts) and the guest
 * modes inside an operator's HAProxy, nginx and Caddy (their *.host.test.ts). The servers are
 * real fixture containers on a Docker network the suite creates (`useContractWorld`); each test
 * uses its own site from CONTRACT_SITES, so tests do not depend on each other.
 */
import { execFileSync } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suiteLabels, sweepLeftovers, uniqueName } from '../../test/support/compose-project.js';
import { startWrk } from '../../test/support/wrk.js';
import { fixtureImage } from '../../test/support/suite.js';
import { buildWebImage } from '../../test/support/web-image.js';
import { CounterTally } from '../watch/counters.js';
import { sleep } from './process.js';
import type { ProxyAdapter, ProxySite, Upstream } from './types.js';

const NAMES = ['a', 'b', 'rr', 'drain', 'late', 'cut', 'keep', 'load', 'other', 'probe', 'revive', 'reload', 'empty', 'count', 'sticky'] as const;
type SiteName = (typeof NAMES)[number];

/** Every site a contract test uses: id `<name>.web`, vhost `<name>.example` (and www.). An operator's config routes exactly these. */
export const CONTRACT_SITES = NAMES.map((name) => ({ id: `${name}.web`, vhost: `${name}.example` }));

export const site = (name: SiteName, servers: Upstream[]): ProxySite => ({ id: `${name}.web`, vhosts: [`${name}.example`, `www.${name}.example`], servers });

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection, by Host; `ca`: over TLS (SNI the host), trusting that certificate. */
export function get(port: number, host: string, path = '/', o: { headers?: Record<string, string>; ip?: string; ca?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options = { host: o.ip ?? '127.0.0.1', port, path, agent: false as const, headers: { host, ...o.headers }, timeout: 30_000 };
    const send = o.ca ? (cb: (res: IncomingMessage) => void) => httpsRequest({ ...options, servername: host, ca: o.ca }, cb) : (cb: (res: IncomingMessage) => void) => httpRequest(options, cb);
    const req = send((res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The fixture container that answered (busybox web image: `container=` in CGI output, the hostname in `/`). */
/** Held requests made in this process (each proxy's run of the contract shares the containers). */
let heldRequests = 0;

export const servedBy = (r: Reply) => /container=(\S+)/.exec(r.body)?.[1] ?? /done by (\S+)/.exec(r.body)?.[1] ?? `status ${r.status}`;

export interface ContractWorld {
  /** Three fixture containers. */
  web: Upstream[];
  docker(...args: string[]): string;
}

/** The fixture containers every contract test routes to; created before the file's tests, removed after. */
export function useContractWorld(suite: string): ContractWorld {
  const image = fixtureImage(suite, 'web', '1.0.0');
  const labelArgs = Object.entries(suiteLabels(suite)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
  const world: ContractWorld = { web: [], docker };
  let network = '';
  beforeAll(() => {
    sweepLeftovers(suite);
    buildWebImage({ tag: image, version: '1.0.0' });
    network = uniqueName('proxynet');
    docker('network', 'create', ...labelArgs, network);
    for (const n of [1, 2, 3]) {
      const name = `${network}-web${n}`;
      docker('run', '-d', '--name', name, '--hostname', name, '--network', network, ...labelArgs, image);
      const ip = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name);
      world.web.push({ name, ip, port: 80 });
    }
  }, 300_000);
  afterAll(() => {
    const ids = docker('ps', '-aq', '--filter', `label=refit.test.suite=${suite}`).split('\n').filter(Boolean);
    if (ids.length) docker('rm', '-f', ...ids);
    if (network) execFileSync('docker', ['network', 'rm', network], { stdio: 'ignore' });
  });
  return world;
}

export interface ContractTarget {
  proxy: ProxyAdapter;
  /** The public HTTP listener (refit's own, or the operator's). */
  httpPort: number;
  /** The proxy process goes away and comes back as its owner would bring it back (refit: killed; guest: the operator restarts it). */
  restart(): Promise<void>;
  /** The operator's own graceful reload (guest modes). */
  operatorReload?: () => Promise<void>;
}

export interface ContractTraits {
  /**
   * false: every server change reloads the proxy's client-facing processes, which closes idle
   * kept-alive client connections (nginx-guest include, caddy api): a request sent at that
   * instant is lost, never answered wrongly. The load test then holds it to exactly that.
   */
  keepAliveSafe: boolean;
  /** The operator reloads the proxy on their own (guest modes). */
  operatorReloads: boolean;
  /** It counts each server's answers and keeps clients on one server on request (counters, observe, affinity): what the watch after an update needs. */
  watches?: boolean;
}

export function proxyContract(name: string, world: ContractWorld, traits: ContractTraits, setup: () => Promise<ContractTarget>, teardown: () => Promise<void>): void {
  describe(`${name}: the proxy adapter contract`, () => {
    let t: ContractTarget;
    let proxy: ProxyAdapter;
    const w = (i: number) => world.web[i - 1]!;
    const base = () => [site('a', [w(1)]), site('b', [w(2)])];
    const at = (host: string, path = '/') => get(t.httpPort, host, path);

    /**
     * A request to `SITE.example` that the container taking it holds in flight until
     * `answer()` (the fixture's /cgi-bin/slow?until=NAME): `inFlightIn` resolves once that
     * container has it, `answeredIn` tells whether it has answered. The containers serve every
     * proxy's run of the contract, so each held request has a name of its own.
     */
    function heldRequest(siteName: string) {
      const name = `${siteName}-${process.pid}-${++heldRequests}`;
      const inContainer = (container: string, ...cmd: string[]) => {
        try {
          world.docker('exec', container, ...cmd);
          return true;
        } catch {
          return false;
        }
      };
      return {
        reply: at(`${siteName}.example`, `/cgi-bin/slow?until=${name}`),
        async inFlightIn(container: string): Promise<void> {
          for (let i = 0; i < 600; i++) {
            if (inContainer(container, 'test', '-e', `/tmp/${name}.started`)) return;
            await sleep(100);
          }
          throw new Error(`the held request never reached ${container}`);
        },
        answer: (container: string) => void inContainer(container, 'touch', `/tmp/${name}`),
        answeredIn: (container: string) => inContainer(container, 'test', '-e', `/tmp/${name}.answered`),
      };
    }

    beforeAll(async () => {
      t = await setup();
      proxy = t.proxy;
      expect(proxy.zeroDowntime).toBe(true);
      await proxy.apply(base());
    }, 120_000);
    afterAll(teardown);

    it('serves each site from its servers', async () => {
      expect(servedBy(await at('a.example'))).toBe(w(1).name);
      expect(servedBy(await at('www.b.example'))).toBe(w(2).name);
    });

    it('balances round-robin across two servers of one site', async () => {
      await proxy.apply([...base(), site('rr', [w(1), w(3)])]);
      const seen: string[] = [];
      for (let i = 0; i < 20; i++) seen.push(servedBy(await at('rr.example')));
      const count = (n: string) => seen.filter((s) => s === n).length;
      expect(count(w(1).name) + count(w(3).name), seen.join(' ')).toBe(20);
      expect(count(w(1).name)).toBeGreaterThanOrEqual(5);
      expect(count(w(3).name)).toBeGreaterThanOrEqual(5);
      expect((await proxy.list('rr.web')).map((s) => [s.name, s.state]).sort()).toEqual([[w(1).name, 'ready'], [w(3).name, 'ready']].sort());
    });

    it("pins refit's probe to the server it names, through the public listener, and names who answered", async () => {
      await proxy.apply([...base(), site('probe', [w(1), w(3)])]);
      for (const up of [w(1), w(3), w(1), w(3)]) {
        const route = (await proxy.probeRoute('probe.web', up))!;
        const r = await get(route.http.port, 'probe.example', '/cgi-bin/echo', { headers: route.headers, ip: route.http.ip });
        expect(servedBy(r)).toBe(up.name);
        expect(r.headers[route.servedBy.header]).toBe(route.servedBy.value);
        // The secret never reaches an app.
        expect(r.body).not.toContain(route.headers['X-Refit-Probe']!);
      }
      // Without the secret nothing is pinned and nobody is named.
      const plain = await at('probe.example');
      expect(plain.headers['x-refit-server']).toBeUndefined();
    });

    it('drain lets an in-flight request finish with 200, sends nothing new there, and returns only after it', async () => {
      await proxy.apply([...base(), site('drain', [w(1)])]);
      const held = heldRequest('drain');
      await held.inFlightIn(w(1).name);
      await proxy.add('drain.web', w(3));
      let stopped!: () => void;
      const stoppedNew = new Promise<void>((resolve) => (stopped = resolve));
      // When drain returns, the held request must have answered where it ran.
      const draining = proxy.drain('drain.web', w(1), { timeoutMs: 120_000, onStopped: stopped }).then((r) => ({ ...r, heldAnswered: held.answeredIn(w(1).name) }));
      let finished = false;
      void draining.then(() => (finished = true));
      await stoppedNew;
      // While the request is held, new ones go elsewhere and the drain goes on waiting.
      const during: string[] = [];
      for (let i = 0; i < 5; i++) during.push(servedBy(await at('drain.example')));
      const finishedWhileHeld = finished;
      held.answer(w(1).name);
      const [heldReply, result] = await Promise.all([held.reply, draining]);
      const story = JSON.stringify({ result, during });
      expect(finishedWhileHeld, story).toBe(false);
      expect(heldReply.status, story).toBe(200);
      expect(servedBy(heldReply), story).toBe(w(1).name);
      expect(result, story).toMatchObject({ drained: true, remainingSessions: 0, heldAnswered: true });
      expect(new Set(during), story).toEqual(new Set([w(3).name]));
      const listed = await proxy.list('drain.web');
      expect(listed.find((s) => s.name === w(1).name)).toMatchObject({ state: 'drain', sessions: 0 });
      expect(listed.find((s) => s.name === w(3).name)).toMatchObject({ state: 'ready' });
    });

    it('drain reports when its timeout is hit, and still does not cut the request', async () => {
      await proxy.apply([...base(), site('late', [w(1), w(3)])]);
      await proxy.drain('late.web', w(3), { timeoutMs: 5_000 });
      const held = heldRequest('late');
      await held.inFlightIn(w(1).name);
      const result = await proxy.drain('late.web', w(1), { timeoutMs: 500 });
      held.answer(w(1).name);
      expect(result.drained).toBe(false);
      expect(result.remainingSessions).toBeGreaterThanOrEqual(1);
      expect(result.waitedMs).toBeGreaterThanOrEqual(500);
      const r = await held.reply;
      expect(r.status).toBe(200);
      expect(servedBy(r)).toBe(w(1).name);
    });

    it('removes a server whose requests outlived the drain bound (its container is about to stop)', async () => {
      await proxy.apply([...base(), site('cut', [w(1), w(3)])]);
      await proxy.drain('cut.web', w(3), { timeoutMs: 5_000 });
      const held = heldRequest('cut');
      const reply = held.reply.catch((err: Error) => ({ status: 0, body: err.message }));
      await held.inFlightIn(w(1).name);
      expect((await proxy.drain('cut.web', w(1), { timeoutMs: 300 })).drained).toBe(false);
      await proxy.remove('cut.web', w(1));
      expect((await proxy.list('cut.web')).map((s) => s.name)).not.toContain(w(1).name);
      held.answer(w(1).name);
      await reply;
    });

    it('an apply leaves the servers of a site a maintenance owns as they are, and sets every other site to exactly its servers', async () => {
      await proxy.apply([...base(), site('keep', [w(1)])]);
      await proxy.add('keep.web', w(3));
      await proxy.drain('keep.web', w(1), { timeoutMs: 5_000 });
      await proxy.apply([...base(), site('keep', [w(1)])], { owned: () => new Set(['keep.web']) });
      expect((await proxy.list('keep.web')).map((s) => [s.name, s.state]).sort()).toEqual([[w(1).name, 'drain'], [w(3).name, 'ready']].sort());
      for (let i = 0; i < 4; i++) expect(servedBy(await at('keep.example'))).toBe(w(3).name);
      await proxy.apply([...base(), site('keep', [w(1)])]);
      expect((await proxy.list('keep.web')).map((s) => [s.name, s.state])).toEqual([[w(1).name, 'ready']]);
      for (let i = 0; i < 4; i++) expect(servedBy(await at('keep.example'))).toBe(w(1).name);
      await proxy.apply([...base(), site('keep', [])]);
      // No server in rotation: the site is not served (the proxy's own error answer).
      expect((await at('keep.example')).status).toBeGreaterThanOrEqual(500);
    });

    it(
      traits.keepAliveSafe
        ? 'adds, drains, removes servers and re-syncs under keep-alive load without losing a request'
        : 'adds, drains, removes servers and re-syncs under keep-alive load: every answer right, the only losses requests on kept-alive connections the reloads closed',
      async () => {
        await proxy.apply([...base(), site('load', [w(1)])]);
        const load = startWrk({ url: `http://127.0.0.1:${t.httpPort}`, host: 'load.example', threads: 2, connections: 8, durationMs: 120_000 });
        await load.started;
        const pause = () => sleep(200);
        await pause();
        await proxy.add('load.web', w(2));
        await pause();
        await proxy.add('load.web', w(3));
        await pause();
        await proxy.drain('load.web', w(1), { timeoutMs: 10_000 });
        await proxy.remove('load.web', w(1));
        await pause();
        await proxy.apply([...base(), site('load', [w(2), w(3)])]);
        await proxy.apply([...base(), site('load', [w(2), w(3)]), site('other', [w(1)])]);
        await proxy.add('load.web', w(1));
        await proxy.drain('load.web', w(2), { timeoutMs: 10_000 });
        await proxy.remove('load.web', w(2));
        await pause();
        const result = await load.stop();
        const story = JSON.stringify({ failed: result.failed, byStatus: result.byStatus, unanswered: result.unanswered, errors: result.errors });
        // A wrong route would answer 5xx; a closed kept-alive connection leaves its request unanswered.
        expect(result.byStatus, story).toEqual({});
        expect(result.errors.connect + result.errors.timeout, story).toBe(0);
        if (traits.keepAliveSafe) expect(result.failed, story).toBe(0);
        expect(result.ok, story).toBeGreaterThan(0);
        expect(Object.keys(result.firstLines).length).toBeGreaterThan(0);
        expect((await proxy.list('load.web')).map((s) => s.name).sort()).toEqual([w(1).name, w(3).name].sort());
        await proxy.apply(base());
      },
      120_000,
    );

    it('after the proxy process went away and came back, revive puts the servers back as they were, drains included', async () => {
      await proxy.apply([...base(), site('revive', [w(1), w(2)])]);
      await proxy.drain('revive.web', w(2), { timeoutMs: 5_000 });
      await t.restart();
      await proxy.revive();
      expect((await proxy.list('revive.web')).map((s) => [s.name, s.state]).sort()).toEqual([[w(1).name, 'ready'], [w(2).name, 'drain']].sort());
      for (let i = 0; i < 4; i++) expect(servedBy(await at('revive.example'))).toBe(w(1).name);
      expect(await proxy.revive()).toBe(false);
    }, 60_000);

    if (traits.operatorReloads) {
      it("the operator's own reload keeps the servers refit added and drained", async () => {
        await proxy.apply([...base(), site('reload', [w(1)])]);
        await proxy.add('reload.web', w(3));
        await proxy.drain('reload.web', w(1), { timeoutMs: 5_000 });
        await t.operatorReload!();
        expect((await proxy.list('reload.web')).map((s) => [s.name, s.state]).sort()).toEqual([[w(1).name, 'drain'], [w(3).name, 'ready']].sort());
        for (let i = 0; i < 4; i++) expect(servedBy(await at('reload.example'))).toBe(w(3).name);
      }, 60_000);
    }

    if (traits.watches) {
      it("counts each server's answers and its 5xx while the site is observed, across a reload", async () => {
        // (HAProxy also counts refit's own probes on the server they are pinned to: a handful per update.)
        await proxy.apply([...base(), site('count', [w(1), w(3)])]);
        await proxy.observe?.('count.web', true);
        const tally = new CounterTally(await proxy.counters!('count.web'));
        const served: string[] = [];
        for (let i = 0; i < 10; i++) served.push(servedBy(await at('count.example', i % 2 ? '/cgi-bin/status?503' : '/cgi-bin/echo')));
        // A structural change reloads HAProxy (new worker, new counters; the old worker's are gone once it exits:
        // a reader reads before such a change) and nginx's router (the same log).
        tally.add(await proxy.counters!('count.web'));
        await proxy.apply([...base(), site('count', [w(1), w(3)]), site('other', [w(2)])]);
        for (let i = 0; i < 6; i++) served.push(servedBy(await at('count.example', '/cgi-bin/status?500')));
        const count = (n: number) => served.filter((s) => s === w(n).name).length;
        // nginx writes its log of the site within a second (buffered): wait for the last answers to be counted.
        let totals = { one: tally.servedBy(w(1)), three: tally.servedBy(w(3)) };
        for (let i = 0; i < 50 && totals.one.requests + totals.three.requests < 16; i++) {
          await sleep(100);
          tally.add(await proxy.counters!('count.web'));
          totals = { one: tally.servedBy(w(1)), three: tally.servedBy(w(3)) };
        }
        expect(totals.one.requests, JSON.stringify({ served, totals })).toBe(count(1));
        expect(totals.three.requests, JSON.stringify({ served, totals })).toBe(count(3));
        expect(totals.one.errors + totals.three.errors).toBe(5 + 6);
        await proxy.observe?.('count.web', false);
      }, 60_000);

      it('keeps a client on one server only while affinity is on, and sends the clients of a drained server on', async () => {
        await proxy.apply([...base(), site('sticky', [w(1), w(3)])]);
        const cookieOf = (r: Reply) => [r.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('refit_srv='))?.split(';')[0];
        const plain = await at('sticky.example');
        expect(cookieOf(plain)).toBeUndefined();

        await proxy.affinity!('sticky.web', true);
        // New clients, balanced as before, each get the cookie of the server that answered: one client per server.
        const byServer = new Map<string, string>();
        for (let i = 0; i < 20 && byServer.size < 2; i++) {
          const r = await at('sticky.example');
          expect(cookieOf(r)).toMatch(/^refit_srv=\S+$/);
          byServer.set(servedBy(r), cookieOf(r)!);
        }
        const clients = [...byServer].map(([server, cookie]) => ({ server, cookie }));
        expect(new Set(clients.map((c) => c.server))).toEqual(new Set([w(1).name, w(3).name]));
        expect(clients[0]!.cookie).not.toBe(clients[1]!.cookie);
        for (const c of clients) {
          for (let i = 0; i < 6; i++) expect(servedBy(await get(t.httpPort, 'sticky.example', '/', { headers: { cookie: c.cookie } }))).toBe(c.server);
        }

        // The drained server's clients go to the other one, and get its cookie.
        const onOne = clients.find((c) => c.server === w(1).name)!;
        const onThree = clients.find((c) => c.server === w(3).name)!;
        await proxy.drain('sticky.web', w(1), { timeoutMs: 5_000 });
        const moved = await get(t.httpPort, 'sticky.example', '/', { headers: { cookie: onOne.cookie } });
        expect(servedBy(moved)).toBe(w(3).name);
        expect(cookieOf(moved)).toBe(onThree.cookie);

        await proxy.add('sticky.web', w(1));
        await proxy.affinity!('sticky.web', false);
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) {
          const r = await get(t.httpPort, 'sticky.example', '/', { headers: { cookie: onThree.cookie } });
          expect(cookieOf(r)).toBeUndefined();
          seen.add(servedBy(r));
        }
        expect(seen).toEqual(new Set([w(1).name, w(3).name]));
      }, 60_000);
    }

    it('refuses to add a server to a site it does not know, saying what to run', async () => {
      await expect(proxy.add('unknown.web', w(1))).rejects.toThrow(/site unknown\.web is not configured in the proxy/);
    });
  });
}
