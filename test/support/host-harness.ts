/**
 * A small hosting platform for end-to-end tests: a real local registry holding two versions of
 * a good web image and of a bad one (its new version fails the health check), a refit.yml with
 * its own state dir and proxy (HAProxy, or nginx) on free loopback ports, and customer sites as
 * Compose projects with edited config dirs. Everything is labelled for the suite and removed by
 * stop().
 *
 * Two apps: `busybox` (default), the busybox httpd image of web-image.ts, fast to build and
 * start, for functional tests; `php`, the realistic nginx + php-fpm shop of app-image.ts, for
 * tests under load. With `php` there are two more repos: `broken`, whose 1.1.0 passes its health
 * check but answers 500 on /checkout.php, and `dead`, whose 1.1.0 cannot start. Either way the customer's config dir on 1.0.0 is
 * `oldTree` (edits that merge cleanly and one conflict) and refit's merge makes it `newTree`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComposeFlavor } from '../../src/compose/cli.js';
import { parseConfigText } from '../../src/config/load.js';
import { createProxy } from '../../src/proxy/adapter.js';
import { freePort, startRegistry, type RunningRegistry } from '../../src/registry/testing/local-registry.js';
import { APP_NEW_TREE, APP_OLD_TREE, APP_STOCK_V1, APP_STOCK_V2, appServesLine, buildAppImage } from './app-image.js';
import { composeProject, sweepLeftovers, type TestProject } from './compose-project.js';
import { buildWebImage, removeImageTags, STOCK_V1, STOCK_V2 } from './web-image.js';

export type FixtureApp = 'busybox' | 'php';
export type Repo = 'web' | 'bad' | 'broken' | 'dead';
export type Version = '1.0.0' | '1.1.0';
export type ProxyType = 'haproxy' | 'nginx';

export interface HarnessOptions {
  /** What the sites run; default `busybox`. */
  app?: FixtureApp;
  /** The proxy in refit.yml; default `haproxy`. */
  proxy?: ProxyType;
  /** A self-signed certificate for `*.<suite>.example` in the proxy's certDir, so it also serves HTTPS on httpsPort. */
  tls?: boolean;
  /** More top-level refit.yml lines (e.g. a `maintenance:` section). */
  config?: string[];
  /** `images.removeReplaced` (the harness writes the `images:` section itself). */
  removeReplacedImages?: boolean;
  /** `proxy.drainTimeoutMs`; default 10 s. A test that ends a drain itself sets it far away. */
  drainTimeoutMs?: number;
}

export interface Harness {
  registry: RunningRegistry;
  env: { REFIT_CONFIG: string };
  /** The refit.yml text, for tests that need a variant of it. */
  configText: string;
  stateDir: string;
  app: FixtureApp;
  proxy: ProxyType;
  httpPort: number;
  /** The proxy listens on it only with `tls` (no certificate, no HTTPS listener). */
  httpsPort: number;
  certDir: string;
  /** The customer's config dir on 1.0.0, and what refit's merge makes of it on 1.1.0. */
  oldTree: Record<string, string>;
  newTree: Record<string, string>;
  /** The first body line of `/` for a version (`fixture version=…` or `app version=…`). */
  servesLine(version: Version): string;
  /** `broken` and `dead` only with `app: 'php'`. */
  ref(repo: Repo, version: Version): string;
  site(flavor: ComposeFlavor, opts?: SiteOptions): Promise<TestSite>;
  /**
   * Another refit "host" on this machine (fleet tests): this harness's refit.yml with its own
   * state dir, proxy run dir and ports, the same registry, plus `extra` config lines (e.g. a
   * `fleet:` section).
   */
  host(name: string, extra?: string[]): Promise<RefitHost>;
  /**
   * A site written as the test wants it: `files` besides the customer's config dir `conf/`,
   * started from `composeFiles` (default: the first file) with `envFiles` as `--env-file`. The
   * service is `web`, and its labels must include `siteLabels(vhost)`.
   */
  customSite(flavor: ComposeFlavor, spec: { vhost: string; files: Record<string, string>; composeFiles?: string[]; envFiles?: string[] }): Promise<TestSite>;
  /** The refit.* and test labels a site's web service carries (`vhosts` comma-separated), as YAML lines at `indent`. */
  siteLabels(vhosts: string, indent: string, policy?: string): string[];
  /** Names of containers still around that a maintenance started (shadows). */
  shadows(): string[];
  scratchLeft(): string[];
  stop(): Promise<void>;
}

