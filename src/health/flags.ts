/**
 * @module health/flags
 * The `refit health` command line, validated into a target and options. Every bad value is a
 * usage error naming the flag, the value and the fix; nothing is checked until all are good.
 */
import type { HealthConfig } from '../config/schema.js';
import { RefitError } from '../errors.js';
import { LABEL, parseSiteLabels } from '../site/labels.js';
import type { HealthOptions, HealthTarget } from './types.js';

export interface HealthFlags {
  url?: string;
  host?: string[];
  path?: string;
  attempts?: string;
  intervalMs?: string;
  timeoutMs?: string;
}

/** What to check: an address given on the command line, or a container refit manages. */
export type HealthSubject = { kind: 'url'; target: HealthTarget } | { kind: 'container'; name: string; healthPath?: string };

const EXAMPLE = 'e.g. refit health --url http://172.18.0.5:8080 --host example.com, or refit health CONTAINER';

export function parseHealthFlags(container: string | undefined, flags: HealthFlags, defaults: HealthConfig): { subject: HealthSubject; options: HealthOptions } {
  const options: HealthOptions = { ...defaults };
  if (flags.attempts !== undefined) options.attempts = wholeNumber('--attempts', flags.attempts, 1, 1000, 10);
  if (flags.intervalMs !== undefined) options.intervalMs = wholeNumber('--interval-ms', flags.intervalMs, 0, 3_600_000, 1000);
  if (flags.timeoutMs !== undefined) {
    const ms = wholeNumber('--timeout-ms', flags.timeoutMs, 1, 600_000, 5000);
    options.connectTimeoutMs = ms;
    options.responseTimeoutMs = ms;
  }
  const healthPath = flags.path === undefined ? undefined : pathFlag(flags.path);
  const hosts = (flags.host ?? []).flatMap(hostFlag);

  if (container !== undefined && flags.url !== undefined) {
    throw usage(`give either CONTAINER (${JSON.stringify(container)}) or --url, not both`, EXAMPLE);
  }
  if (container !== undefined) {
    if (hosts.length) throw usage('--host applies to --url only', `a container's hosts come from its ${LABEL.vhosts} label`);
    if (container.trim() === '') throw usage('CONTAINER is empty', EXAMPLE);
    return { subject: { kind: 'container', name: container, ...(healthPath ? { healthPath } : {}) }, options };
  }
  if (flags.url === undefined) throw usage('nothing to check: give a CONTAINER or --url', EXAMPLE);
  const { ip, port } = urlFlag(flags.url);
  return { subject: { kind: 'url', target: { ip, port, vhosts: hosts, healthPath: healthPath ?? defaults.path } }, options };
}

function usage(message: string, hint: string): RefitError {
  return new RefitError('usage', message, hint);
}

function wholeNumber(flag: string, raw: string, min: number, max: number, example: number): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!(Number.isSafeInteger(n) && n >= min && n <= max)) {
    throw usage(`${flag} ${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`, `e.g. ${flag} ${example}`);
  }
  return n;
}

function pathFlag(raw: string): string {
  const parsed = parseSiteLabels({ [LABEL.healthPath]: raw });
  if (!parsed.ok) throw usage(`--path ${JSON.stringify(raw)} is not a URL path`, 'it must start with / and contain no spaces, e.g. --path /refit/health');
  return parsed.labels.healthPath;
}

/** A --host may list several names separated by commas, as the refit.vhosts label does. */
function hostFlag(raw: string): string[] {
  const parsed = parseSiteLabels({ [LABEL.vhosts]: raw });
  if (!parsed.ok) throw usage(`--host ${JSON.stringify(raw)} is not a hostname`, 'give a name without scheme, port or path, e.g. --host www.example.com');
  return parsed.labels.vhosts;
}

function urlFlag(raw: string): { ip: string; port: number } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usage(`--url ${JSON.stringify(raw)} is not a URL`, 'give the container address, e.g. --url http://172.18.0.5:8080');
  }
  if (url.protocol !== 'http:') {
    throw usage(`--url ${JSON.stringify(raw)} must be http://`, 'refit talks plain HTTP to the container, as the TLS-terminating proxy does; use http://IP[:PORT]');
  }
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw usage(`--url ${JSON.stringify(raw)} must be only http://IP[:PORT]`, 'give the health endpoint with --path and hostnames with --host');
  }
  return { ip: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : 80 };
}
