/**
 * refit's real World over a harness, for tests that drive the pipeline in-process: the World
 * of the harness's refit.yml (its registry, state dir and HAProxy), and a test site as refit
 * discovers it, with the proxy serving the harness's sites.
 */
import { parseConfigText } from '../../src/config/load.js';
import { connectEngine } from '../../src/docker/engine.js';
import { createLogger } from '../../src/log/logger.js';
import { realWorld } from '../../src/maintenance/real-world.js';
import type { World } from '../../src/maintenance/world.js';
import { proxySitesOf, siteIdOf } from '../../src/proxy/sites.js';
import { discoverSites, type Site } from '../../src/site/discover.js';
import type { Harness, TestSite } from './host-harness.js';

export async function realSite(h: Harness, test: TestSite): Promise<{ world: World; site: Site; proxySiteId: string; adminSocket: string }> {
  const config = parseConfigText(h.configText);
  const engine = connectEngine(config.docker.socket, { timeoutMs: config.docker.timeoutMs });
  const world = realWorld(config, engine, createLogger({ level: 'silent' }));
  const found = await discoverSites(engine, config.images, config.health.path);
  const site = found.sites.find((s) => s.name === test.container);
  if (!site) throw new Error(`refit does not discover the test site ${test.container}`);
  await world.proxy.apply(proxySitesOf(found.sites).sites);
  return { world, site, proxySiteId: siteIdOf(site), adminSocket: `${config.proxy.haproxy.runDir}/admin.sock` };
}
