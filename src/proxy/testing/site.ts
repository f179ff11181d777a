/**
 * @module proxy/testing/site
 * A managed site as discovery reports it, for the proxy's unit tests: what the proxy routes
 * (project, service, vhosts, network address, port) is given, the rest is plausible constants.
 */
import type { Site } from '../../site/discover.js';

/** `shop-web-1` is in project `shop` (the part before the first dash) unless `project` says otherwise; vhost `<project>.example`. */
export function routedSite(name: string, o: Partial<Site> & { project?: string; service?: string; ip?: string } = {}): Site {
  const { project = name.split('-')[0]!, service = 'web', ip = '172.20.0.5', ...rest } = o;
  return {
    name,
    id: `id-${name}`,
    state: 'running',
    compose: { project, workingDir: `/srv/${project}`, configFiles: [`/srv/${project}/compose.yml`], service, version: '2.26.1' },
    networks: [{ name: 'front', ip }],
    image: { reference: 'web:1', id: 'sha256:1', repoDigests: [] },
    vhosts: [`${project}.example`],
    port: 80,
    policy: 'digest',
    healthPath: '/refit/health',
    hooks: { preUpdate: null, postUpdate: null },
    config: null,
    ...rest,
  };
}
