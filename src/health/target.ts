/**
 * @module health/target
 * Where a managed site is checked: the internal IP of its container on its first network that
 * has one, the port and hostnames from its labels. `containerTarget` finds it by name.
 */
import type { RefitConfig } from '../config/schema.js';
import type { ContainerInfo, Engine } from '../docker/engine.js';
import { RefitError } from '../errors.js';
import { classify, type Site } from '../site/discover.js';
import { LABEL } from '../site/labels.js';
import type { HealthTarget } from './types.js';

export function healthTargetOf(site: Site): HealthTarget {
  // Site.networks is sorted by name, so the choice is stable across runs.
  const network = site.networks.find((n) => n.ip !== '');
  if (!network) {
    throw new RefitError(
      'health',
      `container ${site.name} has no IP address on any network (state: ${site.state})`,
      'start it, and attach it to the network the reverse proxy is on',
    );
  }
  return { ip: network.ip, port: site.port, vhosts: site.vhosts, healthPath: site.healthPath };
}

/**
 * The target of a container named on the command line, from the Engine API: it must exist,
 * be managed by refit, and be running.
 */
export async function containerTarget(engine: Engine, name: string, config: Pick<RefitConfig, 'images' | 'health'>): Promise<{ site: Site; target: HealthTarget }> {
  let info: ContainerInfo;
  try {
    info = await engine.inspectContainer(name);
  } catch (err) {
    const status = err instanceof RefitError ? (err.cause as { statusCode?: number } | undefined)?.statusCode : undefined;
    if (status === 404) throw new RefitError('usage', `no container named ${JSON.stringify(name)} on this host`, 'refit status lists the managed sites');
    throw err;
  }
  const found = classify(info, await engine.inspectImage(info.Image), config.images, config.health.path);
  if ('ignored' in found) {
    throw new RefitError('usage', `container ${name} is not managed by refit (no ${LABEL.enable}=true label)`, 'label it, or check it by address: refit health --url http://IP[:PORT] --host NAME');
  }
  if (!found.managed) throw new RefitError('label', `container ${name} cannot be managed by refit: ${found.container.reason}`);
  const site = found.site;
  if (site.state !== 'running') {
    throw new RefitError('health', `container ${name} is ${site.state}, not running`, `start it (docker start ${name}) and check again`);
  }
  return { site, target: healthTargetOf(site) };
}
