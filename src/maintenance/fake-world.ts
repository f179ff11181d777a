/**
 * @module maintenance/fake-world
 * An in-memory World for pipeline tests, as faithful to the real one as its contract tests
 * (world.contract.ts) can tell: images and tags, containers with the config tree they started
 * with, the customer's config dir and the swap's sibling trees, scratch files, compose files,
 * config-extract containers, and a proxy whose add is two commands like HAProxy's (`add server`
 * in maintenance, then `set server … state ready`).
 *
 * Every side effect is one named command. Tests watch them through `onCommand`, called before
 * and after each: throwing there fails the command before its effect, or after it (a failure
 * between two commands of one call), or kills refit there. Not used outside tests.
 */
import { shadowContainerName } from '../compose/override.js';
import type { HealthTarget, Verdict } from '../health/types.js';
import type { MergeReport } from '../merge/report.js';
import { summarize } from '../merge/report.js';
import type { ApplyOptions, DrainResult, ProxyAdapter, ProxySite, ServerCounters, ServerState, Upstream, UpstreamState } from '../proxy/types.js';
import { repoKeyOf } from '../registry/reference.js';
import type { Site } from '../site/discover.js';
import { swapNames } from '../site-config/swap.js';
import type { Endpoint, ShadowRequest, World } from './world.js';

export interface FakeContainer {
  id: string;
  imageId: string;
  /** What it was created from: the compose file's image reference, or an image ID. */
  reference: string;
  ip: string;
  /** The tree bind-mounted at its config path: the directory itself, so it sees edits made to it, wherever it is renamed to. */
  config: FakeDir | null;
  running: boolean;
}

export type CommandHook = (command: string, when: 'before' | 'after') => void;

/** A directory (or file) of the fake's file system: its content is a name; renames move the object, edits change it in place. */
export interface FakeDir {
  tree: string;
}

/** The fake's config trees are names; a merge of tree T is `merged(T)`. */
export const mergedTree = (customer: string): string => `merged(${customer})`;
const fingerprintOf = (tree: string): string => `fp:${tree}`;

