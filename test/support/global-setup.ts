/**
 * Host tests need the real things: a Docker Engine, Compose v1 and v2, PostgreSQL. In CI nothing is
 * skipped: a missing dependency fails the whole run here, loudly, before any test starts.
 */
import { execFileSync } from 'node:child_process';
import { postgresBin } from './postgres.js';

function need(what: string, cmd: string, args: string[], fix: string): void {
  try {
    execFileSync(cmd, args, { stdio: 'pipe', timeout: 30_000 });
  } catch {
    throw new Error(`host tests need ${what}, and \`${cmd} ${args.join(' ')}\` failed. Fix: ${fix}`);
  }
}

export default function setup(): void {
  const fix = 'run `bash scripts/host-setup.sh` as root';
  need('a running Docker Engine', 'docker', ['info'], fix);
  need('Compose v2', 'docker', ['compose', 'version'], fix);
  need('Compose v1', 'docker-compose', ['version'], fix);
  need('HAProxy', 'haproxy', ['-v'], fix);
  need('nginx', 'nginx', ['-v'], fix);
  need('the Docker registry', 'docker-registry', ['--version'], fix);
  need('openssl', 'openssl', ['version'], fix);
  need('git', 'git', ['--version'], fix);
  need('PostgreSQL (initdb, pg_ctl)', 'runuser', ['-u', 'postgres', '--', postgresBin('initdb'), '--version'], fix);
}
