/**
 * Builds the realistic fixture app image: a small shop on Debian's nginx and php-fpm, FROM
 * scratch, locally and without any registry. The host's own binaries (nginx-light, php8.2-fpm,
 * busybox-static for the shell) are copied in with every shared library `ldd` lists, so a
 * build takes seconds and needs no network. The runtime layer is the same for every version
 * (Docker's build cache reuses it); file times are fixed, so equal inputs give equal layers.
 *
 * The customer's config dir is /etc/site (the sites' `refit.config`), and everything in it is
 * used: nginx includes /etc/site/nginx-*.conf, php-fpm /etc/site/php-fpm-*.conf, and the app
 * reads /etc/site/app.ini on every request. Pages (test/fixtures/app-image/):
 *  - `/`: `app version=<version>`, `greeting=<app.ini greeting>`, `features=<enabled ones>`,
 *    `asset=/assets/app-<version>.css`, `container=<hostname>`, one per line;
 *  - `/refit/health`: `{"status":"healthy",...}` (200), or `unhealthy` (503), or 404 (absent);
 *  - `/checkout.php`: `checkout ok ...`, or 500 in a release built with `checkout: 'error'`;
 *  - `/slow.php?ms=N`: its first line at once, the rest after N ms (drain tests);
 *  - `POST /echo.php`: `received bytes=<body length>` (nginx's client_max_body_size applies);
 *  - `/assets/app-<version>.css`: a static file.
 * PID 1 (app-start) stops nginx then php-fpm gracefully on SIGTERM and exits 0.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage } from './web-image.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'app-image');

export interface AppImageSpec {
  /** Full reference, e.g. `127.0.0.1:5000/web:1.0.0`. */
  tag: string;
  version: string;
  /** Stock files under /etc/site: name -> content (default APP_STOCK_V1). */
  configs?: Record<string, string>;
  /** What /refit/health answers; `absent` leaves it out (404). Default healthy. */
  health?: 'healthy' | 'unhealthy' | 'absent';
  /** `error`: /checkout.php answers 500 while the health check passes (a bad release). */
  checkout?: 'ok' | 'error';
  /** `fail`: the container exits 3 at start (an image that cannot start). */
  start?: 'ok' | 'fail';
  /** Image labels; refit.web=true unless `web: false`. */
  labels?: Record<string, string>;
  web?: boolean;
}

const SITE_V1 = `# The shop's server block (nginx includes /etc/site/nginx-*.conf in its http block).
server {
    listen 80 default_server;
    server_name _;
    root /srv/app/public;
    index index.php;
    client_max_body_size 256k;

    location = /refit/health {
        rewrite ^ /refit/health.php last;
    }

    location /assets/ {
        expires 1h;
    }

    location ~ \\.php$ {
        try_files $uri =404;
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:/run/php/app.sock;
    }
}
`;

const POOL_V1 = `; The shop's php-fpm pool (php-fpm includes /etc/site/php-fpm-*.conf).
[app]
user = www-data
group = www-data
listen = /run/php/app.sock
listen.owner = www-data
listen.group = www-data
pm = dynamic
pm.max_children = 4
pm.start_servers = 2
pm.min_spare_servers = 1
pm.max_spare_servers = 2
`;

const APP_INI_V1 = `; The shop's settings, read by the app on every request.
[app]
greeting = "hello"
currency = "EUR"

[features]
search = off
reviews = on
`;

export const APP_STOCK_V1: Record<string, string> = {
  'app.ini': APP_INI_V1,
  'nginx-site.conf': SITE_V1,
  'php-fpm-pool.conf': POOL_V1,
};

/** 1.1.0: a new feature, a larger upload limit, more php-fpm children, and compression (a new file). */
export const APP_STOCK_V2: Record<string, string> = {
  'app.ini': APP_INI_V1.replace('reviews = on\n', 'reviews = on\nwishlist = on\n'),
  'nginx-gzip.conf': '# Compression for static text files (new in 1.1).\ngzip on;\ngzip_types text/css application/javascript;\n',
  'nginx-site.conf': SITE_V1.replace('client_max_body_size 256k;', 'client_max_body_size 512k;'),
  'php-fpm-pool.conf': POOL_V1.replace('pm.max_children = 4', 'pm.max_children = 6'),
};

const CUSTOMER_APP_INI = APP_INI_V1.replace('greeting = "hello"', 'greeting = "hello from the customer"');
const CUSTOMER_SITE = SITE_V1.replace('client_max_body_size 256k;', 'client_max_body_size 768k;');
const CUSTOMER_HEADER = '# Added by the customer: a header on every answer.\nadd_header X-Shop "customer" always;\n';

/**
 * The customer's config dir on 1.0.0: a new greeting in app.ini, a larger upload limit in the
 * server block, and a file of their own (the pool is stock).
 */
export const APP_OLD_TREE: Record<string, string> = {
  'app.ini': CUSTOMER_APP_INI,
  'nginx-customer.conf': CUSTOMER_HEADER,
  'nginx-site.conf': CUSTOMER_SITE,
  'php-fpm-pool.conf': POOL_V1,
};

