/**
 * @module site/discover
 * Which containers on this host refit manages, and everything it needs to know about each
 * (SPEC.md, "The world"). `classify` is the pure decision; `discoverSites` asks the engine.
 */
import { resolve } from 'node:path';
import type { ImagesConfig } from '../config/schema.js';
import type { ContainerInfo, Engine, ImageInfo } from '../docker/engine.js';
import { LABEL, parseSiteLabels, type SiteLabels } from './labels.js';

/** The host's allowlist of web images (`images.labels`, `images.references`). */
type Allowlist = Pick<ImagesConfig, 'labels' | 'references'>;

export interface Site {
  name: string;
  id: string;
  state: string;
  /**
   * `version`: the Compose that started it; the same flavor must recreate it (v1 and v2 name
   * containers differently). `envFiles`: the `--env-file`s it was started with (absolute); empty
   * or absent (plans journaled by older versions) for the project's default `.env`.
   */
  compose: { project: string; workingDir: string; configFiles: string[]; envFiles?: string[]; service: string; version: string };
  networks: { name: string; ip: string }[];
  image: { reference: string; id: string; repoDigests: string[] };
  vhosts: string[];
  port: number;
  policy: SiteLabels['policy'];
  healthPath: string;
  hooks: SiteLabels['hooks'];
  /** Absent in plans journaled by older versions (the maintenance does not need them). */
  tagRules?: SiteLabels['tagRules'];
  /** The `refit.watch` label: the watch window in ms (0: off), null: the host's; absent in plans journaled by older versions. */
  watchMs?: number | null;
  /** The customer config dir: where the container sees it and where it lives on the host. */
  config: { containerPath: string; hostPath: string } | null;
}

export interface Unmanaged {
  name: string;
  id: string;
  image: string;
  reason: string;
}

export type Classified = { managed: true; site: Site } | { managed: false; container: Unmanaged } | { ignored: true };

export const COMPOSE = {
  project: 'com.docker.compose.project',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  /** Both Compose versions record `--env-file` here (v1 as given, v2 absolute); absent for the default `.env`. */
  envFile: 'com.docker.compose.project.environment_file',
  service: 'com.docker.compose.service',
  version: 'com.docker.compose.version',
} as const;

export function classify(c: ContainerInfo, image: ImageInfo | null, allow: Allowlist, defaultHealthPath: string): Classified {
  const labels = c.Config.Labels ?? {};
  const enable = labels[LABEL.enable];
  if (enable === undefined || enable === 'false' || labels[LABEL.shadowOf]) return { ignored: true };
  const name = c.Name.replace(/^\//, '');
  const unmanaged = (reason: string): Classified => ({ managed: false, container: { name, id: c.Id, image: c.Config.Image, reason } });

  if (enable !== 'true') return unmanaged(`label ${LABEL.enable}=${JSON.stringify(enable)} must be "true" (or "false" to opt out)`);
  if (!image) return unmanaged(`image ${c.Config.Image} (${c.Image}) is not on this host`);
  if (!imageAllowed(c.Config.Image, image, allow)) {
    return unmanaged(`image ${c.Config.Image} is not on the allowlist (needs image label ${allow.labels.join(' or ')}${allow.references.length ? ` or a reference matching ${allow.references.join(', ')}` : ''})`);
  }
  const project = labels[COMPOSE.project];
  const workingDir = labels[COMPOSE.workingDir];
  const files = labels[COMPOSE.configFiles];
  const service = labels[COMPOSE.service];
  if (!project || !workingDir || !files || !service) return unmanaged('not started by Docker Compose (no com.docker.compose.* labels)');

  const parsed = parseSiteLabels(labels, defaultHealthPath);
  if (!parsed.ok) return unmanaged(parsed.reason);
  const l = parsed.labels;

  let config: Site['config'] = null;
  if (l.configPath) {
    const mount = (c.Mounts ?? []).find((m) => m.Destination.replace(/\/+$/, '') === l.configPath);
    if (!mount) return unmanaged(`label ${LABEL.config}=${l.configPath} has no mount at that path; bind-mount the site's config dir there`);
    if (mount.Type !== 'bind') return unmanaged(`label ${LABEL.config}=${l.configPath} is a ${mount.Type} mount; it must be a bind mount of a host directory`);
    config = { containerPath: l.configPath, hostPath: mount.Source };
  }

  const networks = Object.entries(c.NetworkSettings?.Networks ?? {})
    .map(([netName, n]) => ({ name: netName, ip: n.IPAddress }))
    .sort((a, b) => a.name.localeCompare(b.name));

  return {
    managed: true,
    site: {
      name,
      id: c.Id,
      state: c.State?.Status ?? 'unknown',
      compose: {
        project,
        workingDir,
        configFiles: files.split(',').map((f) => f.trim()).filter(Boolean),
        envFiles: (labels[COMPOSE.envFile] ?? '').split(',').map((f) => f.trim()).filter(Boolean).map((f) => resolve(workingDir, f)),
        service,
        version: labels[COMPOSE.version] ?? '',
      },
      networks,
      image: { reference: c.Config.Image, id: image.Id, repoDigests: image.RepoDigests ?? [] },
      vhosts: l.vhosts,
      port: l.port,
      policy: l.policy,
      healthPath: l.healthPath,
      hooks: l.hooks,
      tagRules: l.tagRules,
      watchMs: l.watchMs,
      config,
    },
  };
}

export function imageAllowed(reference: string, image: ImageInfo, allow: Allowlist): boolean {
  const imageLabels = image.Config?.Labels ?? {};
  for (const rule of allow.labels) {
    const eq = rule.indexOf('=');
    if (imageLabels[rule.slice(0, eq)] === rule.slice(eq + 1)) return true;
  }
  return allow.references.some((glob) => globToRegExp(glob).test(reference));
}

function globToRegExp(glob: string): RegExp {
  const re = glob
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${re}$`);
}

export interface Discovery {
  sites: Site[];
  unmanaged: Unmanaged[];
}

export async function discoverSites(engine: Engine, allow: Allowlist, defaultHealthPath: string): Promise<Discovery> {
  const ids = await engine.listContainerIds(LABEL.enable);
  const out: Discovery = { sites: [], unmanaged: [] };
  for (const id of ids) {
    let info: ContainerInfo;
    try {
      info = await engine.inspectContainer(id);
    } catch {
      continue; // removed between list and inspect
    }
    const image = await engine.inspectImage(info.Image);
    const r = classify(info, image, allow, defaultHealthPath);
    if ('ignored' in r) continue;
    if (r.managed) out.sites.push(r.site);
    else out.unmanaged.push(r.container);
  }
  out.sites.sort((a, b) => a.name.localeCompare(b.name));
  out.unmanaged.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}
