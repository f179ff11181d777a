/**
 * @module compose/override
 * The Compose override that turns the original compose files into the shadow of SPEC step 5/6
 * (pure). It changes only what a second copy of the service must change:
 *  - the image (the candidate) and the config mount's source (the merged dir, same target);
 *  - `container_name` and the label `refit.shadow-of=<original>`, so the copy is told apart;
 *  - published ports are dropped (v2 `!reset`, Compose >= 2.24.4 with `!override` below); v1 can only ADD ports in an override, so a
 *    service that publishes ports is refused there (SPEC: web containers publish none);
 *  - the service's networks and named volumes are declared `external` under their real names,
 *    so the shadow (a separate Compose project) joins the ORIGINAL's networks and data, and can
 *    never create or remove them.
 * Environment, labels, other volumes and network membership come unchanged from the originals.
 */
import { RefitError } from '../errors.js';
import type { ComposeFlavor } from './cli.js';
import type { ServiceModel } from './model.js';

export const SHADOW_SUFFIX = '-refit-shadow';
export const SHADOW_LABEL = 'refit.shadow-of';

export const shadowProjectName = (project: string): string => `${project}${SHADOW_SUFFIX}`;
export const shadowContainerName = (original: string): string => `${original}${SHADOW_SUFFIX}`;

export interface ShadowOverrideInput {
  flavor: ComposeFlavor;
  /** `docker compose version --short`; v2 needs 2.24.4 for `!override`. */
  composeVersion: string;
  project: string;
  model: ServiceModel;
  /** The candidate image reference. */
  image: string;
  /** The original container's name. */
  original: string;
  /** The config mount to point at the merged tree; null when the site has no config dir. */
  config: { containerPath: string; mergedDir: string } | null;
}

export function renderShadowOverride(input: ShadowOverrideInput): string {
  const { model, project } = input;
  const what = `service ${model.service} of project ${project}`;
  if (input.flavor === 'v2' && olderThan(input.composeVersion, [2, 24, 4])) {
    throw new RefitError('compose', `Compose ${input.composeVersion} cannot write a shadow override (\`!override\` and \`!reset\` need 2.24.4 or newer)`, 'upgrade the Compose v2 plugin');
  }
  if (model.networkMode) {
    throw new RefitError('compose', `${what} uses network_mode "${model.networkMode}"; a shadow needs its own address on the site's networks`, 'put the web service on a Compose network, as SPEC.md describes');
  }
  if (input.flavor === 'v1' && model.publishesPorts) {
    throw new RefitError('compose', `${what} publishes host ports, and a Compose v1 override cannot remove them, so its shadow would clash with it`, 'remove `ports:` (the proxy reaches web containers by IP), or install Compose v2');
  }
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    `# Written by refit: the shadow of container ${input.original}. Only what a second copy must change.`,
    'services:',
    `  ${q(model.service)}:`,
    `    image: ${q(input.image)}`,
    `    container_name: ${q(shadowContainerName(input.original))}`,
    '    labels:',
    `      ${q(SHADOW_LABEL)}: ${q(input.original)}`,
  ];
  if (input.flavor === 'v2') lines.push('    ports: !reset []');
  if (input.config) lines.push('    volumes:', `      - ${q(configMount(input.config, model, what))}`);

  // v2 merges the override into the original definition and rejects `external` next to its
  // driver or labels, so it replaces the definition (`!override`); v1 replaces it anyway.
  const replace = input.flavor === 'v2' ? ' !override' : '';
  lines.push('networks:');
  for (const n of model.networks) lines.push(`  ${q(n.key)}:${replace}`, `    name: ${q(n.name)}`, '    external: true');
  const named = new Map(model.mounts.filter((m) => m.volumeName && m.source).map((m) => [m.source!, m.volumeName!]));
  if (named.size) {
    lines.push('volumes:');
    for (const [key, name] of [...named].sort()) lines.push(`  ${q(key)}:${replace}`, `    name: ${q(name)}`, '    external: true');
  }
  return `${lines.join('\n')}\n`;
}

function olderThan(version: string, min: [number, number, number]): boolean {
  const have = (version.match(/\d+/g) ?? []).slice(0, 3).map(Number);
  for (let i = 0; i < 3; i++) if ((have[i] ?? 0) !== min[i]) return (have[i] ?? 0) < min[i]!;
  return false;
}

/** Short syntax `SOURCE:TARGET[:ro]`: both Compose versions merge it over the original by TARGET. */
function configMount(config: { containerPath: string; mergedDir: string }, model: ServiceModel, what: string): string {
  const target = config.containerPath.replace(/\/+$/, '');
  const mount = model.mounts.find((m) => m.target.replace(/\/+$/, '') === target);
  if (!mount || mount.type !== 'bind') {
    throw new RefitError('compose', `${what} has no bind mount at the config path ${target}`, 'bind-mount the site config dir there in the compose file');
  }
  if (!config.mergedDir.startsWith('/') || config.mergedDir.includes(':')) {
    throw new RefitError('internal', `merged config dir ${JSON.stringify(config.mergedDir)} must be an absolute path without ":"`);
  }
  return `${config.mergedDir}:${target}${mount.readOnly ? ':ro' : ''}`;
}
