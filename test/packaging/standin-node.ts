/**
 * A stand-in for the official `node:20` image, built here from local layers because no
 * registry is reachable: FROM scratch + the host's node and the shared libraries ldd lists,
 * busybox-static as /bin/sh and the usual tools, and the host's npm. Where the official image
 * would download (npm packages, better-sqlite3's prebuilt binary), the stand-in carries the
 * host's npm cache and a prebuild made from the host's compiled module, with npm set offline.
 * It is labelled, and never replaces a `node:20` this code did not build.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../support/refit-cli.js';

export const STANDIN_TAG = 'node:20';
/** Image label that marks the stand-in as ours. */
export const STANDIN_LABEL = 'refit.test.standin';

const docker = (args: string[], opts: { input?: string } = {}) =>
  execFileSync('docker', args, { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...opts }).toString();

/** The labels of `tag`, or null when there is no such image. */
export function imageLabels(tag: string): Record<string, string> | null {
  try {
    return (JSON.parse(docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', tag])) as Record<string, string> | null) ?? {};
  } catch {
    return null;
  }
}

/** Refuses to clobber a real `node:20` (or whatever `tag` names) that this code did not build. */
export function assertNoForeignImage(tag = STANDIN_TAG): void {
  const labels = imageLabels(tag);
  if (labels && labels[STANDIN_LABEL] !== 'true') {
    throw new Error(`an image named ${tag} exists on this host and was not built by this test (no ${STANDIN_LABEL} label); refusing to overwrite it. Build the Dockerfile against it directly, or remove or retag it first.`);
  }
}

/**
 * Removes the stand-in and every untagged image built on it (the Dockerfile's build stage),
 * which inherit its label. Images built on it that still have a tag are the caller's to remove first.
 */
export function removeStandIn(): void {
  docker(['image', 'prune', '-f', '--filter', `label=${STANDIN_LABEL}=true`]);
  if (imageLabels(STANDIN_TAG)?.[STANDIN_LABEL] === 'true') docker(['rmi', STANDIN_TAG]);
}

/** Shared libraries a binary needs, as ldd resolves them (absolute paths). */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary]).toString();
  return [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
}

export function buildStandInNode(): void {
  assertNoForeignImage();
  const node = realpathSync(process.execPath);
  const npmDir = dirname(dirname(realpathSync(execFileSync('which', ['npm']).toString().trim())));
  const npmCache = execFileSync('npm', ['config', 'get', 'cache']).toString().trim();
  const sqliteModule = join(REPO_ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  for (const need of [join(npmCache, '_cacache'), sqliteModule, '/bin/busybox']) {
    if (!existsSync(need)) throw new Error(`building the stand-in node:20 needs ${need}; run \`npm ci\` (and scripts/host-setup.sh) first`);
  }

  const ctx = mkdtempSync(join(tmpdir(), 'refit-standin-'));
  try {
    const root = join(ctx, 'rootfs');
    const put = (from: string, to: string) => {
      mkdirSync(dirname(join(root, to)), { recursive: true });
      copyFileSync(realpathSync(from), join(root, to));
    };
    put(node, 'usr/local/bin/node');
    chmodSync(join(root, 'usr/local/bin/node'), 0o755);
    for (const lib of new Set([...sharedLibraries(node), ...sharedLibraries(sqliteModule)])) put(lib, lib.slice(1));
    put('/bin/busybox', 'bin/busybox');
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    symlinkSync('/bin/busybox', join(root, 'usr/bin/env'));
    cpSync(npmDir, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    cpSync(join(npmCache, '_cacache'), join(root, 'root/.npm/_cacache'), { recursive: true });
    for (const d of ['tmp', 'etc']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');

    // better-sqlite3's install script looks for this file before it would download it.
    const sqliteVersion = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
    const prebuild = `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-linux-${process.arch}.tar.gz`;
    const stage = join(ctx, 'prebuild');
    mkdirSync(join(stage, 'build/Release'), { recursive: true });
    copyFileSync(sqliteModule, join(stage, 'build/Release/better_sqlite3.node'));
    mkdirSync(join(root, 'opt/prebuilds'), { recursive: true });
    execFileSync('tar', ['-czf', join(root, 'opt/prebuilds', prebuild), '-C', stage, 'build']);

    writeFileSync(
      join(ctx, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        'ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/root',
        'ENV npm_config_offline=true npm_config_cache=/root/.npm npm_config_better_sqlite3_local_prebuilds=/opt/prebuilds npm_config_update_notifier=false',
        `LABEL ${STANDIN_LABEL}="true" refit.test="true"`,
        'CMD ["node"]',
        '',
      ].join('\n'),
    );
    docker(['build', '-q', '-t', STANDIN_TAG, ctx]);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
