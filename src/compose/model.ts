/**
 * @module compose/model
 * One service of a project as Compose itself resolves it (`config`: v2 as JSON, v1 as YAML),
 * reduced to what a second copy of it must know: image, name, published ports, the networks it
 * is on and the named volumes it mounts, each with its REAL Docker name. `describeService` is
 * pure; `resolveService` runs Compose.
 */
import { parse as parseYaml } from 'yaml';
import { RefitError } from '../errors.js';
import { runCompose, type ComposeCli, type ComposeTarget } from './cli.js';

export interface ServiceModel {
  service: string;
  image: string | null;
  containerName: string | null;
  publishesPorts: boolean;
  /** `network_mode` (host, none, service:x, container:x) when set: such a service has no networks of its own. */
  networkMode: string | null;
  /** Compose key -> Docker network name, e.g. front -> site_front. */
  networks: { key: string; name: string }[];
  mounts: Mount[];
}

export interface Mount {
  type: 'bind' | 'volume' | 'tmpfs' | 'other';
  /** Host path (bind), Compose volume key (volume), or null (anonymous volume, tmpfs). */
  source: string | null;
  target: string;
  readOnly: boolean;
  /** Docker volume name for a named volume, e.g. data -> site_data. */
  volumeName: string | null;
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Resolves the original project with its own Compose CLI, exactly as `up` would see it. */
export async function resolveService(cli: ComposeCli, target: ComposeTarget, service: string): Promise<ServiceModel> {
  // v2 leaves out services of inactive profiles unless the service is named; v1 lists them all.
  const args = cli.flavor === 'v2' ? ['config', '--format', 'json', service] : ['config'];
  const { stdout } = await runCompose(cli, target, args, { timeoutMs: 60_000 });
  let raw: unknown;
  try {
    raw = cli.flavor === 'v2' ? JSON.parse(stdout) : parseYaml(stdout);
  } catch (err) {
    throw new RefitError('compose', `Compose ${cli.flavor} printed a model of project ${target.project} that does not parse: ${(err as Error).message}`, undefined, { cause: err });
  }
  return describeService(raw, service, target.project);
}

export function describeService(raw: unknown, service: string, project: string): ServiceModel {
  const model = isDict(raw) ? raw : {};
  const services = isDict(model.services) ? model.services : {};
  const svc = services[service];
  if (!isDict(svc)) {
    throw new RefitError('compose', `project ${project} has no service "${service}" (it has: ${Object.keys(services).join(', ') || 'none'})`, 'was the compose file edited since the container started? run `docker compose config` in the project dir');
  }
  const networkMode = typeof svc.network_mode === 'string' ? svc.network_mode : null;
  const topNetworks = isDict(model.networks) ? model.networks : {};
  const topVolumes = isDict(model.volumes) ? model.volumes : {};

  // v2 lists `default` explicitly; v1 leaves a service without `networks` on it implicitly.
  const keys = Array.isArray(svc.networks) ? svc.networks.map(String) : isDict(svc.networks) ? Object.keys(svc.networks) : networkMode ? [] : ['default'];
  const networks = keys.sort().map((key) => ({ key, name: dockerName(key, topNetworks[key], project) }));

  const mounts = (Array.isArray(svc.volumes) ? svc.volumes : []).map((v) => toMount(v, topVolumes, project));
  return {
    service,
    image: typeof svc.image === 'string' ? svc.image : null,
    containerName: typeof svc.container_name === 'string' ? svc.container_name : null,
    publishesPorts: Array.isArray(svc.ports) && svc.ports.length > 0,
    networkMode,
    networks,
    mounts,
  };
}

/** The Docker name of a top-level network or volume: `name:`, an external's own name, or `<project>_<key>`. */
function dockerName(key: string, def: unknown, project: string): string {
  const d = isDict(def) ? def : {};
  if (typeof d.name === 'string') return d.name;
  if (isDict(d.external) && typeof d.external.name === 'string') return d.external.name; // v1 legacy form
  if (d.external === true || isDict(d.external)) return key;
  return `${project}_${key}`;
}

function toMount(v: unknown, topVolumes: Dict, project: string): Mount {
  if (typeof v === 'string') {
    // v1 short syntax, already resolved: SOURCE:TARGET[:MODE] or a bare TARGET (anonymous).
    const parts = v.split(':');
    if (parts.length === 1) return { type: 'volume', source: null, target: parts[0]!, readOnly: false, volumeName: null };
    const [source, target, mode = ''] = parts as [string, string, string?];
    const readOnly = mode.split(',').includes('ro');
    if (source.startsWith('/')) return { type: 'bind', source, target, readOnly, volumeName: null };
    return { type: 'volume', source, target, readOnly, volumeName: dockerName(source, topVolumes[source], project) };
  }
  const d = isDict(v) ? v : {};
  const type = d.type === 'bind' || d.type === 'volume' || d.type === 'tmpfs' ? d.type : 'other';
  const source = typeof d.source === 'string' && d.source !== '' ? d.source : null;
  return {
    type,
    source,
    target: String(d.target ?? ''),
    readOnly: d.read_only === true,
    volumeName: type === 'volume' && source ? dockerName(source, topVolumes[source], project) : null,
  };
}
