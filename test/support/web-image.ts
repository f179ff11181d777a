/**
 * Builds the fixture web images: FROM scratch with Debian's busybox-static (no registry
 * needed), labelled as platform web images, each version with its own stock configs at
 * /etc/site. See test/fixtures/web-image/ for the app itself.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, '..', 'fixtures', 'web-image');

/** Label put on everything the tests create, so a later run can sweep leftovers. */
export const TEST_LABEL = 'refit.test';

export interface WebImageSpec {
  /** Full reference, e.g. `refit-fixture/web:1.0.0` or `127.0.0.1:5000/web:1.0.0`. */
  tag: string;
  version: string;
  /** Stock files under /etc/site: relative path -> content. */
  configs?: Record<string, string>;
  /** What /refit/health answers; `absent` leaves it out (404). */
  health?: 'healthy' | 'unhealthy' | 'absent';
  /** Image labels; refit.web=true unless `web: false`. */
  labels?: Record<string, string>;
  web?: boolean;
}

export const STOCK_V1: Record<string, string> = {
  'site.conf': '# fixture site settings\ngreeting=hello\nworkers=2\ntimeout=30\n',
  'httpd.conf': '.html:text/html\n.txt:text/plain\n',
};

export const STOCK_V2: Record<string, string> = {
  'site.conf': '# fixture site settings\ngreeting=hello\nworkers=4\ntimeout=30\ncompression=on\n',
  'httpd.conf': '.html:text/html\n.txt:text/plain\n.json:application/json\n',
  'new-in-v2.conf': 'feature=enabled\n',
};

export function buildWebImage(spec: WebImageSpec): string {
  const ctx = mkdtempSync(join(tmpdir(), 'refit-webimg-'));
  try {
    const root = join(ctx, 'rootfs');
    for (const d of ['bin', 'etc/site', 'www/refit', 'www/cgi-bin', 'tmp', 'run']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    for (const [file, mode] of [['site-start', 'bin/site-start'], ['slow', 'www/cgi-bin/slow'], ['echo', 'www/cgi-bin/echo'], ['status', 'www/cgi-bin/status']] as const) {
      copyFileSync(join(appDir, file), join(root, mode));
      chmodSync(join(root, mode), 0o755);
    }
    for (const [rel, content] of Object.entries(spec.configs ?? STOCK_V1)) {
      mkdirSync(dirname(join(root, 'etc/site', rel)), { recursive: true });
      writeFileSync(join(root, 'etc/site', rel), content);
    }
    const health = spec.health ?? 'healthy';
    if (health !== 'absent') writeFileSync(join(root, 'www/refit/health'), JSON.stringify({ status: health }));
    writeFileSync(join(root, 'www/robots.txt'), 'User-agent: *\n');

    return buildImage(ctx, spec, ['FROM scratch', 'COPY rootfs/ /', 'RUN ["/bin/busybox", "--install", "-s", "/bin"]', `ENV FIXTURE_VERSION=${spec.version}`, 'EXPOSE 80', 'ENTRYPOINT ["/bin/sh", "/bin/site-start"]']);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/**
 * Writes `ctx`'s Dockerfile (`lines`, then the fixture labels: refit.web=true unless `web:
 * false`, the test label, `labels`) and builds it with the classic builder, whose cache reuses
 * unchanged layers across versions (in turn with removals, see FIXTURE_IMAGES_LOCK).
 */
export function buildImage(ctx: string, spec: Pick<WebImageSpec, 'tag' | 'labels' | 'web'>, lines: string[]): string {
  const labels = { ...(spec.web === false ? {} : { 'refit.web': 'true' }), [TEST_LABEL]: 'fixture', ...spec.labels };
  const labelLines = Object.entries(labels).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
  writeFileSync(join(ctx, 'Dockerfile'), [...lines, ...labelLines, ''].join('\n'));
  execFileSync('flock', [FIXTURE_IMAGES_LOCK, 'docker', 'build', '-q', '-t', spec.tag, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return spec.tag;
}

/**
 * Test files on this machine build the same content at once, and the build cache gives them one
 * image. Removing a tag that is that image's last name deletes it, possibly under a build that
 * has just found it in the cache and is about to tag it. Builds and such removals take turns.
 */
const FIXTURE_IMAGES_LOCK = '/tmp/refit-fixture-images.lock';

/** `docker rmi [-f] REFS…` in turn with fixture builds (see FIXTURE_IMAGES_LOCK). */
export function removeImageTags(refs: string[], o: { force?: boolean } = {}): void {
  execFileSync('flock', [FIXTURE_IMAGES_LOCK, 'docker', 'rmi', ...(o.force ? ['-f'] : []), ...refs], { stdio: 'ignore' });
}
