/**
 * A small hosting platform for end-to-end tests: a real local registry holding two versions of
 * a good web image and of a bad one (its new version fails the health check), a refit.yml with
 * its own state dir and HAProxy on free loopback ports, and customer sites as Compose projects
 * with edited config dirs. Everything is labelled for the suite and removed by stop().
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComposeFlavor } from '../../src/compose/cli.js';
import { parseConfigText } from '../../src/config/load.js';
import { createProxy } from '../../src/proxy/adapter.js';
import { freePort, startRegistry, type RunningRegistry } from '../../src/registry/testing/local-registry.js';
import { composeProject, sweepLeftovers, type TestProject } from './compose-project.js';
import { buildWebImage, STOCK_V1, STOCK_V2 } from './web-image.js';

export interface Harness {
  registry: RunningRegistry;
  env: { REFIT_CONFIG: string };
  /** The refit.yml text, for tests that need a variant of it. */
  configText: string;
  stateDir: string;
  httpPort: number;
  ref(repo: 'web' | 'bad', version: '1.0.0' | '1.1.0'): string;
  site(flavor: ComposeFlavor, opts?: { repo?: 'web' | 'bad'; vhost?: string; labels?: Record<string, string> }): Promise<TestSite>;
  /**
   * A site written as the test wants it: `files` besides the customer's config dir `conf/`,
   * started from `composeFiles` (default: the first file) with `envFiles` as `--env-file`. The
   * service is `web`, and its labels must include `siteLabels(vhost)`.
   */
  customSite(flavor: ComposeFlavor, spec: { vhost: string; files: Record<string, string>; composeFiles?: string[]; envFiles?: string[] }): Promise<TestSite>;
  /** The refit.* and test labels a site's web service carries (`vhosts` comma-separated), as YAML lines at `indent`. */
  siteLabels(vhosts: string, indent: string): string[];
  /** Names of containers still around that a maintenance started (shadows). */
  shadows(): string[];
  scratchLeft(): string[];
  stop(): Promise<void>;
}

export interface TestSite extends TestProject {
  vhost: string;
  composeText: string;
  confDir: string;
  container: string;
}

/** The customer's edit: a changed greeting (conflicts with nothing) and a custom file. */
export const CUSTOMER_SITE_CONF = '# fixture site settings\ngreeting=hello from the customer\nworkers=2\ntimeout=30\n';
export const CUSTOMER_EXTRA = 'customer-only=yes\n';
/** What the merge of CUSTOMER_SITE_CONF with STOCK_V1 -> STOCK_V2 gives (the customer won the adjacent hunk). */
export const MERGED_SITE_CONF = '# fixture site settings\ngreeting=hello from the customer\nworkers=2\ntimeout=30\ncompression=on\n';

export function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = readFileSync(join(dir, name), 'utf8');
  return out;
}

export const OLD_TREE = { 'extra.conf': CUSTOMER_EXTRA, 'httpd.conf': STOCK_V1['httpd.conf']!, 'site.conf': CUSTOMER_SITE_CONF };
export const NEW_TREE = { 'extra.conf': CUSTOMER_EXTRA, 'httpd.conf': STOCK_V2['httpd.conf']!, 'new-in-v2.conf': STOCK_V2['new-in-v2.conf']!, 'site.conf': MERGED_SITE_CONF };

