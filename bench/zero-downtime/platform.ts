/**
 * @module bench/zero-downtime/platform
 * What one bench run stands on: a local registry with versions 1.0.0 and 1.1.0 of the realistic
 * fixture app (nginx + php-fpm, test/support/app-image.ts; built once), and per run a refit.yml
 * for HAProxy or nginx on free loopback ports plus N customer sites (Compose v2 projects on
 * 1.0.0 with the customer's edited config dir), all labelled for sweepLeftovers and removed by
 * their `stop()`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompose } from '../../src/compose/cli.js';
import { parseConfigText } from '../../src/config/load.js';
import { createProxy } from '../../src/proxy/adapter.js';
import { freePort, startRegistry, type RunningRegistry } from '../../src/registry/testing/local-registry.js';
import { APP_OLD_TREE, APP_STOCK_V1, APP_STOCK_V2, buildAppImage } from '../../test/support/app-image.js';
import { composeProject, sweepLeftovers, type TestProject } from '../../test/support/compose-project.js';
import { suiteName } from '../../test/support/suite.js';

export const SUITE = suiteName('zdbench');
export type ProxyType = 'haproxy' | 'nginx';

export interface Images {
  /** The registry's HOST:PORT: the bench's refit.yml allows only its images, so no other managed site on the host is touched. */
  registryHost: string;
  ref(version: '1.0.0' | '1.1.0'): string;
  /** Drops the local copy of 1.1.0: each run must pull it from the registry, as a real host does. */
  forgetNew(): void;
  stop(): Promise<void>;
}

export interface BenchSite {
  vhost: string;
  container: string;
  project: TestProject;
  /** The updaters' way: new tag in the compose file, `docker compose up -d`. */
  recreateInPlace(newRef: string): Promise<void>;
}

export interface RunSetup {
  env: { REFIT_CONFIG: string };
  httpPort: number;
  sites: BenchSite[];
  stop(): Promise<void>;
}

export async function startImages(dir: string): Promise<Images> {
  sweepLeftovers(SUITE);
  mkdirSync(join(dir, 'registry'), { recursive: true });
  const registry: RunningRegistry = await startRegistry({ storage: join(dir, 'registry'), port: await freePort() });
  const ref = (v: string) => `${registry.host}/zdbench/web:${v}`;
  buildAppImage({ tag: ref('1.0.0'), version: '1.0.0', configs: APP_STOCK_V1 });
  buildAppImage({ tag: ref('1.1.0'), version: '1.1.0', configs: APP_STOCK_V2 });
  for (const v of ['1.0.0', '1.1.0']) execFileSync('docker', ['push', '-q', ref(v)], { stdio: 'ignore' });
  const forgetNew = () => execFileSync('docker', ['rmi', '-f', ref('1.1.0')], { stdio: 'ignore' });
  forgetNew();
  return {
    registryHost: registry.host,
    ref,
    forgetNew,
    async stop() {
      await registry.stop();
      for (const v of ['1.0.0', '1.1.0']) execFileSync('docker', ['rmi', '-f', ref(v)], { stdio: 'ignore' });
    },
  };
}

function proxyConfig(type: ProxyType, dir: string, httpPort: number, httpsPort: number): string[] {
  return [
    '  drainTimeoutMs: 15000',
    `  ${type}: { runDir: ${join(dir, type)}, bind: 127.0.0.1, httpPort: ${httpPort}, httpsPort: ${httpsPort}, certDir: ${join(dir, 'certs')} }`,
  ];
}

export async function startRunSetup(o: { proxy: ProxyType; sites: number; images: Images }): Promise<RunSetup> {
  o.images.forgetNew();
  const dir = mkdtempSync(join(tmpdir(), `refit-${SUITE}-`));
  // nginx workers run as www-data and must reach their temp dirs in the proxy's run dir.
  chmodSync(dir, 0o755);
  const httpPort = await freePort();
  const configText = [`stateDir: ${join(dir, 'state')}`, `images: { labels: [], references: ["${o.images.registryHost}/**"] }`, 'health: { attempts: 10, intervalMs: 250 }', 'proxy:', `  type: ${o.proxy}`, ...proxyConfig(o.proxy, dir, httpPort, await freePort()), ''].join('\n');
  const configFile = join(dir, 'refit.yml');
  writeFileSync(configFile, configText);
  const sites: BenchSite[] = [];
  try {
    for (let i = 1; i <= o.sites; i++) sites.push(await startSite(`site${i}-${o.proxy}.${SUITE}.example`, o.images.ref('1.0.0')));
  } catch (err) {
    await Promise.all(sites.map((s) => s.project.down()));
    throw err;
  }
  return {
    env: { REFIT_CONFIG: configFile },
    httpPort,
    sites,
    async stop() {
      await createProxy(parseConfigText(configText).proxy).stop();
      for (const s of sites) await s.project.down();
      sweepLeftovers(SUITE);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startSite(vhost: string, ref: string): Promise<BenchSite> {
  const composeText = [
    'services:',
    '  web:',
    `    image: "${ref}"`,
    '    labels:',
    '      refit.enable: "true"',
    `      refit.vhosts: "${vhost}"`,
    '      refit.config: /etc/site',
    '      refit.policy: minor',
    `      refit.test.suite: ${SUITE}`,
    '    volumes:',
    '      - ./conf:/etc/site',
    '    networks: [front]',
    'networks:',
    '  front:',
    '    labels:',
    `      refit.test.suite: ${SUITE}`,
    '',
  ].join('\n');
  const conf = Object.fromEntries(Object.entries(APP_OLD_TREE).map(([name, content]) => [`conf/${name}`, content]));
  const project = await composeProject('v2', SUITE, { 'docker-compose.yml': composeText, ...conf });
  await project.up();
  return {
    vhost,
    container: project.containerName('web'),
    project,
    async recreateInPlace(newRef) {
      const file = project.files[0]!;
      writeFileSync(file, readFileSync(file, 'utf8').replace(ref, newRef));
      await runCompose(project.cli, project, ['up', '-d']);
    },
  };
}