export class FakeProxy implements ProxyAdapter {
  readonly kind = 'haproxy' as const;
  readonly zeroDowntime = true;
  readonly servers = new Map<string, Map<string, { ip: string; port: number; state: ServerState }>>();
  /** Sites whose clients stay with one server (affinity on). */
  readonly affinitySites = new Set<string>();
  /** Sites whose responses are counted (observe on). */
  readonly observedSites = new Set<string>();
  /** What each address has answered, as the proxy counts it (tests add traffic with serve()). */
  readonly answered = new Map<string, { responses: number; errors: number }>();
  constructor(private readonly cmd: FakeWorld['cmd']) {}
  private site(id: string) {
    let s = this.servers.get(id);
    if (!s) this.servers.set(id, (s = new Map()));
    return s;
  }
  /** Like HAProxy's: per server slot (here: per address), only growing. */
  async counters(siteId: string): Promise<ServerCounters[]> {
    return this.cmd('proxy.counters', () =>
      [...this.site(siteId).values()].map((s) => ({ key: `fake/${s.ip}:${s.port}`, ip: s.ip, port: s.port, ...(this.answered.get(`${s.ip}:${s.port}`) ?? { responses: 0, errors: 0 }) })),
    );
  }
  async observe(siteId: string, on: boolean) {
    this.cmd(`proxy.observe ${on ? 'on' : 'off'}`, () => (on ? this.observedSites.add(siteId) : this.observedSites.delete(siteId)));
  }
  async affinity(siteId: string, on: boolean) {
    this.cmd(`proxy.affinity ${on ? 'on' : 'off'}`, () => (on ? this.affinitySites.add(siteId) : this.affinitySites.delete(siteId)));
  }
  /** Traffic: the server at this address answered `responses` more requests, `errors` of them 5xx. */
  serve(ip: string, responses: number, errors = 0, port = 80): void {
    const was = this.answered.get(`${ip}:${port}`) ?? { responses: 0, errors: 0 };
    this.answered.set(`${ip}:${port}`, { responses: was.responses + responses, errors: was.errors + errors });
  }
  /** As the real adapters: exactly these sites and servers, in rotation; owned sites keep theirs. */
  async apply(sites: ProxySite[], o: ApplyOptions = {}) {
    this.cmd(`proxy.apply ${sites.map((s) => s.id).join(',')}`, () => {
      const owned = o.owned?.() ?? new Set<string>();
      for (const id of [...this.servers.keys()]) if (!owned.has(id) && !sites.some((s) => s.id === id)) this.servers.delete(id);
      for (const s of sites) {
        if (owned.has(s.id) && this.servers.has(s.id)) continue;
        this.servers.set(s.id, new Map(s.servers.map((up) => [up.name, { ip: up.ip, port: up.port, state: 'ready' as ServerState }])));
      }
    });
  }
  /** Like HAProxy's: a new server is added in maintenance, then set ready; an existing one gets its address, then ready. */
  async add(siteId: string, up: Upstream) {
    const site = this.site(siteId);
    if (!site.has(up.name)) this.cmd(`proxy.add-server ${up.name}`, () => site.set(up.name, { ip: up.ip, port: up.port, state: 'maint' }));
    else this.cmd(`proxy.set-addr ${up.name}`, () => Object.assign(site.get(up.name)!, { ip: up.ip, port: up.port }));
    this.cmd(`proxy.set-ready ${up.name}`, () => {
      const s = site.get(up.name);
      if (!s) throw new Error(`no server ${up.name} in ${siteId}`);
      s.state = 'ready';
    });
  }
  async drain(siteId: string, up: Upstream): Promise<DrainResult> {
    const s = this.site(siteId).get(up.name);
    if (s) this.cmd(`proxy.drain ${up.name}`, () => (s.state = 'drain'));
    return { drained: true, waitedMs: 0, remainingSessions: 0 };
  }
  async remove(siteId: string, up: Upstream) {
    const site = this.site(siteId);
    if (!site.has(up.name)) return;
    this.cmd(`proxy.set-maint ${up.name}`, () => (site.get(up.name)!.state = 'maint'));
    this.cmd(`proxy.del-server ${up.name}`, () => site.delete(up.name));
  }
  async list(siteId: string): Promise<UpstreamState[]> {
    return this.cmd('proxy.list', () => [...this.site(siteId)].map(([name, s]) => ({ name, ip: s.ip, port: s.port, state: s.state, sessions: 0 })));
  }
  async probeRoute() {
    return null;
  }
  async revive() {
    return false;
  }
  async stop() {}
  /** Names of the servers that get new requests. */
  ready(siteId: string): string[] {
    return [...this.site(siteId)].filter(([, s]) => s.state === 'ready').map(([n]) => n);
  }
}

export interface FakeWorldOptions {
  original: string;
  image: { reference: string; id: string };
  siteId: string;
  /** The customer's config dir, or null for a site without one. */
  configDir: string | null;
  /** Its Compose service (default `web`); services of one project share the compose file and its tags. */
  service?: string;
}

/** One site (a service of the project) as the fake world keeps it. */
export interface FakeService {
  original: string;
  siteId: string;
  configDir: string | null;
  /** The image the compose file names for the service. */
  composeImage: string;
  /** The customer's own tree as they last left it (their latest edit). */
  customerEdits: string;
}

