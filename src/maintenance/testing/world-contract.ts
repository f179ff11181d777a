/**
 * @module maintenance/testing/world-contract
 * What the maintenance relies on from a World, as one suite that runs against the fake world
 * (fake-world.test.ts, unit) and the real host (test/world-contract.host.test.ts: Docker,
 * Compose, HAProxy). The steps' safety rests on these: idempotent calls, a half-done proxy add
 * that is listed but not ready and is completed by adding again, an install cut short between
 * its commands that is undone to the customer's tree, a merge installed only over the tree it
 * was made from, a merge against a customer tree equal to its base that gives the latest one
 * whole (a revert's), a proxy that counts its servers' answers and keeps clients on one server
 * on request. The tests run in order on one site and build on each other.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shadowContainerName } from '../../compose/override.js';
import type { MergeReport } from '../../merge/report.js';
import type { Upstream } from '../../proxy/types.js';
import type { Site } from '../../site/discover.js';
import { CounterTally } from '../../watch/counters.js';
import { swapNames } from '../../site-config/swap.js';
import type { Endpoint, World } from '../world.js';

export interface ContractEnv {
  world: World;
  /** The site as discovered; it has a config dir. */
  site: Site & { config: NonNullable<Site['config']> };
  proxySiteId: string;
  /** A private directory for scratch (refit's state dir). */
  stateDir: string;
  /** The image the site runs, and the reference of a newer one the registry serves. */
  old: { reference: string; id: string };
  newReference: string;
  /** What is at `path` now, comparable with toEqual across reads; null when nothing is. */
  tree(path: string): Promise<unknown>;
  /** The customer edits their config dir. */
  editConfig(): Promise<void>;
  /** The image the compose files name for the site's service. */
  composeImage(): Promise<string>;
  /** Someone else (the customer, another service's maintenance) points the service at `reference`. */
  setComposeImage(reference: string): Promise<void>;
  /** The first of the proxy's commands of an add of `up` (a kill between them leaves this). */
  halfAdd(up: Upstream): Promise<void>;
  /** `n` requests to the site through the proxy (the watch after an update counts such answers). */
  traffic(n: number): Promise<void>;
  /** installConfigs cut short: staged only, or also the first of its two renames done. */
  halfInstall(mergedDir: string, maintenanceId: string, upTo: 'staged' | 'renamed-out'): Promise<void>;
  /**
   * A temporary extract container for `owner`, as an extract cut short leaves it: made by this
   * refit (`alive`: a failed removal) or by one that is gone (`gone`: killed mid-extract).
   */
  leaveExtractContainer(owner: string, by: 'alive' | 'gone'): Promise<void>;
  /** How many temporary extract containers for `owner` exist. */
  extractContainers(owner: string): Promise<number>;
  /** A new image on the host that no container uses, with two tags of one repository and one of another. */
  spareImage(): Promise<{ id: string; references: [string, string]; otherRepository: string }>;
  cleanup(): Promise<void>;
}

