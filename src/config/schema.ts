/**
 * @module config/schema
 * The host configuration (`/etc/refit/refit.yml`): every key, its default and its bounds.
 * Documented in docs/configuration.md; keep the two in step.
 */
import { z } from 'zod';
import { parseListen } from '../metrics/listen.js';
import { parseDuration } from '../site/labels.js';

// Node timers overflow past 2^31-1 ms (about 24.8 days).
const ms = (def: number, min = 0) => z.number().int().min(min).max(2 ** 31 - 1).default(def);
const port = z.number().int().min(1).max(65535);
const absPath = z.string().startsWith('/', { message: 'must be an absolute path' });

export const healthSchema = z
  .object({
    attempts: z.number().int().min(1).max(1000).default(10),
    intervalMs: ms(1000),
    successThreshold: z.number().int().min(1).default(1),
    connectTimeoutMs: ms(2000, 1),
    responseTimeoutMs: ms(5000, 1),
    maxBodyBytes: z.number().int().min(1024).default(64 * 1024),
    maxRedirects: z.number().int().min(0).max(50).default(5),
    path: z.string().startsWith('/', { message: 'must start with /' }).default('/refit/health'),
  })
  .strict();

export const haproxySchema = z
  .object({
    binary: z.string().default('haproxy'),
    /** Directory refit owns: rendered haproxy.cfg, pid file, admin socket. */
    runDir: absPath.default('/run/refit/haproxy'),
    bind: z.string().default('0.0.0.0'),
    httpPort: port.default(80),
    httpsPort: port.default(443),
    /** PEM files (certificate + key) for TLS termination; empty or missing disables HTTPS. */
    certDir: absPath.default('/etc/refit/certs'),
    /** Workers drop to this user and its group when refit runs as root (Debian's haproxy user). */
    user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'must be a user name').default('haproxy'),
  })
  .strict();

export const nginxSchema = z
  .object({
    binary: z.string().default('nginx'),
    runDir: absPath.default('/run/refit/nginx'),
    bind: z.string().default('0.0.0.0'),
    httpPort: port.default(80),
    httpsPort: port.default(443),
    certDir: absPath.default('/etc/refit/certs'),
    /** Worker user when refit runs as root (Debian's nginx user). */
    user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'must be a user name').default('www-data'),
  })
  .strict();

/** HOST:PORT where the operator's proxy listens for the public (refit's own probes go there). */
const listener = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d{1,5}$/, 'must be HOST:PORT, e.g. 127.0.0.1:80');

/** What every guest mode (refit inside the operator's proxy) shares; docs/proxy.md. */
const guestFields = {
  /** refit's own files for this mode: state, probe token, and the files the operator's config refers to. */
  runDir: absPath,
  /** The operator's route for site `<project>.<service>` is named `<routePrefix><project>.<service>`. */
  routePrefix: z.string().regex(/^[A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-" only').default('refit_'),
  /** The operator's public listeners, where refit's probes check a site from outside. */
  http: listener.default('127.0.0.1:80'),
  /** Unset: the operator's proxy has no HTTPS listener refit may probe. */
  https: listener.optional(),
};

export const haproxyGuestSchema = z
  .object({
    ...guestFields,
    runDir: guestFields.runDir.default('/var/lib/refit/haproxy-guest'),
    /** The operator's admin socket (`stats socket … level admin`). */
    adminSocket: absPath.default('/run/haproxy/admin.sock'),
    /** The operator's master CLI (`-S`), if any: lets a drain count requests in workers an operator reload left finishing. */
    masterSocket: absPath.optional(),
    /** The operator's config, read (never written) by `refit proxy doctor`. */
    config: absPath.default('/etc/haproxy/haproxy.cfg'),
    /** Server slots refit may use: `server-template <slotPrefix> …` in each managed backend. */
    slotPrefix: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'must be a server name prefix').default('refit'),
  })
  .strict();

/** Where refit's router listens when the operator's proxy forwards managed sites to it (mode `router`). */
const routerFields = {
  /** Group allowed to connect to the router socket: the operator's proxy workers. */
  socketGroup: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'must be a group name').optional(),
  /** nginx binary of refit's router. */
  binary: z.string().default('nginx'),
};