export class FakeWorld implements World {
  /** Every command, in order. */
  readonly calls: string[] = [];
  onCommand: CommandHook | null = null;
  /** The next command whose line starts with this prefix fails before its effect (once). */
  failOn: string | null = null;
  readonly tags = new Map<string, string>();
  /** IDs of the images on the host (an image stays when its tag moves on, as in Docker). */
  readonly images = new Set<string>();
  /** What a pull of a reference brings. */
  readonly registry = new Map<string, string>();
  readonly containers = new Map<string, FakeContainer>();
  /** Config-extract containers by id: the refit process (generation) that made each, and what for. */
  readonly extractContainers = new Map<string, { generation: number; owner: string }>();
  /** The refit process now running: a killed refit's successor has the next number. */
  generation = 0;
  /** Trees and files by path: the customer's config dir and its swap siblings, scratch, backups. */
  readonly fs = new Map<string, FakeDir>();
  /** The sites by Compose service; the first is the one the constructor made. */
  readonly services = new Map<string, FakeService>();
  readonly proxy: FakeProxy;
  drainTimeoutMs = 1000;
  /** Containers on these images fail their health check. */
  readonly unhealthyImages = new Set<string>();
  /** Containers this says so of fail their health check too. */
  unhealthyWhen: ((name: string, c: FakeContainer) => boolean) | null = null;
  /** IDs of containers that passed a health check. */
  readonly proven = new Set<string>();
  private ids = 0;

  constructor(readonly opts: FakeWorldOptions) {
    this.proxy = new FakeProxy((line, effect) => this.cmd(line, effect));
    this.addSite(opts);
  }

  /** Another site on this host: its original container on its image, in the proxy, with the customer's tree. */
  addSite(opts: FakeWorldOptions): FakeService {
    const service = opts.service ?? 'web';
    const id = this.services.size;
    const site: FakeService = { original: opts.original, siteId: opts.siteId, configDir: opts.configDir, composeImage: opts.image.reference, customerEdits: 'customer-v1' };
    this.services.set(service, site);
    this.tags.set(opts.image.reference, opts.image.id);
    this.images.add(opts.image.id);
    const customer = { tree: site.customerEdits };
    if (opts.configDir) this.fs.set(opts.configDir, customer);
    const ip = `10.0.0.${id + 1}`;
    this.containers.set(opts.original, { id: `c0-${id}`.replace(/-0$/, ''), imageId: opts.image.id, reference: opts.image.reference, ip, config: opts.configDir ? customer : null, running: true });
    this.proxy.servers.set(opts.siteId, new Map([[opts.original, { ip, port: 80, state: 'ready' }]]));
    return site;
  }

  /** The site of a Compose service. */
  service(name: string = this.services.keys().next().value!): FakeService {
    const site = this.services.get(name);
    if (!site) throw new Error(`no service ${name} in the fake project`);
    return site;
  }

  /** The image the compose file names for the first site's service. */
  get composeImage(): string {
    return this.service().composeImage;
  }
  set composeImage(reference: string) {
    this.service().composeImage = reference;
  }

  /** One command: logged, watched before and after, and its effect in between. */
  cmd<T>(line: string, effect: () => T): T {
    this.calls.push(line);
    if (this.failOn && line.startsWith(this.failOn)) {
      this.failOn = null;
      throw new Error(`injected failure at ${line}`);
    }
    this.onCommand?.(line, 'before');
    const result = effect();
    this.onCommand?.(line, 'after');
    return result;
  }

  /** The customer's config dir's tree (of the first site, or the service's), or null while it is absent. */
  get customerConfig(): string | null {
    return this.configOf();
  }
  configOf(service?: string): string | null {
    const dir = this.service(service).configDir;
    return dir ? this.treeAt(dir) : null;
  }

  /** What is at `path`, or null. */
  treeAt(path: string): string | null {
    return this.fs.get(path)?.tree ?? null;
  }

  /** The first site's customer tree as they last left it (their latest edit). */
  get customerEdits(): string {
    return this.service().customerEdits;
  }

  /** A customer edit: a new version of their tree (only while the dir holds their tree, not a merged one). */
  editCustomerConfig(service?: string): boolean {
    const site = this.service(service);
    const dir = site.configDir ? this.fs.get(site.configDir) : undefined;
    if (!dir || dir.tree !== site.customerEdits) return false;
    site.customerEdits = `customer-v${Number(site.customerEdits.slice('customer-v'.length)) + 1}`;
    dir.tree = site.customerEdits;
    return true;
  }