export interface RefitHost {
  name: string;
  env: { REFIT_CONFIG: string };
  stateDir: string;
  httpPort: number;
}

export interface SiteOptions {
  repo?: Repo;
  /** Another image reference than `repo`'s 1.0.0. */
  image?: string;
  /** refit.policy (default minor). */
  policy?: string;
  vhost?: string;
  labels?: Record<string, string>;
  /** The site network's subnet (e.g. `10.213.4.0/24`) instead of one from Docker's default address pools (about 30 networks). */
  subnet?: string;
}

export interface TestSite extends TestProject {
  repo: Repo;
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

interface AppFixture {
  repos: Repo[];
  build(tag: string, repo: Repo, version: Version): void;
  oldTree: Record<string, string>;
  newTree: Record<string, string>;
  servesLine(version: Version): string;
}

const FIXTURES: Record<FixtureApp, AppFixture> = {
  busybox: {
    repos: ['web', 'bad'],
    build: (tag, repo, version) =>
      buildWebImage({ tag, version, configs: version === '1.0.0' ? STOCK_V1 : STOCK_V2, health: repo === 'bad' && version === '1.1.0' ? 'unhealthy' : 'healthy' }),
    oldTree: OLD_TREE,
    newTree: NEW_TREE,
    servesLine: (version) => `fixture version=${version}`,
  },
  php: {
    repos: ['web', 'bad', 'broken', 'dead'],
    build: (tag, repo, version) =>
      buildAppImage({
        tag,
        version,
        configs: version === '1.0.0' ? APP_STOCK_V1 : APP_STOCK_V2,
        health: repo === 'bad' && version === '1.1.0' ? 'unhealthy' : 'healthy',
        checkout: repo === 'broken' && version === '1.1.0' ? 'error' : 'ok',
        // dead 1.1.0 cannot start: its container exits at once.
        start: repo === 'dead' && version === '1.1.0' ? 'fail' : 'ok',
      }),
    oldTree: APP_OLD_TREE,
    newTree: APP_NEW_TREE,
    servesLine: appServesLine,
  },
};

export async function startHarness(suite: string, options: HarnessOptions = {}): Promise<Harness> {
  sweepLeftovers(suite);
  const app = options.app ?? 'busybox';
  const proxy = options.proxy ?? 'haproxy';
  const fixture = FIXTURES[app];
  const dir = mkdtempSync(join(tmpdir(), `refit-${suite}-`));
  // nginx workers run as www-data and must reach their temp dirs in the proxy's run dir.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'registry'));
  const registry = await startRegistry({ storage: join(dir, 'registry'), port: await freePort() });
  const ref = (repo: Repo, version: Version) => `${registry.host}/${repo}:${version}`;
  // Every repo's 1.0.0 is the same good image.
  fixture.build(ref('web', '1.0.0'), 'web', '1.0.0');
  for (const repo of fixture.repos) {
    if (repo !== 'web') execFileSync('docker', ['tag', ref('web', '1.0.0'), ref(repo, '1.0.0')]);
    fixture.build(ref(repo, '1.1.0'), repo, '1.1.0');
    for (const v of ['1.0.0', '1.1.0'] as const) execFileSync('docker', ['push', '-q', ref(repo, v)], { stdio: 'ignore' });
    // The new version must come from the registry, as on a real host.
    removeImageTags([ref(repo, '1.1.0')]);
  }
  const stateDir = join(dir, 'state');
  const certDir = join(dir, 'certs');
  if (options.tls) writeSelfSignedCert(certDir, `*.${suite}.example`);
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const configText = [
    `stateDir: ${stateDir}`,
    // Only this harness's images: a pass never touches the sites of test files running alongside.
    `images: { labels: [], references: ["${registry.host}/**"]${options.removeReplacedImages ? ', removeReplaced: true' : ''} }`,
    // Five seconds for an app to start listening, even with the host busy: how fast it starts is bench/, not here.
    'health: { attempts: 10, intervalMs: 500 }',
    'proxy:',
    `  type: ${proxy}`,
    `  drainTimeoutMs: ${options.drainTimeoutMs ?? 10_000}`,
    `  ${proxy}: { runDir: ${join(dir, proxy)}, bind: 127.0.0.1, httpPort: ${httpPort}, httpsPort: ${httpsPort}, certDir: ${certDir} }`,
    ...(options.config ?? []),
    '',
  ].join('\n');
  const configFile = join(dir, 'refit.yml');
  writeFileSync(configFile, configText);
  let sites = 0;
  const hostConfigs: string[] = [];
  const siteLabels = (vhosts: string, indent: string, policy = 'minor') =>
    ['refit.enable: "true"', `refit.vhosts: "${vhosts}"`, 'refit.config: /etc/site', `refit.policy: ${policy}`, `refit.test.suite: ${suite}`].map((l) => `${indent}${l}`);

  return {
    registry,
    env: { REFIT_CONFIG: configFile },
    configText,
    stateDir,
    app,
    proxy,
    httpPort,
    httpsPort,
    certDir,
    oldTree: fixture.oldTree,
    newTree: fixture.newTree,
    servesLine: fixture.servesLine,
    ref,
    siteLabels,
    async customSite(flavor, spec) {
      const files = { ...spec.files, ...Object.fromEntries(Object.entries(fixture.oldTree).map(([name, content]) => [`conf/${name}`, content])) };
      const project = await composeProject(flavor, suite, files, { composeFiles: spec.composeFiles, envFiles: spec.envFiles });
      // Naming the service starts it even when it is in a profile.
      await project.up(['web']);
      const first = spec.composeFiles?.[0] ?? Object.keys(spec.files)[0]!;
      return { ...project, repo: 'web', vhost: spec.vhost, composeText: spec.files[first]!, confDir: join(project.dir, 'conf'), container: project.containerName('web') };
    },
    async site(flavor, opts = {}) {
      const repo = opts.repo ?? 'web';
      if (!fixture.repos.includes(repo)) throw new Error(`the ${app} harness has no ${repo} repo (only ${fixture.repos.join(', ')})`);
      const vhost = opts.vhost ?? `site${++sites}-${flavor}.${suite}.example`;
      const composeText = [
        `# ${vhost}: a customer site (comments and layout must survive a tag bump)`,
        'services:',
        '  web:',
        `    image: "${opts.image ?? ref(repo, '1.0.0')}"   # platform web image`,
        '    labels:',
        ...siteLabels(`${vhost},www.${vhost}`, '      ', opts.policy),
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
        ...(opts.subnet ? ['    ipam:', `      config: [{ subnet: ${opts.subnet} }]`] : []),
        '',
      ].join('\n');
      const confFiles = Object.fromEntries(Object.entries(fixture.oldTree).map(([name, content]) => [`conf/${name}`, content]));
      const project = await composeProject(flavor, suite, { 'docker-compose.yml': composeText, ...confFiles });
      await project.up();
      return { ...project, repo, vhost, composeText, confDir: join(project.dir, 'conf'), container: project.containerName('web') };
    },
    async host(name, extra = []) {
      const root = join(dir, 'hosts', name);
      const ports = { httpPort: await freePort(), httpsPort: await freePort() };
      const text = `${configText
        .replaceAll(`${dir}/`, `${root}/`)
        .replace(/\bhttpPort: \d+/, `httpPort: ${ports.httpPort}`)
        .replace(/\bhttpsPort: \d+/, `httpsPort: ${ports.httpsPort}`)}${extra.join('\n')}\n`;
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, 'refit.yml'), text);
      hostConfigs.push(text);
      return { name, env: { REFIT_CONFIG: join(root, 'refit.yml') }, stateDir: join(root, 'state'), httpPort: ports.httpPort };
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
      for (const text of hostConfigs) await createProxy(parseConfigText(text).proxy).stop();
      await createProxy(parseConfigText(configText).proxy).stop();
      await registry.stop();
      sweepLeftovers(suite);
      for (const repo of fixture.repos) for (const v of ['1.0.0', '1.1.0']) removeImageTags([ref(repo, v as Version)], { force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One PEM (certificate, then its key) for `name` (e.g. `*.suite.example`), as the proxies read them. */
export function writeSelfSignedCert(certDir: string, name: string): string {
  mkdirSync(certDir, { recursive: true });
  const key = join(certDir, 'key.tmp');
  const cert = join(certDir, 'cert.tmp');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const pem = join(certDir, 'site.pem');
  writeFileSync(pem, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'), { mode: 0o600 });
  rmSync(key);
  rmSync(cert);
  return pem;
}