export const nginxGuestSchema = z
  .object({
    ...guestFields,
    runDir: guestFields.runDir.default('/var/lib/refit/nginx-guest'),
    /** include: refit writes one upstream file per site and reloads the operator's nginx; router: the operator's nginx forwards to refit's router and is never reloaded by refit. */
    mode: z.enum(['include', 'router']).default('include'),
    /** The operator's nginx binary (its own `nginx -t`). */
    operatorBinary: z.string().default('nginx'),
    /** The operator's main config, checked with `nginx -t -c` and read by `refit proxy doctor`. */
    config: absPath.default('/etc/nginx/nginx.conf'),
    /** The operator's master pid file: the master refit reloads. */
    pidFile: absPath.default('/run/nginx.pid'),
    /** The directory the operator's config includes (`include <includeDir>/*.conf;`); refit owns the files in it. */
    includeDir: absPath.default('/etc/nginx/refit'),
    ...routerFields,
    socketGroup: routerFields.socketGroup.default('www-data'),
  })
  .strict();

export const caddyGuestSchema = z
  .object({
    ...guestFields,
    runDir: guestFields.runDir.default('/var/lib/refit/caddy'),
    /** api: refit edits the upstreams of managed routes through the admin API; router: the operator's Caddy forwards to refit's router. */
    mode: z.enum(['api', 'router']).default('api'),
    /** Caddy's admin endpoint (`admin` global option). */
    adminUrl: z.url({ protocol: /^http$/, message: 'must be an http:// URL' }).default('http://127.0.0.1:2019'),
    /** The directory of refit's Caddyfile snippets (`import <snippetDir>/<route>.caddy` in each managed site). */
    snippetDir: absPath.default('/etc/caddy/refit'),
    ...routerFields,
    socketGroup: routerFields.socketGroup.default('caddy'),
  })
  .strict();

export const proxySchema = z
  .object({
    type: z.enum(['haproxy', 'nginx', 'none', 'haproxy-guest', 'nginx-guest', 'caddy']).default('haproxy'),
    /** Upper bound on waiting for a server's in-flight requests before it is stopped. */
    drainTimeoutMs: ms(30_000, 1),
    /** How long the proxy waits for a container's answer; slow pages beyond this get a 504. */
    serverTimeoutMs: ms(300_000, 1000),
    /** Docker network the proxy reaches containers on; unset: each container's first network. */
    network: z.string().min(1).optional(),
    /** How the daemon keeps the proxy in step between maintenances. */
    keeper: z
      .object({
        /** Quiet time after a Docker event before the proxy is synced. */
        debounceMs: ms(300),
        /** A full sync at least this often, for changes an event stream can miss. */
        reconcileMs: ms(30_000, 1000),
        /** How often the proxy process is checked (and started again when it is gone). */
        superviseMs: ms(1_000, 100),
        /** How soon containers that are not healthy yet are checked again. */
        retryMs: ms(2_000, 100),
      })
      .strict()
      .default({ debounceMs: 300, reconcileMs: 30_000, superviseMs: 1_000, retryMs: 2_000 }),
    haproxy: haproxySchema.default(() => haproxySchema.parse({})),
    nginx: nginxSchema.default(() => nginxSchema.parse({})),
    haproxyGuest: haproxyGuestSchema.default(() => haproxyGuestSchema.parse({})),
    nginxGuest: nginxGuestSchema.default(() => nginxGuestSchema.parse({})),
    caddy: caddyGuestSchema.default(() => caddyGuestSchema.parse({})),
  })
  .strict();

export const dockerSchema = z
  .object({
    socket: absPath.default('/var/run/docker.sock'),
    /** Longest wait for one Docker Engine API call (a container's graceful stop gets its grace period on top). */
    timeoutMs: ms(60_000, 1),
  })
  .strict();

export const registrySchema = z
  .object({
    /**
     * The Docker client config file with the registry credentials. Unset: where the Docker CLI
     * looks, `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
     */
    dockerConfig: absPath.optional(),
    /** Longest a credential helper (`docker-credential-<name> get`) may take to answer. */
    credentialHelperTimeoutMs: ms(10_000, 1),
    /** Per-registry CA certificates, Docker's convention: DIR/HOST[:PORT]/ca.crt */
    certsDir: absPath.default('/etc/docker/certs.d'),
    /** Registries reached over plain HTTP besides loopback (as the engine's insecure-registries). */
    insecure: z.array(z.string()).default([]),
    /** Per request, including reading the answer. */
    timeoutMs: ms(10_000, 1),
    /** A pull whose progress stops this long is abandoned (the maintenance rolls back). */
    pullStallMs: ms(120_000, 1),
    /** A pull still running after this long is abandoned, progress or not. */
    pullTimeoutMs: ms(1_800_000, 1),
    /** Retries on network errors, timeouts, 5xx and 429, with exponential backoff. */
    retries: z.number().int().min(0).max(10).default(3),
    /** A 429 whose Retry-After asks for longer than this fails that check instead of stalling the pass. */
    maxRetryAfterMs: ms(60_000),
    /** Registry requests in flight at once during a check pass. */
    concurrency: z.number().int().min(1).max(64).default(8),
    includePrereleases: z.boolean().default(false),
  })
  .strict();

