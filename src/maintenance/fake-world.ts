/**
 * @module maintenance/fake-world
 * An in-memory World for pipeline tests: images and tags, containers with the config tree they
 * started with, the customer's config dir, compose files, a proxy with per-server state. Every
 * call is logged; any call can be made to fail. Not used outside tests.
 */
import { shadowContainerName } from '../compose/override.js';
import type { HealthTarget, Verdict } from '../health/types.js';
import type { Site } from '../site/discover.js';
import type { ApplyOptions, DrainResult, ProxyAdapter, ProxySite, Upstream, UpstreamState } from '../proxy/types.js';
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
  /** As the real adapters: exactly these sites and servers, in rotation; owned sites keep theirs. */
  async apply(sites: ProxySite[], o: ApplyOptions = {}) {
    this.log(`proxy.apply ${sites.map((s) => s.id).join(',')}`);
    const owned = o.owned?.() ?? new Set<string>();
    for (const id of [...this.servers.keys()]) if (!owned.has(id) && !sites.some((s) => s.id === id)) this.servers.delete(id);
    for (const s of sites) {
      if (owned.has(s.id) && this.servers.has(s.id)) continue;
      this.servers.set(s.id, new Map(s.servers.map((up) => [up.name, { ip: up.ip, state: 'ready' as const }])));
    }
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
  async probeRoute() {
    return null;
  }
  async revive() {
    return false;
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
    this.proxy.servers.set(opts.siteId, new Map([[opts.original, { ip: '10.0.0.1', state: 'ready' }]]));
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
  async saveComposeFiles() {
    this.call('save-compose');
  }
  async restoreComposeFiles(): Promise<void> {
    this.call('restore-compose');
    this.composeImage = this.savedComposeImage ?? this.composeImage;
  }
  private savedComposeImage: string | null = null;
  async bumpImageTag(_compose: Site['compose'], reference: string) {
    this.call(`bump ${reference}`);
    this.savedComposeImage ??= this.composeImage;
    this.composeImage = reference;
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
  /** Servers the proxy cannot reach although they answer on their own IP (a broken route). */
  readonly unroutable = new Set<string>();
  async checkPublicPath(siteId: string, server: Upstream, _site?: Pick<HealthTarget, 'vhosts' | 'healthPath'>): Promise<Verdict> {
    this.call(`public ${server.name}`);
    const routed = this.proxy.ready(siteId).includes(server.name) && !this.unroutable.has(server.name);
    const c = this.containers.get(server.name);
    return routed && c && !this.unhealthyImages.has(c.imageId) ? { healthy: true, attempts: [] } : { healthy: false, reason: `GET / answered 503 through the proxy`, attempts: [] };
  }
  async checkHealth(t: HealthTarget): Promise<Verdict> {
    this.call(`health ${t.ip}`);
    const c = [...this.containers.values()].find((x) => x.ip === t.ip);
    return c && !this.unhealthyImages.has(c.imageId) ? { healthy: true, attempts: [] } : { healthy: false, reason: 'GET / answered 500', attempts: [] };
  }
}
