/**
 * @module proxy/types
 * The contract between the maintenance engine and the reverse proxy on the host: which sites
 * the proxy serves, which servers (containers) are in each site's rotation, and draining.
 * One contract test suite (contract.host.test.ts) holds every adapter to it.
 */

import type { DoctorReport } from './doctor.js';

/** One container behind the proxy. `name` is the container name, unique within a site. */
export interface Upstream {
  name: string;
  ip: string;
  port: number;
}

/** A site as the proxy sees it: the hostnames it answers and the servers it balances over. */
export interface ProxySite {
  id: string;
  vhosts: string[];
  servers: Upstream[];
}

/** ready: gets new requests; drain: finishes what it has, gets none new; maint: out of rotation. */
export type ServerState = 'ready' | 'drain' | 'maint';

export interface UpstreamState extends Upstream {
  state: ServerState;
  /** Requests in flight on this server (HAProxy); nginx cannot count them per server, see docs/proxy.md. */
  sessions: number;
}

export interface ApplyOptions {
  /**
   * Sites a maintenance owns right now (their servers are the engine's to move): apply leaves
   * their servers exactly as they are. Asked under the proxy lock, so no maintenance can take
   * a site between the question and the change.
   */
  owned?: () => ReadonlySet<string>;
  /**
   * Sites whose responses are counted now (an open watch after an update): apply keeps counting
   * them and stops counting any other site (what a refit that died while watching left on).
   * Absent: counting stays as it is.
   */
  observed?: () => ReadonlySet<string>;
  /**
   * Called when the proxy had been set up, its process was gone, and this apply started it
   * again from its state (what `revive` does, done on the way): a restart is always reported.
   */
  restarted?: () => void;
}

/** Where a proxy listens for the public, as refit's own probes reach it. */
export interface Listener {
  ip: string;
  port: number;
}

/**
 * How refit's probe reaches one server through the proxy's public listeners: the request
 * carries `headers` (a secret that marks it as refit's, and the server to pin it to), and the
 * proxy names the server that answered in the response header `servedBy.header`.
 */
export interface ProbeRoute {
  http: Listener;
  /** null: the proxy has no certificate, so no HTTPS listener. */
  https: Listener | null;
  headers: Record<string, string>;
  servedBy: { header: string; value: string };
}

/** drained=false means the timeout was hit with `remainingSessions` still in flight. */
export interface DrainResult {
  drained: boolean;
  waitedMs: number;
  remainingSessions: number;
}

export interface DrainOptions {
  timeoutMs: number;
  /** Called once the server gets no new requests, before the wait for in-flight ones (for logs and progress). */
  onStopped?: () => void;
}

/**
 * A server's responses as the proxy counted them (the watch after an update). The numbers of
 * one `key` only grow: it names a counter that lives as long as it does (a HAProxy worker's
 * server slot; one generation of nginx's log of the site), and a key not seen before started
 * from 0. The address is where the counter's requests went.
 */
export interface ServerCounters {
  key: string;
  ip: string;
  port: number;
  /** Responses the server gave. */
  responses: number;
  /** Of them, the 5xx. */
  errors: number;
}

/** refit-run proxies, the guest modes inside the operator's own proxy (docs/proxy.md), and none. */
export type ProxyKind = 'haproxy' | 'nginx' | 'haproxy-guest' | 'nginx-guest' | 'caddy' | 'none';

export interface ProxyAdapter {
  readonly kind: ProxyKind;
  /** false for `none`: the engine must refuse zero-downtime steps. */
  readonly zeroDowntime: boolean;
  /**
   * Makes the proxy serve exactly this site set with exactly these servers, in rotation
   * (starting the proxy if needed); sites in `owned` keep the servers and states they have.
   */
  apply(sites: ProxySite[], o?: ApplyOptions): Promise<void>;
  /** Puts a server into the site's rotation now; the caller guarantees it passed its health check. */
  add(siteId: string, up: Upstream): Promise<void>;
  /** Stops new requests to the server and waits for its in-flight ones (wherever they run), bounded by timeoutMs. */
  drain(siteId: string, up: Upstream, o: DrainOptions): Promise<DrainResult>;
  /** Takes the server out of the site for good (drain it first, or its in-flight requests may fail). */
  remove(siteId: string, up: Upstream): Promise<void>;
  list(siteId: string): Promise<UpstreamState[]>;
  /** How refit's probes reach `up` through the public listeners; null when there is no proxy. */
  probeRoute(siteId: string, up: Upstream): Promise<ProbeRoute | null>;
  /**
   * Optional (the proxies refit runs): each server's responses (see ServerCounters), counted
   * since observe(siteId, true) where counting costs something (HAProxy always counts).
   */
  counters?(siteId: string): Promise<ServerCounters[]>;
  /** Optional, with counters: starts or stops counting the site's responses (nginx: the router's log of it); idempotent. */
  observe?(siteId: string, on: boolean): Promise<void>;
  /**
   * Optional (the proxies refit runs): while on, a client that got an answer from one server of
   * the site keeps getting that server (a cookie) as long as it is in rotation; a drained
   * server's clients are sent on to the others. Off: the proxy sets no cookie. Idempotent.
   */
  affinity?(siteId: string, on: boolean): Promise<void>;
  /**
   * Starts the proxy again from its state when its process is gone (killed, crashed), drains
   * included. Resolves true when it had to; a no-op before the proxy was ever set up.
   */
  revive(): Promise<boolean>;
  /** Stops the proxy process refit started (tests, demo teardown). */
  stop(): Promise<void>;
  /**
   * Guest modes only: reads the operator's proxy and says, site by site, whether refit can
   * manage it and what is missing. Changes nothing of the operator's; it makes refit's own
   * files the operator's config refers to (probe token, empty route files) when absent.
   */
  doctor?(sites: ProxySite[]): Promise<DoctorReport>;
}
