/**
 * @module compose/shadow
 * The shadow container of SPEC step 6: the site's service started from its ORIGINAL compose
 * files plus the override of ./override.ts, as a separate Compose project
 * (`<project>-refit-shadow`), so nothing done to the shadow project can reach the original's
 * containers, networks or volumes (those are external to it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Engine } from '../docker/engine.js';
import { engineError, statusOf } from '../docker/engine.js';
import { RefitError } from '../errors.js';
import type { Site } from '../site/discover.js';
import { runCompose, type ComposeCli, type ComposeTarget } from './cli.js';
import { resolveService } from './model.js';
import { renderShadowOverride, SHADOW_LABEL, SHADOW_SUFFIX, shadowContainerName, shadowProjectName } from './override.js';

const PROJECT_LABEL = 'com.docker.compose.project';

/** What names a shadow: enough to remove it, so the journal records it BEFORE the shadow starts. */
export interface ShadowRef {
  project: string;
  containerName: string;
  /** The original container: the shadow project of a Compose project holds one shadow per service being maintained. */
  original: string;
}

export interface Shadow extends ShadowRef {
  id: string;
  overrideFile: string;
  /** Its address on `network` (default: the first of its networks): where health checks and the proxy reach it. */
  ip: string;
  networks: { name: string; ip: string }[];
}

export interface ShadowOptions {
  engine: Engine;
  /** The candidate image (already on the host). */
  image: string;
  /** Where the override file is written. */
  scratchDir: string;
  /** The merged config tree; required when the site has a config dir. */
  mergedDir: string | null;
  /** The Docker network the proxy reaches the site on. */
  network?: string;
}

export const shadowRef = (site: Pick<Site, 'name' | 'compose'>): ShadowRef => ({
  project: shadowProjectName(site.compose.project),
  containerName: shadowContainerName(site.name),
  original: site.name,
});

/** Starts (or, after an interrupted attempt, recreates) the shadow of `site` and returns where it answers. */
export async function startShadow(cli: ComposeCli, site: Site, opts: ShadowOptions): Promise<Shadow> {
  const original: ComposeTarget = { project: site.compose.project, workingDir: site.compose.workingDir, files: site.compose.configFiles, envFiles: site.compose.envFiles ?? [] };
  const ref = shadowRef(site);
  if (site.config && !opts.mergedDir) throw new RefitError('internal', `site ${site.name} has a config dir, so its shadow needs the merged dir`);
  const model = await resolveService(cli, original, site.compose.service);
  const text = renderShadowOverride({
    flavor: cli.flavor,
    composeVersion: cli.version,
    project: site.compose.project,
    model,
    image: opts.image,
    original: site.name,
    config: site.config && opts.mergedDir ? { containerPath: site.config.containerPath, mergedDir: opts.mergedDir } : null,
  });
  const overrideFile = join(opts.scratchDir, 'shadow.compose.yml');
  writeFileSync(overrideFile, text);

  const target: ComposeTarget = { ...original, project: ref.project, files: [...original.files, overrideFile] };
  await runCompose(cli, target, ['up', '-d', '--no-deps', '--force-recreate', site.compose.service]);

  let info: Docker.ContainerInspectInfo;
  const what = `inspect the shadow ${ref.containerName} of ${site.name}`;
  try {
    info = await opts.engine.call(what, (abortSignal) => opts.engine.api.getContainer(ref.containerName).inspect({ abortSignal }));
  } catch (err) {
    throw err instanceof RefitError ? err : engineError(what, err);
  }
  const networks = Object.entries(info.NetworkSettings.Networks ?? {})
    .map(([name, n]) => ({ name, ip: n.IPAddress }))
    .filter((n) => n.ip)
    .sort((a, b) => a.name.localeCompare(b.name));
  const on = opts.network ? networks.find((n) => n.name === opts.network) : networks[0];
  if (!info.State.Running || !on) {
    const state = info.State.Running ? `running but not on network ${opts.network ?? '(any)'}` : `${info.State.Status} (exit code ${info.State.ExitCode})`;
    throw new RefitError('compose', `the shadow ${ref.containerName} of ${site.name} on image ${opts.image} is ${state}`, `see \`docker logs ${ref.containerName}\``);
  }
  return { ...ref, id: info.Id, overrideFile, ip: on.ip, networks };
}

/**
 * Stops the shadow's container gracefully, as Compose stops a service (its stop signal, then
 * SIGKILL only after its grace period: the container's StopTimeout, Compose's
 * stop_grace_period), then removes it (with its anonymous volumes) and, once the shadow project
 * has no container left (another service of the project may have its shadow there at the same
 * time), any network it created, found by their Compose project and shadow labels: works after
 * a crash without the override file, is a no-op when nothing is left, and never matches the
 * original, whose resources carry the original project's label.
 */
export async function removeShadow(engine: Engine, ref: ShadowRef): Promise<{ containers: string[]; networks: string[] }> {
  if (!ref.project.endsWith(SHADOW_SUFFIX)) throw new RefitError('internal', `refusing to remove project ${ref.project}: it is not a shadow project`);
  const removed = { containers: [] as string[], networks: [] as string[] };
  const byProject = { label: [`${PROJECT_LABEL}=${ref.project}`] };
  const what = `remove the shadow ${ref.containerName} of ${ref.original}`;
  try {
    const containers = await engine.call(what, (abortSignal) => engine.api.listContainers({ all: true, filters: { label: [...byProject.label, `${SHADOW_LABEL}=${ref.original}`] }, abortSignal }));
    for (const c of containers) {
      const container = engine.api.getContainer(c.Id);
      if (c.State === 'running' || c.State === 'restarting') {
        const grace = stopTimeoutOf((await engine.call(what, (abortSignal) => container.inspect({ abortSignal }))).Config) ?? DOCKER_STOP_GRACE_S;
        await engine.call(`stop the shadow ${c.Names[0] ?? c.Id}`, (abortSignal) => container.stop({ abortSignal }).catch(alreadyStopped), { timeoutMs: grace * 1000 + engine.timeoutMs });
      }
      await engine.call(what, (abortSignal) => container.remove({ force: true, v: true, abortSignal }));
      removed.containers.push((c.Names[0] ?? c.Id).replace(/^\//, ''));
    }
    if ((await engine.call(what, (abortSignal) => engine.api.listContainers({ all: true, filters: byProject, abortSignal }))).length) return removed;
    for (const n of await engine.call(what, (abortSignal) => engine.api.listNetworks({ filters: byProject, abortSignal }))) {
      await engine.call(what, (abortSignal) => engine.api.getNetwork(n.Id).remove({ abortSignal }));
      removed.networks.push(n.Name);
    }
  } catch (err) {
    throw err instanceof RefitError ? err : engineError(what, err);
  }
  return removed;
}

/** Docker's grace period for a container that sets none (`docker stop` without -t). */
const DOCKER_STOP_GRACE_S = 10;

/** Compose's stop_grace_period, as the container's StopTimeout (the inspect type of @types/dockerode leaves it out). */
function stopTimeoutOf(config: object): number | undefined {
  return 'StopTimeout' in config && typeof config.StopTimeout === 'number' ? config.StopTimeout : undefined;
}

/** 304: the container had already stopped. */
function alreadyStopped(err: unknown): void {
  if (statusOf(err) !== 304) throw err;
}
