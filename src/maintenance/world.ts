/**
 * @module maintenance/world
 * Everything a maintenance touches outside refit's own memory: the engine, the customer's
 * files, Compose, the proxy, HTTP health checks. Steps see only this interface, so the
 * pipeline's decisions can be tested against a fake world (fake-world.ts) and run for real
 * against real-world.ts.
 */
import type { Verdict, HealthTarget } from '../health/types.js';
import type { MergeReport } from '../merge/report.js';
import type { DrainResult, ProxyAdapter, Upstream } from '../proxy/types.js';
import type { Site } from '../site/discover.js';

/** A container as traffic reaches it. */
export interface Endpoint {
  name: string;
  id: string;
  imageId: string;
  /** The image reference it was created from (what `docker ps` shows). */
  reference: string;
  ip: string;
}

export interface World {
  // Images
  pull(reference: string): Promise<{ imageId: string }>;
  /** Image ID the local tag points at now, or null. */
  tagTarget(reference: string): Promise<string | null>;
  tag(imageId: string, reference: string): Promise<void>;
  /** Whether a running container was created from `reference` (its compose file names it) and runs `imageId`. */
  runsByTag(reference: string, imageId: string): Promise<boolean>;
  /**
   * Unless a container (in any state) uses the image: removes the tags of `reference`'s
   * repository that name it, and the image when no other tag names it. null when kept or gone.
   */
  removeUnusedImage(imageId: string, reference: string): Promise<{ references: string[]; deleted: boolean } | null>;

  // Files under refit's state dir (trusted) and the customer's config dir (untrusted)
  makePrivateDir(path: string): Promise<void>;
  removeDir(path: string): Promise<void>;
  /**
   * Copies `containerPath` out of `image` into `dest` through a temporary container made for
   * `owner` (a maintenance id); that container is gone when this returns, or it throws.
   */
  extractConfigs(image: string, containerPath: string, dest: string, owner: string): Promise<{ refused: { path: string; reason: string }[] }>;
  /** Removes the temporary containers extractConfigs made for `owner` that a failure or a kill left. */
  removeExtractContainers(owner: string): Promise<void>;
  /** The report says which customer tree was merged (`customerFingerprint`). */
  mergeConfigs(dirs: { base: string; latest: string; customer: string; out: string }): Promise<MergeReport>;
  /** Copies the customer's tree to `dest` (replacing it) and says which tree it copied. */
  backupConfigs(customerDir: string, dest: string): Promise<{ fingerprint: string }>;
  pruneBackups(siteBackupsDir: string, keep: number): Promise<void>;
  /**
   * Installs the merged tree in place of the customer's, atomically, only over the tree it was
   * merged from: `installed: false` (and the customer's tree in place) when the tree is not that
   * one any more, checked right before the swap and on the tree the swap replaced. Finishes a
   * half-done install of the same maintenance.
   */
  installConfigs(customerDir: string, mergedDir: string, maintenanceId: string, customerFingerprint: string): Promise<{ installed: boolean }>;
  /** Puts the customer's tree back from whatever state installConfigs reached. */
  restoreConfigs(customerDir: string, maintenanceId: string): Promise<void>;
  /** Drops what installConfigs kept to undo the install. */
  commitConfigs(customerDir: string, maintenanceId: string): Promise<void>;
  /**
   * Removes what a killed refit left outside the journal's reach (config-extract containers of
   * a refit that is gone); names what it removed. Never fails: a failure is logged, and the next
   * recover sweeps again.
   */
  sweepLeftovers(): Promise<string[]>;

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
  /** Stops the site's shadow gracefully (its stop signal and grace period, as Compose does), removes it and what its project created; a no-op when there is none. */
  removeShadow(site: Site): Promise<void>;
  recreateService(compose: Site['compose']): Promise<void>;
  /** The container now running as `name`, or null. */
  endpointOf(name: string): Promise<Endpoint | null>;

  // Traffic
  readonly proxy: ProxyAdapter;
  /** The Docker network the proxy reaches containers on (proxy.network); unset: each container's first. */
  readonly network?: string;
  checkHealth(target: HealthTarget): Promise<Verdict>;
  /**
   * The site as the public reaches it: through the proxy's own listeners, with its vhosts,
   * pinned to `server`, by the health rules. null when there is no proxy to ask.
   */
  checkPublicPath(proxySiteId: string, server: Upstream, site: Pick<HealthTarget, 'vhosts' | 'healthPath'>): Promise<Verdict | null>;
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