export const imagesSchema = z
  .object({
    /** An image is allowed when it carries one of these image labels (KEY=VALUE) ... */
    labels: z.array(z.string().regex(/^[^=]+=.*$/, 'must be KEY=VALUE')).default(['refit.web=true']),
    /** ... or its reference matches one of these globs (`*` matches within a path segment, `**` across). */
    references: z.array(z.string().min(1)).default([]),
    /**
     * After each pass, remove the images its updates replaced (with their tags) once no
     * container uses them, nor an unfinished maintenance may roll back to them. Off: they stay.
     */
    removeReplaced: z.boolean().default(false),
  })
  .strict();

export const scheduleSchema = z
  .object({
    /** Cron expression (croner syntax) for the start of the weekly maintenance window. */
    cron: z.string().default('0 3 * * 0'),
    timezone: z.string().default('UTC'),
    /** No new container is started after the window closes. */
    windowMinutes: z.number().int().min(1).default(120),
  })
  .strict();

/** A duration as written (`10m`, `1h30m`) or `off`. */
const windowText = z.string().refine((v) => v === 'off' || parseDuration(v) !== null, 'must be a duration such as 10m or 1h, or off');

/**
 * The watch after an update (docs/maintenance.md, "After the switch"): how long, and when the
 * new version's 5xx rate counts as worse than the old one's. `maintenance.watch: 10m` is short
 * for `{ window: 10m }`.
 */
export const watchSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { window: v } : v),
  z
    .object({
      /** How long refit watches a site after its update; `off` does not watch (a site's `refit.watch` label wins). */
      window: windowText.default('off'),
      /** The new version is judged only once it answered this many requests (a quiet site is not judged). */
      minRequests: z.number().int().min(1).default(100),
      /** Revert when its 5xx rate exceeds the old version's by more than this (a fraction: 0.05 is 5 points). */
      maxIncrease: z.number().min(0).max(1).default(0.05),
      /** How often the proxy's counters are read. */
      intervalMs: ms(2_000, 100),
    })
    .strict()
    .transform((w) => ({ ...w, windowMs: w.window === 'off' ? 0 : parseDuration(w.window)! })),
);

export const maintenanceSchema = z
  .object({
    /** How many containers are updated at once; `auto`: from the host's CPU count (maintenance/schedule.ts). */
    concurrency: z.union([z.literal('auto'), z.number().int().min(1).max(32)], { message: 'must be auto or a number from 1 to 32' }).default('auto'),
    /** Config backups kept per site. */
    keepBackups: z.number().int().min(1).default(5),
    hookTimeoutMs: ms(60_000, 1),
    /** The nice value of the heavy children of `run`, `recover` and `daemon` (Compose, merges, proxy config checks; 0: unchanged); refit and the proxies it starts keep its own. */
    nice: z.number().int().min(0).max(19).default(10),
    watch: watchSchema.default(() => watchSchema.parse({})),
  })
  .strict();

export const metricsSchema = z
  .object({
    /** The daemon serves /metrics only when enabled. */
    enabled: z.boolean().default(false),
    /** HOST:PORT on loopback only: the metrics name every site and have no authentication. */
    listen: z
      .string()
      .default('127.0.0.1:9977')
      .superRefine((v, ctx) => {
        const parsed = parseListen(v);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
      }),
  })
  .strict();

export const webhookSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }),
    /** `slack` sends `{ text, blocks }` (Slack, Mattermost, Rocket.Chat); `json` sends the event itself. */
    kind: z.enum(['json', 'slack']).default('json'),
    /** Which end-of-pass summaries this hook gets; rollbacks and failures always go to every hook. */
    passes: z.enum(['all', 'changes', 'problems']).default('all'),
  })
  .strict();

export const notifySchema = z
  .object({
    webhooks: z.array(webhookSchema).default([]),
    /** Tries per notification and hook, counting the first. */
    attempts: z.number().int().min(1).max(10).default(5),
    /** Per try, including reading the answer. */
    timeoutMs: ms(5_000, 1),
    /** No retry starts later than this after the first try. */
    deadlineMs: ms(60_000, 1),
  })
  .strict();

