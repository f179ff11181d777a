/**
 * @module maintenance/world
 * Everything a maintenance touches outside refit's own memory: the engine, the customer's
 * files, Compose, the proxy, HTTP health checks. Steps see only this interface, so the
 * pipeline's decisions can be tested against a fake world (fake-world.ts) and run for real
 * against real-world.ts.
 */
import type { Verdict, HealthTarget } from '../health/types.js';
import type { MergeReport } from '../merge/report.js';
import type { DrainResult, ProxyAdapter } from '../proxy/types.js';
import type { Site } from '../site/discover.js';

/** A container as traffic reaches it. */
export interface Endpoint {
  name: string;
  id: string;
  imageId: string;
  ip: string;
}


export interface World {
  // Images
  pull(reference: string): Promise<{ imageId: string }>;
  /** Image ID the local tag points at now, or null. */
  tagTarget(reference: string): Promise<string | null>;
  tag(imageId: string, reference: string): Promise<void>;

  // Files under refit's state dir (trusted) and the customer's config dir (untrusted)
  makePrivateDir(path: string): Promise<void>;
  removeDir(path: string): Promise<void>;
  extractConfigs(image: string, containerPath: string, dest: string): Promise<{ refused: { path: string; reason: string }[] }>;
  mergeConfigs(dirs: { base: string; latest: string; customer: string; out: string }): Promise<MergeReport>;
  backupConfigs(customerDir: string, dest: string): Promise<void>;
  pruneBackups(siteBackupsDir: string, keep: number): Promise<void>;
  installConfigs(customerDir: string, mergedDir: string, maintenanceId: string): Promise<void>;
  restoreConfigs(customerDir: string, maintenanceId: string): Promise<void>;
  commitConfigs(customerDir: string, maintenanceId: string): Promise<void>;

  // Compose
  /**
   * Finds the one value (in a compose or env file) that names the service's image and records
   * in `dest` how the tag bump changes it, `change.from` -> `change.to`; refuses when the
   * project cannot be pointed at `change.to`. Nothing in the project changes.
   */
  saveComposeFiles(compose: Site['compose'], dest: string, change: { from: string; to: string }): Promise<void>;
  /** Undo of the bump: the recorded value back to `from`, only if it holds `to`; nothing else is written. */
  restoreComposeFiles(compose: Site['compose'], savedIn: string): Promise<void>;
  /** Changes the value recorded in `savedIn` to `to`, only while it holds `from`, keeping every other byte. */
  bumpImageTag(compose: Site['compose'], savedIn: string): Promise<{ file: string }>;
  /** Starts (or restarts) the site's shadow: its service from the original compose files plus an override. */
  startShadow(site: Site, req: ShadowRequest): Promise<Endpoint>;
  /** Removes the site's shadow and what its project created; a no-op when there is none. */
  removeShadow(site: Site): Promise<void>;
  recreateService(compose: Site['compose']): Promise<void>;
  /** The container now running as `name`, or null. */
  endpointOf(name: string): Promise<Endpoint | null>;

  // Traffic
  readonly proxy: ProxyAdapter;
  /** The Docker network the proxy reaches containers on (proxy.network); unset: each container's first. */
  readonly network?: string;
  checkHealth(target: HealthTarget): Promise<Verdict>;
  drainTimeoutMs: number;
}

export interface ShadowRequest {
  /** The new image (ID or reference, already on the host). */
  image: string;
  /** The merged config tree mounted at the site's config path; null when the site has none. */
  mergedDir: string | null;
  /** Where the override file is written. */
  scratch: string;
}

export type { DrainResult };
