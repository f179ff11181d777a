/**
 * @module maintenance/fake-world
 * An in-memory World for pipeline tests: images and tags, containers with the config tree they
 * started with, the customer's config dir, compose files, a proxy with per-server state. Every
 * call is logged; any call can be made to fail. Not used outside tests.
 */
import { shadowContainerName } from '../compose/override.js';
import type { HealthTarget, Verdict } from '../health/types.js';
import type { Site } from '../site/discover.js';
import type { DrainResult, ProxyAdapter, ProxySite, Upstream, UpstreamState } from '../proxy/types.js';
import type { MergeReport } from '../merge/report.js';
import { summarize } from '../merge/report.js';
import type { Endpoint, ShadowRequest, World } from './world.js';

interface FakeContainer {
  id: string;
  imageId: string;
  ip: string;
  /** Which config tree the container started with. */
  config: string;
}

export class FakeProxy implements ProxyAdapter {
  readonly kind = 'haproxy' as const;
  readonly zeroDowntime = true;
  readonly servers = new Map<string, Map<string, { ip: string; state: UpstreamState['state'] }>>();
  constructor(private readonly log: (call: string) => void) {}
  private site(id: string) {
    let s = this.servers.get(id);
    if (!s) this.servers.set(id, (s = new Map()));
    return s;
  }
  async apply(sites: ProxySite[]) {
    for (const s of sites) for (const up of s.servers) this.site(s.id).set(up.name, { ip: up.ip, state: 'ready' });
  }
  async add(siteId: string, up: Upstream) {
    this.log(`proxy.add ${up.name}`);
    if (this.site(siteId).has(up.name)) throw new Error(`server ${up.name} already in ${siteId}`);
    this.site(siteId).set(up.name, { ip: up.ip, state: 'ready' });
  }
  async drain(siteId: string, up: Upstream): Promise<DrainResult> {
    this.log(`proxy.drain ${up.name}`);
    const s = this.site(siteId).get(up.name);
    if (s) s.state = 'drain';
    return { drained: true, waitedMs: 1, remainingSessions: 0 };
  }
  async remove(siteId: string, up: Upstream) {
    this.log(`proxy.remove ${up.name}`);
    this.site(siteId).delete(up.name);
  }
  async list(siteId: string): Promise<UpstreamState[]> {
    return [...this.site(siteId)].map(([name, s]) => ({ name, ip: s.ip, port: 80, state: s.state, sessions: 0 }));
  }
  async stop() {}
  /** Names of servers that get new requests. */
  ready(siteId: string): string[] {
    return [...this.site(siteId)].filter(([, s]) => s.state === 'ready').map(([n]) => n);
  }
}

export class FakeWorld implements World {
  readonly calls: string[] = [];
  readonly tags = new Map<string, string>();
  /** What a pull of a reference brings. */
  readonly registry = new Map<string, string>();
  readonly containers = new Map<string, FakeContainer>();
  readonly dirs = new Set<string>();
  /** The customer's config dir: which tree it holds. */
  customerConfig = 'customer-v1';
  composeImage: string;
  readonly backups: string[] = [];
  readonly proxy: FakeProxy;
  drainTimeoutMs = 1000;
  /** Containers on these images fail their health check. */
  readonly unhealthyImages = new Set<string>();
  /** The next call whose log line starts with this prefix throws (once). */
  failOn: string | null = null;
  private ids = 0;

  constructor(opts: { original: string; image: { reference: string; id: string }; siteId: string }) {
    this.proxy = new FakeProxy((c) => this.call(c));
    this.composeImage = opts.image.reference;
    this.tags.set(opts.image.reference, opts.image.id);
    this.containers.set(opts.original, { id: 'c0', imageId: opts.image.id, ip: '10.0.0.1', config: this.customerConfig });
    void this.proxy.apply([{ id: opts.siteId, vhosts: [], servers: [{ name: opts.original, ip: '10.0.0.1', port: 80 }] }]);
  }

  private call(line: string): void {
    this.calls.push(line);
    if (this.failOn && line.startsWith(this.failOn)) {
      this.failOn = null;
      throw new Error(`injected failure at ${line}`);
    }
  }

  private newContainer(name: string, imageId: string, config: string): void {
    const n = ++this.ids;
    this.containers.set(name, { id: `c${n}`, imageId, ip: `10.0.1.${n}`, config });
  }