export async function startHarness(suite: string): Promise<Harness> {
  sweepLeftovers(suite);
  const dir = mkdtempSync(join(tmpdir(), `refit-${suite}-`));
  mkdirSync(join(dir, 'registry'));
  const registry = await startRegistry({ storage: join(dir, 'registry'), port: await freePort() });
  const ref = (repo: string, version: string) => `${registry.host}/${repo}:${version}`;
  for (const repo of ['web', 'bad'] as const) {
    buildWebImage({ tag: ref(repo, '1.0.0'), version: '1.0.0', configs: STOCK_V1 });
    buildWebImage({ tag: ref(repo, '1.1.0'), version: '1.1.0', configs: STOCK_V2, health: repo === 'bad' ? 'unhealthy' : 'healthy' });
    for (const v of ['1.0.0', '1.1.0']) execFileSync('docker', ['push', '-q', ref(repo, v)], { stdio: 'ignore' });
    // The new version must come from the registry, as on a real host.
    execFileSync('docker', ['rmi', ref(repo, '1.1.0')], { stdio: 'ignore' });
  }
  const stateDir = join(dir, 'state');
  const httpPort = await freePort();
  const configText = [
    `stateDir: ${stateDir}`,
    // Only this harness's images: a pass never touches the sites of test files running alongside.
    `images: { labels: [], references: ["${registry.host}/**"] }`,
    'health: { attempts: 4, intervalMs: 250 }',
    'proxy:',
    '  type: haproxy',
    '  drainTimeoutMs: 10000',
    `  haproxy: { runDir: ${join(dir, 'haproxy')}, bind: 127.0.0.1, httpPort: ${httpPort}, httpsPort: ${await freePort()}, certDir: ${join(dir, 'certs')} }`,
    '',
  ].join('\n');
  const configFile = join(dir, 'refit.yml');
  writeFileSync(configFile, configText);
  let sites = 0;
  const siteLabels = (vhosts: string, indent: string) =>
    ['refit.enable: "true"', `refit.vhosts: "${vhosts}"`, 'refit.config: /etc/site', 'refit.policy: minor', `refit.test.suite: ${suite}`].map((l) => `${indent}${l}`);

  return {
    registry,
    env: { REFIT_CONFIG: configFile },
    configText,
    stateDir,
    httpPort,
    ref,
    siteLabels,
    async customSite(flavor, spec) {
      const files = { ...spec.files, 'conf/site.conf': CUSTOMER_SITE_CONF, 'conf/httpd.conf': STOCK_V1['httpd.conf']!, 'conf/extra.conf': CUSTOMER_EXTRA };
      const project = await composeProject(flavor, suite, files, { composeFiles: spec.composeFiles, envFiles: spec.envFiles });
      // Naming the service starts it even when it is in a profile.
      await project.up(['web']);
      const first = spec.composeFiles?.[0] ?? Object.keys(spec.files)[0]!;
      return { ...project, vhost: spec.vhost, composeText: spec.files[first]!, confDir: join(project.dir, 'conf'), container: project.containerName('web') };
    },
    async site(flavor, opts = {}) {
      const repo = opts.repo ?? 'web';
      const vhost = opts.vhost ?? `site${++sites}-${flavor}.${suite}.example`;
      const composeText = [
        `# ${vhost}: a customer site (comments and layout must survive a tag bump)`,
        'services:',
        '  web:',
        `    image: "${ref(repo, '1.0.0')}"   # platform web image`,
        '    labels:',
        ...siteLabels(`${vhost},www.${vhost}`, '      '),
        ...Object.entries(opts.labels ?? {}).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`),
        '    volumes:',
        '      - ./conf:/etc/site',
        '    environment:',
        '      SITE_MODE: live',
        '    networks: [front]',
        'networks:',
        '  front:',
        '    labels:',
        `      refit.test.suite: ${suite}`,
        '',
      ].join('\n');
      const project = await composeProject(flavor, suite, {
        'docker-compose.yml': composeText,
        'conf/site.conf': CUSTOMER_SITE_CONF,
        'conf/httpd.conf': STOCK_V1['httpd.conf']!,
        'conf/extra.conf': CUSTOMER_EXTRA,
      });
      await project.up();
      return { ...project, vhost, composeText, confDir: join(project.dir, 'conf'), container: project.containerName('web') };
    },
    shadows: () => execFileSync('docker', ['ps', '-a', '--filter', 'label=refit.shadow-of', '--filter', `label=refit.test.suite=${suite}`, '--format', '{{.Names}}']).toString().split('\n').filter(Boolean),
    scratchLeft: () => {
      try {
        return readdirSync(join(stateDir, 'scratch'));
      } catch {
        return [];
      }
    },
    async stop() {
      await createProxy(parseConfigText(configText).proxy).stop();
      await registry.stop();
      sweepLeftovers(suite);
      for (const repo of ['web', 'bad']) for (const v of ['1.0.0', '1.1.0']) execFileSync('docker', ['rmi', '-f', ref(repo, v)], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
