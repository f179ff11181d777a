/**
 * @module proxy/types
 * The contract between the maintenance engine and the reverse proxy on the host: which sites
 * the proxy serves, which servers (containers) are in each site's rotation, and draining.
 * One contract test suite (contract.host.test.ts) holds every adapter to it.
 */

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

export type ProxyKind = 'haproxy' | 'nginx' | 'none';

export interface ProxyAdapter {
  readonly kind: ProxyKind;
  /** false for `none`: the engine must refuse zero-downtime steps. */
  readonly zeroDowntime: boolean;
  /** Makes the proxy serve exactly this site set (starting it if needed). Servers added with add() and drain/maint states survive. */
  apply(sites: ProxySite[]): Promise<void>;
  /** Puts a server into the site's rotation now; the caller guarantees it passed its health check. */
  add(siteId: string, up: Upstream): Promise<void>;
  /** Stops new requests to the server and waits for its in-flight ones, bounded by timeoutMs. */
  drain(siteId: string, up: Upstream, o: DrainOptions): Promise<DrainResult>;
  /** Takes the server out of the site for good (drain it first, or its in-flight requests may fail). */
  remove(siteId: string, up: Upstream): Promise<void>;
  list(siteId: string): Promise<UpstreamState[]>;
  /** Stops the proxy process refit started (tests, demo teardown). */
  stop(): Promise<void>;
}