  /** Paths under `root` (itself included). */
  pathsUnder(root: string): string[] {
    return [...this.fs.keys()].filter((p) => p === root || p.startsWith(`${root}/`));
  }

  private newContainer(name: string, reference: string, config: FakeDir | null): void {
    const n = ++this.ids;
    const imageId = this.tags.get(reference) ?? reference;
    this.containers.set(name, { id: `c${n}`, imageId, reference, ip: `10.0.1.${n}`, config, running: true });
  }

  private requireDir(path: string, what: string): FakeDir {
    const dir = this.fs.get(path);
    if (dir === undefined) throw new Error(`${what} ${path} does not exist`);
    return dir;
  }

  private parentMustExist(path: string): void {
    const parent = path.slice(0, path.lastIndexOf('/'));
    if (!this.fs.has(parent)) throw new Error(`ENOENT: ${parent} does not exist`);
  }

  async pull(reference: string) {
    return this.cmd(`pull ${reference}`, () => {
      const id = this.registry.get(reference);
      if (!id) throw new Error(`no ${reference} in the registry`);
      this.images.add(id);
      this.tags.set(reference, id);
      return { imageId: id };
    });
  }
  async tagTarget(reference: string) {
    return this.cmd(`tag-target ${reference}`, () => this.tags.get(reference) ?? null);
  }
  async tag(imageId: string, reference: string) {
    this.cmd(`tag ${reference}`, () => {
      if (!this.images.has(imageId)) throw new Error(`no such image ${imageId}`);
      this.tags.set(reference, imageId);
    });
  }
  async runsByTag(reference: string, imageId: string) {
    return this.cmd(`runs-by-tag ${reference}`, () => [...this.containers.values()].some((c) => c.running && c.reference === reference && c.imageId === imageId));
  }
  async removeUnusedImage(imageId: string, reference: string) {
    return this.cmd(`remove-image ${imageId}`, () => {
      if (!this.images.has(imageId) || [...this.containers.values()].some((c) => c.imageId === imageId)) return null;
      const naming = [...this.tags].filter(([, id]) => id === imageId).map(([tag]) => tag);
      const references = naming.filter((tag) => (repoKeyOf(tag) ?? tag) === (repoKeyOf(reference) ?? reference));
      for (const tag of references) this.tags.delete(tag);
      const deleted = references.length === naming.length;
      if (deleted) this.images.delete(imageId);
      return { references, deleted };
    });
  }
  async makePrivateDir(path: string) {
    this.cmd(`mkdir ${path}`, () => this.fs.set(path, this.fs.get(path) ?? { tree: 'dir' }));
  }
  async removeDir(path: string) {
    this.cmd(`rmdir ${path}`, () => {
      for (const p of this.pathsUnder(path)) this.fs.delete(p);
    });
  }
  async extractConfigs(image: string, _containerPath: string, dest: string, owner: string) {
    const id = this.cmd(`extract.create ${image}`, () => {
      const cid = `x${++this.ids}`;
      this.extractContainers.set(cid, { generation: this.generation, owner });
      return cid;
    });
    try {
      this.cmd(`extract.copy ${dest}`, () => {
        this.parentMustExist(dest);
        this.fs.set(dest, { tree: `stock(${this.tags.get(image) ?? image})` });
      });
    } finally {
      this.cmd(`extract.remove ${id}`, () => this.extractContainers.delete(id));
    }
    return { refused: [] };
  }
  async mergeConfigs(dirs: { base: string; latest: string; customer: string; out: string }): Promise<MergeReport> {
    return this.cmd(`merge ${dirs.out}`, () => {
      this.requireDir(dirs.base, 'stock configs');
      this.requireDir(dirs.latest, 'stock configs');
      this.parentMustExist(dirs.out);
      const customer = this.requireDir(dirs.customer, 'config dir').tree;
      // As the real merge: a customer tree equal to the base takes the latest side whole (a revert's merge).
      const base = this.requireDir(dirs.base, 'stock configs').tree;
      this.fs.set(dirs.out, { tree: customer === base ? this.requireDir(dirs.latest, 'stock configs').tree : mergedTree(customer) });
      const items: MergeReport['items'] = [{ path: 'site.conf', kind: 'file', outcome: 'merged' }];
      return { ...dirs, items, refused: [], notes: [], summary: summarize(items), customerFingerprint: fingerprintOf(customer) };
    });
  }
  async backupConfigs(dir: string, dest: string) {
    return this.cmd(`backup ${dest}`, () => {
      const { tree } = this.requireDir(dir, 'config dir');
      this.fs.set(dest, { tree });
      return { fingerprint: fingerprintOf(tree) };
    });
  }
  async pruneBackups() {
    this.cmd('prune-backups', () => undefined);
  }
  async installConfigs(dir: string, mergedDir: string, maintenanceId: string, customerFingerprint: string) {
    const n = swapNames(dir, maintenanceId);
    const current = this.treeAt(dir);
    if (current === null || fingerprintOf(current) !== customerFingerprint) return { installed: false };
    this.cmd('swap.stage', () => this.fs.set(n.staging, { tree: this.requireDir(mergedDir, 'merged tree').tree }));
    this.cmd('swap.out', () => this.rename(dir, n.previous));
    this.cmd('swap.in', () => this.rename(n.staging, dir));
    if (fingerprintOf(this.treeAt(n.previous)!) === customerFingerprint) return { installed: true };
    await this.restoreConfigs(dir, maintenanceId);
    return { installed: false };
  }
  async restoreConfigs(dir: string, maintenanceId: string) {
    const n = swapNames(dir, maintenanceId);
    if (this.fs.has(n.previous)) {
      if (this.fs.has(dir)) this.cmd('swap.back-out', () => this.rename(dir, n.discard));
      this.cmd('swap.back-in', () => this.rename(n.previous, dir));
    }
    for (const leftover of [n.discard, n.staging]) if (this.fs.has(leftover)) this.cmd(`swap.drop ${leftover}`, () => this.fs.delete(leftover));
  }
  async commitConfigs(dir: string, maintenanceId: string) {
    const n = swapNames(dir, maintenanceId);
    for (const leftover of [n.previous, n.staging, n.discard]) if (this.fs.has(leftover)) this.cmd(`swap.drop ${leftover}`, () => this.fs.delete(leftover));
  }
  private rename(from: string, to: string): void {
    const dir = this.requireDir(from, 'rename source');
    if (this.fs.has(to)) throw new Error(`rename target ${to} exists`);
    this.fs.delete(from);
    this.fs.set(to, dir);
  }
  /** The image edit a scratch dir records (a file there, as the real one writes in compose-files.ts): which service's value, from what to what. */
  async saveComposeFiles(compose: Site['compose'], dest: string, change: { from: string; to: string }) {
    this.cmd(`save-compose ${dest}`, () => {
      this.parentMustExist(dest);
      this.fs.set(dest, { tree: JSON.stringify({ service: compose.service, ...change }) });
    });
  }
  private recordedEdit(savedIn: string): { service: string; from: string; to: string } | null {
    const text = this.treeAt(savedIn);
    return text === null ? null : (JSON.parse(text) as { service: string; from: string; to: string });
  }
  /** As the real one: the value goes back only while it holds what the bump wrote. */
  async restoreComposeFiles(_compose: Site['compose'], savedIn: string) {
    const edit = this.recordedEdit(savedIn);
    if (!edit) return;
    const site = this.service(edit.service);
    if (site.composeImage === edit.from) return;
    if (site.composeImage !== edit.to) throw new Error(`compose image is ${site.composeImage}, neither ${edit.from} nor ${edit.to}`);
    this.cmd(`restore-compose ${edit.service}`, () => (site.composeImage = edit.from));
  }
  /** As the real one: the value changes only while it holds the old reference (or already the new one). */
  async bumpImageTag(_compose: Site['compose'], savedIn: string) {
    const edit = this.recordedEdit(savedIn);
    if (!edit) throw new Error(`no image edit recorded in ${savedIn}`);
    const site = this.service(edit.service);
    if (site.composeImage !== edit.from && site.composeImage !== edit.to) throw new Error(`compose image is ${site.composeImage}, not ${edit.from}`);
    this.cmd(`bump ${edit.service} ${edit.to}`, () => (site.composeImage = edit.to));
    return { file: 'docker-compose.yml' };
  }
  async startShadow(site: Site, req: ShadowRequest): Promise<Endpoint> {
    const name = shadowContainerName(site.name);
    this.cmd(`shadow.override ${req.scratch}`, () => {
      this.requireDir(req.scratch, 'scratch dir');
      this.fs.set(`${req.scratch}/shadow.compose.yml`, { tree: req.image });
    });
    this.cmd(`shadow.up ${name}`, () => this.newContainer(name, req.image, req.mergedDir ? this.requireDir(req.mergedDir, 'merged tree') : null));
    return (await this.endpointOf(name))!;
  }
  async removeShadow(site: Site) {
    const name = shadowContainerName(site.name);
    const shadow = this.containers.get(name);
    if (!shadow) return;
    if (shadow.running) this.cmd(`shadow.stop ${name}`, () => (shadow.running = false));
    this.cmd(`shadow.rm ${name}`, () => this.containers.delete(name));
  }
  async recreateService(compose: Site['compose']) {
    const site = this.service(compose.service);
    this.cmd(`recreate.rm ${compose.service}`, () => this.containers.delete(site.original));
    this.cmd(`recreate.up ${compose.service}`, () => {
      if (!this.tags.get(site.composeImage)) throw new Error(`no image ${site.composeImage}`);
      this.newContainer(site.original, site.composeImage, site.configDir ? this.requireDir(site.configDir, 'bind mount source') : null);
    });
  }
  async endpointOf(name: string): Promise<Endpoint | null> {
    return this.cmd(`endpoint ${name}`, () => {
      const c = this.containers.get(name);
      return c?.running ? { name, id: c.id, imageId: c.imageId, reference: c.reference, ip: c.ip } : null;
    });
  }
  /** Servers the proxy cannot reach although they answer on their own IP (a broken route). */
  readonly unroutable = new Set<string>();
  async checkPublicPath(siteId: string, server: Upstream, _site?: Pick<HealthTarget, 'vhosts' | 'healthPath'>): Promise<Verdict> {
    return this.cmd(`public ${server.name}`, () => {
      const routed = this.proxy.ready(siteId).includes(server.name) && !this.unroutable.has(server.name);
      const c = this.containers.get(server.name);
      return routed && c?.running && !this.unhealthyImages.has(c.imageId) ? { healthy: true, attempts: [] } : { healthy: false, reason: 'GET / answered 503 through the proxy', attempts: [] };
    });
  }
  async checkHealth(t: HealthTarget): Promise<Verdict> {
    return this.cmd(`health ${t.ip}`, () => {
      const [name, c] = [...this.containers].find(([, x]) => x.ip === t.ip && x.running) ?? [];
      if (!name || !c || this.unhealthyImages.has(c.imageId) || this.unhealthyWhen?.(name, c)) return { healthy: false, reason: 'GET / answered 500', attempts: [] };
      this.proven.add(c.id);
      return { healthy: true, attempts: [] };
    });
  }
  async removeExtractContainers(owner: string) {
    for (const [id, c] of this.extractContainers) if (c.owner === owner) this.cmd(`extract.remove ${id}`, () => this.extractContainers.delete(id));
  }
  async sweepLeftovers() {
    try {
      return this.cmd('sweep', () => {
        const gone = [...this.extractContainers].filter(([, c]) => c.generation !== this.generation).map(([id]) => id);
        for (const id of gone) this.extractContainers.delete(id);
        return gone;
      });
    } catch {
      return []; // never fails, as the real one (which logs it)
    }
  }
}