/**
 * What the merge of APP_OLD_TREE with APP_STOCK_V1 -> APP_STOCK_V2 gives: app.ini `merged`
 * (the customer's greeting and 1.1's wishlist), nginx-site.conf `conflict` (both changed
 * client_max_body_size; the customer's 768k wins), php-fpm-pool.conf `took-latest`,
 * nginx-gzip.conf `added`, nginx-customer.conf `kept-customer`.
 */
export const APP_NEW_TREE: Record<string, string> = {
  'app.ini': CUSTOMER_APP_INI.replace('reviews = on\n', 'reviews = on\nwishlist = on\n'),
  'nginx-customer.conf': CUSTOMER_HEADER,
  'nginx-gzip.conf': APP_STOCK_V2['nginx-gzip.conf']!,
  'nginx-site.conf': CUSTOMER_SITE,
  'php-fpm-pool.conf': APP_STOCK_V2['php-fpm-pool.conf']!,
};

/** The merge report's summary for that update. */
export const APP_MERGE_SUMMARY = { merged: 1, conflict: 1, 'took-latest': 1, added: 1, 'kept-customer': 1 };

/** The first line of `/` for a version. */
export const appServesLine = (version: string): string => `app version=${version}`;

const PHP_EXTENSION_DIR = '/usr/lib/php/20220829';
const BINARIES = ['/usr/sbin/nginx', '/usr/sbin/php-fpm8.2', `${PHP_EXTENSION_DIR}/opcache.so`];
/** File times in the image: fixed, so that equal inputs give byte-equal layers. */
const EPOCH = new Date('2024-01-01T00:00:00Z');

export function buildAppImage(spec: AppImageSpec): string {
  const ctx = mkdtempSync(join(tmpdir(), 'refit-appimg-'));
  try {
    writeRuntime(join(ctx, 'runtime'));
    writeApp(join(ctx, 'app'), spec);
    fixTimes(ctx);
    return buildImage(ctx, spec, [
      'FROM scratch',
      'COPY runtime/ /',
      'COPY app/ /',
      'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      `ENV FIXTURE_VERSION=${spec.version}`,
      'EXPOSE 80',
      'ENTRYPOINT ["/bin/sh", "/usr/local/bin/app-start"]',
    ]);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** Everything but the app: the same for every version, so Docker's build cache shares it. */
function writeRuntime(root: string): void {
  const put = (path: string, content: string, mode = 0o644) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content, { mode });
  };
  const copy = (from: string, to = from) => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(from, join(root, to));
  };
  for (const file of [...BINARIES, ...sharedLibraries(BINARIES)]) copy(file);
  copy('/bin/busybox');
  for (const applet of execFileSync('/bin/busybox', ['--list']).toString().split('\n').filter(Boolean)) {
    if (applet !== 'busybox') symlinkSync('busybox', join(root, 'bin', applet));
  }
  copy('/etc/nginx/mime.types');
  copy('/etc/nginx/fastcgi_params');
  copy(join(appDir, 'nginx.conf'), '/etc/nginx/nginx.conf');
  copy(join(appDir, 'php-fpm.conf'), '/etc/php/8.2/fpm/php-fpm.conf');
  copy(join(appDir, 'php.ini'), '/etc/php/8.2/fpm/php.ini');
  copy(join(appDir, 'app-start'), '/usr/local/bin/app-start');
  put('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  put('/etc/group', 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n');
  put('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files\n');
  for (const dir of ['run/php', 'var/lib/nginx', 'tmp']) mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
}

/** The app and its stock configs: pages, release facts, this version's asset. */
function writeApp(root: string, spec: AppImageSpec): void {
  cpSync(join(appDir, 'lib'), join(root, 'srv/app/lib'), { recursive: true });
  cpSync(join(appDir, 'public'), join(root, 'srv/app/public'), { recursive: true });
  const health = spec.health ?? 'healthy';
  if (health === 'absent') rmSync(join(root, 'srv/app/public/refit/health.php'));
  writeFileSync(join(root, 'srv/app/release.ini'), `version = "${spec.version}"\nhealth = "${health}"\ncheckout = "${spec.checkout ?? 'ok'}"\n`);
  if (spec.start === 'fail') writeFileSync(join(root, 'srv/app/refuse-start'), '');
  mkdirSync(join(root, 'srv/app/public/assets'));
  writeFileSync(join(root, `srv/app/public/assets/app-${spec.version}.css`), `/* fixture shop ${spec.version} */\nbody { font-family: sans-serif; }\n`);
  for (const [rel, content] of Object.entries(spec.configs ?? APP_STOCK_V1)) {
    mkdirSync(dirname(join(root, 'etc/site', rel)), { recursive: true });
    writeFileSync(join(root, 'etc/site', rel), content);
  }
}

/** Every library `ldd` lists for the binaries (the vDSO has no file). */
function sharedLibraries(binaries: string[]): string[] {
  const libs = new Set<string>();
  for (const bin of binaries) {
    for (const line of execFileSync('ldd', [bin]).toString().split('\n')) {
      const path = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)/.exec(line)?.[1];
      if (path) libs.add(path);
    }
  }
  return [...libs].sort();
}

function fixTimes(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) fixTimes(path);
    lutimesSync(path, EPOCH, EPOCH);
  }
  lutimesSync(dir, EPOCH, EPOCH);
}
