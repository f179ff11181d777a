/**
 * @module maintenance/testing/fake-site
 * One site on a FakeWorld for the pipeline's unit tests: its images, its Site record, and what
 * "whole" means for it (old or new, served, nothing of a maintenance left), as a list of what is
 * wrong so that tests can print it (with a seed) instead of stopping at the first mismatch.
 */
import { dirname } from 'node:path';
import type { Journal } from '../../journal/journal.js';
import type { Site } from '../../site/discover.js';
import { FakeWorld, mergedTree } from '../fake-world.js';

export const OLD = { reference: 'reg.example/web:1.0.0', id: 'sha256:old' };
export const NEW = { reference: 'reg.example/web:1.1.0', id: 'sha256:new' };
export const SITE_ID = 'shop_web';
export const CONFIG_DIR = '/srv/shop/conf';

export function fakeSite(o: { config?: boolean } = {}): Site {
  return {
    name: 'shop-web-1',
    id: 'c0',
    state: 'running',
    compose: { project: 'shop', workingDir: '/srv/shop', configFiles: ['/srv/shop/docker-compose.yml'], service: 'web', version: '2.26.1' },
    networks: [{ name: 'shop_front', ip: '10.0.0.1' }],
    image: { reference: OLD.reference, id: OLD.id, repoDigests: [] },
    vhosts: ['shop.example'],
    port: 80,
    policy: 'minor',
    healthPath: '/refit/health',
    hooks: { preUpdate: null, postUpdate: null },
    config: o.config === false ? null : { containerPath: '/etc/site', hostPath: CONFIG_DIR },
  };
}

/** The site on its old image; the registry serves NEW for NEW.reference. */
export function fakeWorld(site: Site): FakeWorld {
  const world = new FakeWorld({ original: site.name, image: OLD, siteId: SITE_ID, configDir: site.config?.hostPath ?? null });
  world.registry.set(NEW.reference, NEW.id);
  return world;
}

/**
 * What keeps the site from being whole as `as`: the original alone serves, on the old image
 * with the customer's tree, or on the new one with the merge of it; compose file and tag to
 * match; no shadow, scratch, swap sibling or extract container left. [] when whole.
 */
export function notWhole(world: FakeWorld, site: Site, as: 'old' | 'new', o: { stateDir: string; to?: string }): string[] {
  const problems: string[] = [];
  const want = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${what} is ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`);
  };
  const original = world.containers.get(site.name);
  const tree = site.config ? (as === 'old' ? world.customerEdits : mergedTree(world.customerEdits)) : null;
  want('the original', original && { image: original.imageId, running: original.running, config: as === 'old' && original.id === site.id ? 'as it started' : original.config }, {
    image: as === 'old' ? OLD.id : NEW.id,
    running: true,
    config: as === 'old' && original?.id === site.id ? 'as it started' : tree,
  });
  if (site.config) want('the config dir', world.customerConfig, tree);
  want('the compose image', world.composeImage, as === 'old' ? OLD.reference : (o.to ?? NEW.reference));
  want(`the tag ${OLD.reference}`, world.tags.get(OLD.reference), o.to === OLD.reference && as === 'new' ? NEW.id : OLD.id);
  want('the proxy', [...(world.proxy.servers.get(SITE_ID) ?? [])], [[site.name, { ip: original?.ip, port: site.port, state: 'ready' }]]);
  want('the containers', [...world.containers.keys()], [site.name]);
  want('the extract containers', [...world.extractContainers.keys()], []);
  want('the scratch dirs', world.pathsUnder(`${o.stateDir}/scratch`), []);
  if (site.config) want('the swap siblings', [...world.fs.keys()].filter((p) => dirname(p) === dirname(site.config!.hostPath) && p !== site.config!.hostPath), []);
  return problems;
}

/** What a killed refit throws in tests: nothing of it runs after. */
export class Crash extends Error {}

/** A point where refit can be killed: around a world command, or right after a journal write. */
export type KillPoint = { command: string; when: 'before' | 'after' } | { step: string; phase: string; write: number };

const JOURNAL_WRITES = { stepBegin: 'begin', stepDone: 'done', stepFailed: 'failed', undoBegin: 'undo-begin', undoDone: 'undone', finishMaintenance: 'finish' } as const;

/**
 * A refit process over `world` and `journal` that dies at the first point `killAt` picks, like
 * a SIGKILLed one: that command or write throws Crash, and so does every later command and
 * journal write of this process. Its successor: `world.onCommand = null`, `world.generation++`,
 * and the same (real) journal.
 */
export function mortalProcess(world: FakeWorld, journal: Journal, killAt: (p: KillPoint) => boolean): { journal: Journal; dead(): boolean } {
  let dead = false;
  let writes = 0;
  const die = (): never => {
    dead = true;
    throw new Crash('killed');
  };
  world.onCommand = (command, when) => {
    if (dead) throw new Crash('dead');
    if (killAt({ command, when })) die();
  };
  const mortal = new Proxy(journal, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      const phase = JOURNAL_WRITES[String(prop) as keyof typeof JOURNAL_WRITES];
      if (typeof value !== 'function' || !phase) return value;
      return (...args: unknown[]) => {
        if (dead) throw new Crash('dead');
        const result = value.apply(target, args);
        if (killAt({ step: String(args[1]), phase, write: ++writes })) die();
        return result;
      };
    },
  });
  return { journal: mortal, dead: () => dead };
}