  async pull(reference: string) {
    this.call(`pull ${reference}`);
    const id = this.registry.get(reference);
    if (!id) throw new Error(`no ${reference} in the registry`);
    this.tags.set(reference, id);
    return { imageId: id };
  }
  async tagTarget(reference: string) {
    return this.tags.get(reference) ?? null;
  }
  async tag(imageId: string, reference: string) {
    this.call(`tag ${reference}`);
    this.tags.set(reference, imageId);
  }
  async makePrivateDir(path: string) {
    this.call(`mkdir ${path}`);
    this.dirs.add(path);
  }
  async removeDir(path: string) {
    this.call(`rmdir ${path}`);
    this.dirs.delete(path);
  }
  async extractConfigs(image: string) {
    this.call(`extract ${image}`);
    return { refused: [] };
  }
  async mergeConfigs(dirs: { base: string; latest: string; customer: string; out: string }): Promise<MergeReport> {
    this.call('merge');
    const items: MergeReport['items'] = [{ path: 'site.conf', kind: 'file', outcome: 'merged' }];
    return { ...dirs, items, refused: [], notes: [], summary: summarize(items) };
  }
  async backupConfigs(_dir: string, dest: string) {
    this.call('backup');
    this.backups.push(dest);
  }
  async pruneBackups() {
    this.call('prune-backups');
  }
  async installConfigs() {
    this.call('install-configs');
    this.customerConfig = 'merged';
  }
  async restoreConfigs() {
    this.call('restore-configs');
    if (this.customerConfig === 'merged') this.customerConfig = 'customer-v1';
  }
  async commitConfigs() {
    this.call('commit-configs');
  }
  /** The image edit each scratch dir records, as the real one does in compose-files.ts. */
  private readonly savedEdits = new Map<string, { from: string; to: string }>();
  async saveComposeFiles(_compose: Site['compose'], dest: string, change: { from: string; to: string }) {
    this.call('save-compose');
    this.savedEdits.set(dest, change);
  }
  async restoreComposeFiles(_compose: Site['compose'], savedIn: string): Promise<void> {
    this.call('restore-compose');
    const edit = this.savedEdits.get(savedIn);
    if (edit && this.composeImage === edit.to) this.composeImage = edit.from;
    else if (edit && this.composeImage !== edit.from) throw new Error(`compose image is ${this.composeImage}, neither ${edit.from} nor ${edit.to}`);
  }
  async bumpImageTag(_compose: Site['compose'], savedIn: string) {
    const edit = this.savedEdits.get(savedIn);
    if (!edit) throw new Error(`no image edit recorded in ${savedIn}`);
    this.call(`bump ${edit.to}`);
    if (this.composeImage !== edit.from && this.composeImage !== edit.to) throw new Error(`compose image is ${this.composeImage}, not ${edit.from}`);
    this.composeImage = edit.to;
    return { file: 'docker-compose.yml' };
  }
  async startShadow(site: Site, req: ShadowRequest): Promise<Endpoint> {
    const name = shadowContainerName(site.name);
    this.call(`shadow.start ${name}`);
    this.newContainer(name, this.tags.get(req.image) ?? req.image, 'merged');
    return (await this.endpointOf(name))!;
  }
  async removeShadow(site: Site) {
    const name = shadowContainerName(site.name);
    this.call(`shadow.remove ${name}`);
    this.containers.delete(name);
  }
  async recreateService(site: { service: string }) {
    const name = [...this.containers.keys()].find((n) => !n.includes('shadow'))!;
    this.call(`recreate ${site.service}`);
    const imageId = this.tags.get(this.composeImage);
    if (!imageId) throw new Error(`no image ${this.composeImage}`);
    this.newContainer(name, imageId, this.customerConfig);
  }
  async endpointOf(name: string): Promise<Endpoint | null> {
    const c = this.containers.get(name);
    return c ? { name, id: c.id, imageId: c.imageId, ip: c.ip } : null;
  }
  async checkHealth(t: HealthTarget): Promise<Verdict> {
    this.call(`health ${t.ip}`);
    const c = [...this.containers.values()].find((x) => x.ip === t.ip);
    return c && !this.unhealthyImages.has(c.imageId) ? { healthy: true, attempts: [] } : { healthy: false, reason: 'GET / answered 500', attempts: [] };
  }
}
