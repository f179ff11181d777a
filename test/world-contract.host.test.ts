/**
 * The World contract (src/maintenance/testing/world-contract.ts) on the real host: Docker,
 * Compose v2, a real registry and HAProxy. The fake world passes the same suite in the unit
 * project (src/maintenance/fake-world.test.ts). The half-done states are made the way a kill
 * between two commands leaves them: HAProxy's `set server … addr` without `set server … state ready`,
 * a config swap staged, or cut between its two renames.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { processStartTime } from '../src/journal/lock.js';
import { worldContract } from '../src/maintenance/testing/world-contract.js';
import { EXTRACT_FOR_LABEL, EXTRACT_OWNER_LABEL } from '../src/merge/extract.js';
import { stage, swapNames } from '../src/site-config/swap.js';
import { expect } from 'vitest';
import { halfAddHaproxy } from './support/half-add.js';
import { startHarness } from './support/host-harness.js';
import { getThroughProxy } from './support/site-checks.js';
import { realSite } from './support/real-site.js';
import { suiteName } from './support/suite.js';

const SUITE = suiteName('worldcontract');

/** A directory as { name: content | subtree | '-> target' }, a file as its content; null when absent. */
function snapshot(path: string): unknown {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return null;
  }
  if (st.isSymbolicLink()) return `-> ${readlinkSync(path)}`;
  if (!st.isDirectory()) return readFileSync(path, 'utf8');
  return Object.fromEntries(readdirSync(path).sort().map((name) => [name, snapshot(join(path, name))]));
}

const docker = (...args: string[]) => execFileSync('docker', args).toString().trim();

worldContract(
  'the real host (Docker, Compose v2, HAProxy)',
  async () => {
    const h = await startHarness(SUITE);
    const testSite = await h.site('v2');
    const { world, site, proxySiteId, adminSocket } = await realSite(h, testSite);
    const gone = spawnSync('true').pid; // a process that has exited
    return {
      world,
      site: { ...site, config: site.config! },
      proxySiteId,
      stateDir: h.stateDir,
      old: { reference: h.ref('web', '1.0.0'), id: site.image.id },
      newReference: h.ref('web', '1.1.0'),
      tree: async (path) => snapshot(path),
      editConfig: async () => appendFileSync(join(testSite.confDir, 'extra.conf'), 'edited=yes\n'),
      composeImage: async () => /image: "([^"]+)"/.exec(readFileSync(join(testSite.dir, 'docker-compose.yml'), 'utf8'))![1]!,
      setComposeImage: async (reference) => {
        const file = join(testSite.dir, 'docker-compose.yml');
        writeFileSync(file, readFileSync(file, 'utf8').replace(/image: "[^"]+"/, `image: "${reference}"`));
      },
      halfAdd: (up) => halfAddHaproxy(dirname(adminSocket), proxySiteId, up),
      traffic: async (n) => {
        for (let i = 0; i < n; i++) expect((await getThroughProxy(h, testSite)).status).toBe(200);
      },
      halfInstall: async (mergedDir, id, upTo) => {
        const names = swapNames(site.config!.hostPath, id);
        stage(names, mergedDir);
        if (upTo === 'renamed-out') renameSync(names.dir, names.previous);
      },
      leaveExtractContainer: async (owner, by) => {
        const maker = by === 'alive' ? `${process.pid}:${processStartTime(process.pid)}` : `${gone}:1`;
        const labels = { 'refit.role': 'extract', [EXTRACT_FOR_LABEL]: owner, [EXTRACT_OWNER_LABEL]: maker, 'refit.test.suite': SUITE };
        docker('create', ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), '--network', 'none', '--entrypoint', '/refit-extract-never-runs', site.image.id);
      },
      spareImage: async () => {
        const references: [string, string] = [`refit-fixture/${SUITE}/spare:a`, `refit-fixture/${SUITE}/spare:b`];
        const otherRepository = `refit-fixture/${SUITE}/pinned:1`;
        const dockerfile = `FROM ${site.image.id}\nLABEL refit.test.suite=${SUITE} refit.test.spare=${process.pid}.${Date.now()}\n`;
        execFileSync('docker', ['build', '-q', ...[...references, otherRepository].flatMap((r) => ['-t', r]), '-'], { input: dockerfile, stdio: ['pipe', 'pipe', 'pipe'] });
        return { id: docker('image', 'inspect', '--format', '{{.Id}}', references[0]), references, otherRepository };
      },
      extractContainers: async (owner) => docker('ps', '-aq', '--filter', 'label=refit.role=extract', '--filter', `label=${EXTRACT_FOR_LABEL}=${owner}`).split('\n').filter(Boolean).length,
      cleanup: async () => {
        await testSite.down();
        await h.stop();
      },
    };
  },
  { timeoutMs: 60_000 },
);