const WAVE = 'must be canary or a wave number 1, 2, …';
const waveSchema = z.union([z.literal('canary'), z.number().int(WAVE).min(1, WAVE).max(1000, WAVE)], { message: WAVE });

export const fleetSchema = z
  .object({
    /** Off by default: a host on its own needs no database. */
    enabled: z.boolean().default(false),
    database: z
      .object({
        /** postgres://USER@HOST[:PORT]/DATABASE[?sslmode=require]; the password never goes here. */
        url: z
          .url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' })
          .refine((u) => new URL(u).password === '', 'must not carry a password: put it in fleet.database.passwordFile or passwordEnv'),
        /** A file holding the password (first line), readable by root only. */
        passwordFile: absPath.optional(),
        /** Or the name of an environment variable holding it. */
        passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
        connectTimeoutMs: ms(5_000, 1),
        /** Every statement refit sends is cancelled after this. */
        statementTimeoutMs: ms(10_000, 1),
      })
      .strict()
      .refine((d) => !(d.passwordFile && d.passwordEnv), 'set passwordFile or passwordEnv, not both')
      .optional(),
    /** How this host is named in the fleet; unset: the machine's host name. */
    host: z.string().min(1).max(253).optional(),
    /** canary takes a new image first; wave N only after the nearest earlier wave reported it. */
    wave: waveSchema.optional(),
    thresholds: z
      .object({
        /** A target image whose share of failed reports is over this is held everywhere. */
        maxFailureRate: z.number().min(0).max(1).default(0.1),
        /** How long a wave runs a target before the next wave may take it. */
        soakMs: ms(3_600_000),
        /** Reports needed from the earlier wave (or all its sites, when it has fewer) before a judgment. */
        minReports: z.number().int().min(1).max(10_000).default(1),
      })
      .strict()
      .default({ maxFailureRate: 0.1, soakMs: 3_600_000, minReports: 1 }),
    /** How long a command waits at exit for its outbox to reach the database (the rest is sent later). */
    publishTimeoutMs: ms(10_000, 1),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (!f.enabled) return;
    if (!f.database) ctx.addIssue({ code: 'custom', path: ['database'], message: 'is required when fleet.enabled is true (url, and passwordFile or passwordEnv)' });
    if (f.wave === undefined) ctx.addIssue({ code: 'custom', path: ['wave'], message: 'is required when fleet.enabled is true: canary or a wave number 1, 2, …' });
  });

export const configSchema = z
  .object({
    docker: dockerSchema.default(() => dockerSchema.parse({})),
    stateDir: absPath.default('/var/lib/refit'),
    images: imagesSchema.default(() => imagesSchema.parse({})),
    schedule: scheduleSchema.default(() => scheduleSchema.parse({})),
    health: healthSchema.default(() => healthSchema.parse({})),
    proxy: proxySchema.default(() => proxySchema.parse({})),
    registry: registrySchema.default(() => registrySchema.parse({})),
    maintenance: maintenanceSchema.default(() => maintenanceSchema.parse({})),
    metrics: metricsSchema.default(() => metricsSchema.parse({})),
    notify: notifySchema.default(() => notifySchema.parse({})),
    fleet: fleetSchema.default(() => fleetSchema.parse({})),
  })
  .strict();

export type RefitConfig = z.infer<typeof configSchema>;
export type HealthConfig = z.infer<typeof healthSchema>;
export type ProxyConfig = z.infer<typeof proxySchema>;
export type HaproxyConfig = z.infer<typeof haproxySchema>;
export type NginxConfig = z.infer<typeof nginxSchema>;
export type HaproxyGuestConfig = z.infer<typeof haproxyGuestSchema>;
export type NginxGuestConfig = z.infer<typeof nginxGuestSchema>;
export type CaddyGuestConfig = z.infer<typeof caddyGuestSchema>;
export type RegistryConfig = z.infer<typeof registrySchema>;
export type DockerConfig = z.infer<typeof dockerSchema>;
export type ImagesConfig = z.infer<typeof imagesSchema>;
export type MetricsConfig = z.infer<typeof metricsSchema>;
export type NotifyConfig = z.infer<typeof notifySchema>;
export type FleetConfig = z.infer<typeof fleetSchema>;
export type WatchConfig = z.infer<typeof watchSchema>;
