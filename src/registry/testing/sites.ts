/**
 * @module registry/testing/sites
 * Site values for update-detection tests and benchmarks: only the image and policy matter
 * to a check, the rest is filled with plausible constants.
 */
import type { Site } from '../../site/discover.js';
import { NO_TAG_RULES, type Policy, type TagRules } from '../../site/labels.js';

export function siteFor(
  name: string,
  reference: string,
  policy: Policy,
  image: { id: string; repoDigests: string[] } = { id: `sha256:${'0'.repeat(64)}`, repoDigests: [] },
  tagRules: TagRules = NO_TAG_RULES,
): Site {
  return {
    name,
    id: name,
    state: 'running',
    compose: { project: name, workingDir: '/srv/sites', configFiles: ['/srv/sites/docker-compose.yml'], envFiles: [], service: 'web', version: '2.26.1' },
    networks: [],
    image: { reference, ...image },
    vhosts: [],
    port: 80,
    policy,
    healthPath: '/refit/health',
    hooks: { preUpdate: null, postUpdate: null },
    tagRules,
    config: null,
  };
}