export function worldContract(name: string, setup: () => Promise<ContractEnv>, o: { timeoutMs?: number } = {}): void {
  describe(`the World contract: ${name}`, () => {
    const timeout = o.timeoutMs ?? 5_000;
    let env: ContractEnv;
    let w: World;
    let owner: string;
    let configDir: string;
    let newId: string;
    let shadow: Endpoint;
    let edited: unknown;
    let merge: MergeReport;
    const at = (leaf: string) => join(env.stateDir, 'scratch', owner, leaf);
    const listed = async (server: string) => (await w.proxy.list(env.proxySiteId)).filter((s) => s.name === server).map((s) => ({ ip: s.ip, port: s.port, state: s.state }));
    const siblings = async () => {
      const n = swapNames(configDir, owner);
      return (await Promise.all([n.staging, n.previous, n.discard].map(async (p) => ((await env.tree(p)) === null ? null : p)))).filter(Boolean);
    };

    beforeAll(async () => {
      env = await setup();
      w = env.world;
      owner = `m${process.pid}`;
      configDir = env.site.config.hostPath;
    }, timeout * 10);
    afterAll(async () => env?.cleanup(), timeout * 10);

    it('pull brings the new image and points its tag at it; pulling what the site runs gives its image', async () => {
      newId = (await w.pull(env.newReference)).imageId;
      expect(newId).not.toBe(env.old.id);
      expect(await w.tagTarget(env.newReference)).toBe(newId);
      expect(await w.pull(env.old.reference)).toEqual({ imageId: env.old.id });
    }, timeout);

    it('tells whether a running container was created from a reference and runs an image (after the tag moved on too)', async () => {
      expect(await w.runsByTag(env.old.reference, env.old.id)).toBe(true);
      expect(await w.runsByTag(env.old.reference, newId)).toBe(false);
      expect(await w.runsByTag(env.newReference, newId)).toBe(false);
      await w.tag(newId, env.old.reference);
      expect(await w.runsByTag(env.old.reference, env.old.id)).toBe(true);
      await w.tag(env.old.id, env.old.reference);
    }, timeout);

    it('a tag is moved to another image and back', async () => {
      await w.tag(env.old.id, env.newReference);
      expect(await w.tagTarget(env.newReference)).toBe(env.old.id);
      await w.tag(newId, env.newReference);
      expect(await w.tagTarget(env.newReference)).toBe(newId);
    }, timeout);

    it("an unused image loses its repository's tags, and goes with the last name; one a container uses stays whole", async () => {
      expect(await w.removeUnusedImage(env.old.id, env.old.reference)).toBeNull();
      expect(await w.tagTarget(env.old.reference)).toBe(env.old.id);
      const spare = await env.spareImage();
      const [first, second] = spare.references;
      const removed = await w.removeUnusedImage(spare.id, first);
      expect({ ...removed, references: removed?.references.sort() }).toEqual({ references: [first, second].sort(), deleted: false });
      expect([await w.tagTarget(first), await w.tagTarget(second), await w.tagTarget(spare.otherRepository)]).toEqual([null, null, spare.id]);
      expect(await w.removeUnusedImage(spare.id, spare.otherRepository)).toEqual({ references: [spare.otherRepository], deleted: true });
      expect(await w.tagTarget(spare.otherRepository)).toBeNull();
      expect(await w.removeUnusedImage(spare.id, spare.otherRepository)).toBeNull();
    }, timeout);

    it('a private dir can be made twice', async () => {
      await w.makePrivateDir(at(''));
      await w.makePrivateDir(at(''));
      expect(await env.tree(at(''))).not.toBeNull();
    }, timeout);

    it('stock configs are extracted without leaving a container; one left behind is removed for its owner, or swept once its refit is gone', async () => {
      await w.extractConfigs(env.old.id, env.site.config.containerPath, at('base'), owner);
      await w.extractConfigs(newId, env.site.config.containerPath, at('latest'), owner);
      expect(await env.tree(at('base'))).not.toEqual(await env.tree(at('latest')));
      expect(await env.extractContainers(owner)).toBe(0);
      // Left by a refit that is alive, so no sweep (this one's or another refit's) may touch it.
      await env.leaveExtractContainer(owner, 'alive');
      expect(await env.extractContainers(owner)).toBe(1);
      await w.removeExtractContainers(owner);
      expect(await env.extractContainers(owner)).toBe(0);
      const orphan = `${owner}-orphan`;
      await env.leaveExtractContainer(owner, 'alive');
      await env.leaveExtractContainer(orphan, 'gone');
      await w.sweepLeftovers();
      // Any refit on the host may sweep the orphan first; it is gone either way, the live one stays.
      expect(await env.extractContainers(orphan)).toBe(0);
      expect(await env.extractContainers(owner)).toBe(1);
      await w.removeExtractContainers(owner);
      expect(await env.extractContainers(owner)).toBe(0);
    }, timeout);

    it('the merge names the customer tree it read; a backup of that tree has the same fingerprint', async () => {
      merge = await w.mergeConfigs({ base: at('base'), latest: at('latest'), customer: configDir, out: at('merged') });
      expect(merge.customerFingerprint).toMatch(/\S/);
      expect(await w.backupConfigs(configDir, at('backup'))).toEqual({ fingerprint: merge.customerFingerprint });
      expect(await env.tree(at('backup'))).toEqual(await env.tree(configDir));
    }, timeout);

    it('a merge is installed only over the tree it was made from; restored, the customer tree is back', async () => {
      const before = await env.tree(configDir);
      await env.editConfig();
      edited = await env.tree(configDir);
      expect(edited).not.toEqual(before);
      expect((await w.backupConfigs(configDir, at('backup'))).fingerprint).not.toBe(merge.customerFingerprint);
      expect(await w.installConfigs(configDir, at('merged'), owner, merge.customerFingerprint)).toEqual({ installed: false });
      expect(await env.tree(configDir)).toEqual(edited);
      expect(await siblings()).toEqual([]);

      merge = await w.mergeConfigs({ base: at('base'), latest: at('latest'), customer: configDir, out: at('merged-1') });
      expect(await w.installConfigs(configDir, at('merged-1'), owner, merge.customerFingerprint)).toEqual({ installed: true });
      expect(await env.tree(configDir)).toEqual(await env.tree(at('merged-1')));
      await w.restoreConfigs(configDir, owner);
      expect(await env.tree(configDir)).toEqual(edited);
      expect(await siblings()).toEqual([]);
    }, timeout);

    it.each(['staged', 'renamed-out'] as const)('an install cut short (%s) is undone to the customer tree', async (upTo) => {
      await env.halfInstall(at('merged-1'), owner, upTo);
      if (upTo === 'renamed-out') expect(await env.tree(configDir)).toBeNull();
      await w.restoreConfigs(configDir, owner);
      expect(await env.tree(configDir)).toEqual(edited);
      expect(await siblings()).toEqual([]);
    }, timeout);

    it('committing an install drops what was kept to undo it, and can be repeated', async () => {
      expect(await w.installConfigs(configDir, at('merged-1'), owner, merge.customerFingerprint)).toEqual({ installed: true });
      expect((await siblings()).length).toBeGreaterThan(0);
      await w.commitConfigs(configDir, owner);
      await w.commitConfigs(configDir, owner);
      expect(await siblings()).toEqual([]);
      expect(await env.tree(configDir)).toEqual(await env.tree(at('merged-1')));
    }, timeout);

    it("a merge of a customer tree equal to its base gives the latest tree exactly (a revert's merge: back to the backup)", async () => {
      const reverted = await w.mergeConfigs({ base: at('merged-1'), latest: at('backup'), customer: at('merged-1'), out: at('reverted') });
      expect(await env.tree(at('reverted'))).toEqual(await env.tree(at('backup')));
      expect(reverted.refused).toEqual([]);
    }, timeout);

    it('the tag bump changes the recorded value and its undo puts it back; each twice changes nothing more', async () => {
      await w.saveComposeFiles(env.site.compose, at('compose-files'), { from: env.old.reference, to: env.newReference });
      await w.bumpImageTag(env.site.compose, at('compose-files'));
      await w.bumpImageTag(env.site.compose, at('compose-files'));
      expect(await env.composeImage()).toBe(env.newReference);
      await w.restoreComposeFiles(env.site.compose, at('compose-files'));
      await w.restoreComposeFiles(env.site.compose, at('compose-files'));
      expect(await env.composeImage()).toBe(env.old.reference);
    }, timeout);

    it('neither the bump nor its undo writes over a value someone else changed meanwhile', async () => {
      const theirs = `${env.old.reference.replace(/:[^:/]+$/, '')}:customer-pinned`;
      await env.setComposeImage(theirs);
      await expect(w.bumpImageTag(env.site.compose, at('compose-files'))).rejects.toThrow();
      await expect(w.restoreComposeFiles(env.site.compose, at('compose-files'))).rejects.toThrow();
      expect(await env.composeImage()).toBe(theirs);
      await env.setComposeImage(env.old.reference);
    }, timeout);

    it('a shadow starts (again: replaced) on the new image at an address of its own, and is healthy', async () => {
      const first = await w.startShadow(env.site, { image: newId, mergedDir: at('merged-1'), scratch: at('') });
      shadow = await w.startShadow(env.site, { image: newId, mergedDir: at('merged-1'), scratch: at('') });
      expect(shadow).toMatchObject({ name: shadowContainerName(env.site.name), imageId: newId });
      expect(shadow.id).not.toBe(first.id);
      expect(await w.endpointOf(shadow.name)).toEqual(shadow);
      expect((await w.checkHealth({ ip: shadow.ip, port: env.site.port, vhosts: env.site.vhosts, healthPath: env.site.healthPath })).healthy).toBe(true);
    }, timeout * 4);

    it('proxy: a server added is ready at its address; adding it again changes nothing', async () => {
      const original = (await w.endpointOf(env.site.name))!;
      expect(await listed(env.site.name)).toEqual([{ ip: original.ip, port: env.site.port, state: 'ready' }]);
      const up = { name: shadow.name, ip: shadow.ip, port: env.site.port };
      await w.proxy.add(env.proxySiteId, up);
      await w.proxy.add(env.proxySiteId, up);
      expect(await listed(shadow.name)).toEqual([{ ip: shadow.ip, port: env.site.port, state: 'ready' }]);
    }, timeout);

    it('proxy: drain stops new requests, remove takes the server out; both are no-ops for a server not there', async () => {
      const up = { name: shadow.name, ip: shadow.ip, port: env.site.port };
      expect((await w.proxy.drain(env.proxySiteId, up, { timeoutMs: 5000 })).drained).toBe(true);
      expect(await listed(shadow.name)).toEqual([{ ip: shadow.ip, port: env.site.port, state: 'drain' }]);
      await w.proxy.remove(env.proxySiteId, up);
      await w.proxy.remove(env.proxySiteId, up);
      expect(await listed(shadow.name)).toEqual([]);
      expect((await w.proxy.drain(env.proxySiteId, up, { timeoutMs: 5000 })).drained).toBe(true);
    }, timeout);

    it('proxy: a half-done add is listed but not ready; adding again completes it', async () => {
      const up = { name: shadow.name, ip: shadow.ip, port: env.site.port };
      await env.halfAdd(up);
      expect(await listed(shadow.name)).toEqual([{ ip: shadow.ip, port: env.site.port, state: 'maint' }]);
      await w.proxy.add(env.proxySiteId, up);
      expect(await listed(shadow.name)).toEqual([{ ip: shadow.ip, port: env.site.port, state: 'ready' }]);
    }, timeout);

    it('proxy: adding a server again at another address moves it there', async () => {
      const original = (await w.endpointOf(env.site.name))!;
      await w.proxy.add(env.proxySiteId, { name: shadow.name, ip: original.ip, port: env.site.port });
      expect(await listed(shadow.name)).toEqual([{ ip: original.ip, port: env.site.port, state: 'ready' }]);
      await w.proxy.add(env.proxySiteId, { name: shadow.name, ip: shadow.ip, port: env.site.port });
      expect(await listed(shadow.name)).toEqual([{ ip: shadow.ip, port: env.site.port, state: 'ready' }]);
      await w.proxy.drain(env.proxySiteId, { name: shadow.name, ip: shadow.ip, port: env.site.port }, { timeoutMs: 5000 });
      await w.proxy.remove(env.proxySiteId, { name: shadow.name, ip: shadow.ip, port: env.site.port });
    }, timeout);

    it("proxy: counts the answers of the site's servers, and turns affinity on and off (each twice)", async () => {
      const proxy = w.proxy;
      await proxy.observe?.(env.proxySiteId, true);
      await proxy.observe?.(env.proxySiteId, true);
      const tally = new CounterTally(await proxy.counters!(env.proxySiteId));
      await env.traffic(12);
      const original = (await w.endpointOf(env.site.name))!;
      let served = 0;
      // nginx writes its log of the site within a second: the answers are counted once it has.
      for (let i = 0; i < 50 && served < 12; i++) {
        served = tally.add(await proxy.counters!(env.proxySiteId)).servedBy({ ip: original.ip, port: env.site.port }).requests;
        if (served < 12) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(served).toBe(12);
      for (const on of [true, true, false, false]) await proxy.affinity!(env.proxySiteId, on);
      await proxy.observe?.(env.proxySiteId, false);
      await proxy.observe?.(env.proxySiteId, false);
    }, timeout);

    it('the shadow is removed, and removing it again is a no-op', async () => {
      await w.removeShadow(env.site);
      await w.removeShadow(env.site);
      expect(await w.endpointOf(shadow.name)).toBeNull();
    }, timeout * 4);

    it('recreating the service brings a new container, on the image the compose files name', async () => {
      const before = (await w.endpointOf(env.site.name))!;
      await w.recreateService(env.site.compose);
      const after = (await w.endpointOf(env.site.name))!;
      expect(after.id).not.toBe(before.id);
      expect(after.imageId).toBe(env.old.id);
      expect((await w.checkHealth({ ip: after.ip, port: env.site.port, vhosts: env.site.vhosts, healthPath: env.site.healthPath })).healthy).toBe(true);
    }, timeout * 4);

    it('scratch is removed with all in it, and removing it again is a no-op', async () => {
      await w.removeDir(at(''));
      await w.removeDir(at(''));
      expect(await env.tree(at(''))).toBeNull();
    }, timeout);
  });
}
