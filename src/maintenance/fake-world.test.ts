/** The fake world passes the same World contract as the real host (test/world-contract.host.test.ts). */
import { swapNames } from '../site-config/swap.js';
import { fakeSite, fakeWorld, NEW, OLD, SITE_ID } from './testing/fake-site.js';
import { worldContract } from './testing/world-contract.js';

worldContract('the fake world', async () => {
  const site = fakeSite();
  const world = fakeWorld(site);
  world.registry.set(OLD.reference, OLD.id);
  return {
    world,
    site: { ...site, config: site.config! },
    proxySiteId: SITE_ID,
    stateDir: '/var/lib/refit',
    old: OLD,
    newReference: NEW.reference,
    tree: async (path) => world.treeAt(path),
    editConfig: async () => void world.editCustomerConfig(),
    composeImage: async () => world.composeImage,
    setComposeImage: async (reference) => void (world.composeImage = reference),
    halfAdd: async (up) => void world.proxy.servers.get(SITE_ID)!.set(up.name, { ip: up.ip, port: up.port, state: 'maint' }),
    traffic: async (n) => world.proxy.serve(world.containers.get(site.name)!.ip, n),
    halfInstall: async (mergedDir, id, upTo) => {
      // The commands installConfigs would run, cut short.
      const { staging, previous } = swapNames(site.config!.hostPath, id);
      world.fs.set(staging, { tree: world.treeAt(mergedDir)! });
      if (upTo === 'renamed-out') {
        world.fs.set(previous, world.fs.get(site.config!.hostPath)!);
        world.fs.delete(site.config!.hostPath);
      }
    },
    leaveExtractContainer: async (owner, by) => void world.extractContainers.set(`left-${owner}`, { generation: by === 'alive' ? world.generation : world.generation - 1, owner }),
    extractContainers: async (owner) => [...world.extractContainers.values()].filter((c) => c.owner === owner).length,
    spareImage: async () => {
      const id = `sha256:spare${world.images.size}`;
      world.images.add(id);
      const references: [string, string] = ['spare/web:1', 'spare/web:latest'];
      const otherRepository = 'operator/pinned:web';
      for (const reference of [...references, otherRepository]) world.tags.set(reference, id);
      return { id, references, otherRepository };
    },
    cleanup: async () => undefined,
  };
});
