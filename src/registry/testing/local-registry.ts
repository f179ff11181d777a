/**
 * @module registry/testing/local-registry
 * A real registry for host tests: Debian's `docker-registry` on 127.0.0.1 with a config
 * file written here, filesystem storage in a temp dir, optional htpasswd Basic auth, token
 * auth (with ./token-server.ts) and TLS.
 * The PID is ours; `stop` ends only that process. A PID file lets a later run end a registry
 * a killed run left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

const PID_DIR = join(tmpdir(), 'refit-test-registries');

export interface RegistryOptions {
  storage: string;
  port: number;
  /** htpasswd file (bcrypt) enabling Basic auth. */
  htpasswd?: string;
  /** Token auth: the registry sends clients to `realm` and accepts JWTs from `issuer` signed by a key certified in `rootCertBundle`. */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  tls?: { cert: string; key: string };
}

export interface RunningRegistry {
  host: string;
  options: RegistryOptions;
  /** Lines of the registry's log so far (access log included). */
  log(): string[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  sweepRegistries();
  mkdirSync(PID_DIR, { recursive: true });
  const configFile = join(options.storage, '..', `registry-${options.port}.yml`);
  writeFileSync(configFile, [
    'version: 0.1',
    'log: { level: info, accesslog: { disabled: false } }',
    `storage: { filesystem: { rootdirectory: ${options.storage} }, delete: { enabled: true } }`,
    'http:',
    `  addr: 127.0.0.1:${options.port}`,
    ...(options.tls ? [`  tls: { certificate: ${options.tls.cert}, key: ${options.tls.key} }`] : []),
    ...(options.htpasswd ? [`auth: { htpasswd: { realm: refit-test, path: ${options.htpasswd} } }`] : []),
    ...(options.token
      ? [`auth: { token: { realm: "${options.token.realm}", service: ${options.token.service}, issuer: ${options.token.issuer}, rootcertbundle: ${options.token.rootCertBundle} } }`]
      : []),
    '',
  ].join('\n'));
  // The log goes to a file, not a pipe: tests block the event loop in execFileSync (docker
  // push), and a full pipe would stall the registry mid-request.
  const logFile = `${configFile}.log`;
  const fd = openSync(logFile, 'a');
  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const pidFile = join(PID_DIR, `${child.pid}`);
  writeFileSync(pidFile, configFile);
  const log = () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  const host = `127.0.0.1:${options.port}`;
  await waitReady(child, host, Boolean(options.tls), log);
  return {
    host,
    options,
    log,
    stop: async () => {
      await stopChild(child);
      rmSync(pidFile, { force: true });
    },
  };
}

async function waitReady(child: ChildProcess, host: string, tls: boolean, log: () => string[]): Promise<void> {
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log().slice(-5).join(' | ')}`);
      try {
        const res = await request(`${tls ? 'https' : 'http'}://${host}/v2/`, { dispatcher, headersTimeout: 1000 });
        await res.body.dump();
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`docker-registry on ${host} did not answer within 10 s: ${log().slice(-5).join(' | ')}`);
  } finally {
    await dispatcher.close();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Ends registries that killed test runs left behind: only PIDs we recorded, still running docker-registry with our config. */
export function sweepRegistries(): void {
  if (!existsSync(PID_DIR)) return;
  for (const name of readdirSync(PID_DIR)) {
    const pid = Number(name);
    const file = join(PID_DIR, name);
    const config = readFileSync(file, 'utf8');
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      // gone already
    }
    if (cmdline.includes('docker-registry') && cmdline.includes(config)) {
      // Only dead test runs leave a live registry behind whose parent is gone (re-parented to init).
      const ppid = Number(/^\d+ \(.*?\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1]);
      if (ppid !== 1 && existsSync(`/proc/${ppid}`)) continue;
      process.kill(pid, 'SIGKILL');
    }
    rmSync(file, { force: true });
  }
}
