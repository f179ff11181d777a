/**
 * @module config/schema
 * The host configuration (`/etc/refit/refit.yml`): every key, its default and its bounds.
 * Documented in docs/configuration.md; keep the two in step.
 */
import { z } from 'zod';
import { parseListen } from '../metrics/listen.js';

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

export const proxySchema = z
  .object({
    type: z.enum(['haproxy', 'nginx', 'none']).default('haproxy'),
    /** Upper bound on waiting for a server's in-flight requests before it is stopped. */
    drainTimeoutMs: ms(30_000, 1),
    /** How long the proxy waits for a container's answer; slow pages beyond this get a 504. */
    serverTimeoutMs: ms(300_000, 1000),
    /** Docker network the proxy reaches containers on; unset: each container's first network. */
    network: z.string().min(1).optional(),
    haproxy: haproxySchema.default(() => haproxySchema.parse({})),
    nginx: nginxSchema.default(() => nginxSchema.parse({})),
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

export const configSchema = z
  .object({
    docker: z
      .object({ socket: absPath.default('/var/run/docker.sock') })
      .strict()
      .default({ socket: '/var/run/docker.sock' }),
    stateDir: absPath.default('/var/lib/refit'),
    images: imagesSchema.default(() => imagesSchema.parse({})),
    schedule: scheduleSchema.default(() => scheduleSchema.parse({})),
    health: healthSchema.default(() => healthSchema.parse({})),
    proxy: proxySchema.default(() => proxySchema.parse({})),
    registry: registrySchema.default(() => registrySchema.parse({})),
    maintenance: z
      .object({
        /** How many containers are updated at once. */
        concurrency: z.number().int().min(1).max(32).default(1),
        /** Config backups kept per site. */
        keepBackups: z.number().int().min(1).default(5),
        hookTimeoutMs: ms(60_000, 1),
      })
      .strict()
      .default({ concurrency: 1, keepBackups: 5, hookTimeoutMs: 60_000 }),
    metrics: metricsSchema.default(() => metricsSchema.parse({})),
    notify: notifySchema.default(() => notifySchema.parse({})),
  })
  .strict();

export type RefitConfig = z.infer<typeof configSchema>;
export type HealthConfig = z.infer<typeof healthSchema>;
export type ProxyConfig = z.infer<typeof proxySchema>;
export type HaproxyConfig = z.infer<typeof haproxySchema>;
export type NginxConfig = z.infer<typeof nginxSchema>;
export type RegistryConfig = z.infer<typeof registrySchema>;
export type ImagesConfig = z.infer<typeof imagesSchema>;
export type MetricsConfig = z.infer<typeof metricsSchema>;
export type NotifyConfig = z.infer<typeof notifySchema>;
