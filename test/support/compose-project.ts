/**
 * Compose projects for tests: unique names, labelled, always torn down, for both Compose
 * flavors. `sweepLeftovers` removes what a killed earlier run left behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCompose, runCompose, type ComposeCli, type ComposeFlavor, type ComposeTarget } from '../../src/compose/cli.js';
import { TEST_LABEL } from './web-image.js';

export const FLAVORS: ComposeFlavor[] = ['v2', 'v1'];

export interface TestProject extends ComposeTarget {
  cli: ComposeCli;
  dir: string;
  /** `up -d`, for the named services only when given (a service in a profile must be named). */
  up(services?: string[]): Promise<void>;
  down(): Promise<void>;
  containerName(service: string): string;
}

let counter = 0;

/** A unique project name: suite + pid + counter, lower-case as Compose requires. */
export function uniqueName(suite: string): string {
  return `rt${suite}${process.pid}x${counter++}`.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Writes `files` (name -> content) into a fresh directory and returns the project. The
 * first file is the compose file, unless `composeFiles` names them; others (config dirs, env
 * files etc.) are written as given. `envFiles` are passed as `--env-file` (relative names).
 */
export async function composeProject(flavor: ComposeFlavor, suite: string, files: Record<string, string>, opts: { composeFiles?: string[]; envFiles?: string[] } = {}): Promise<TestProject> {
  const cli = await detectCompose(flavor);
  const dir = mkdtempSync(join(tmpdir(), `refit-${suite}-`));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  const project = uniqueName(suite);
  const target: ComposeTarget = {
    project,
    workingDir: dir,
    files: (opts.composeFiles ?? [Object.keys(files)[0]!]).map((f) => join(dir, f)),
    envFiles: (opts.envFiles ?? []).map((f) => join(dir, f)),
  };
  return {
    ...target,
    cli,
    dir,
    up: async (services = []) => {
      await runCompose(cli, target, ['up', '-d', ...services]);
    },
    down: async () => {
      await runCompose(cli, target, ['down', '--volumes', '--remove-orphans', '--timeout', '1']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
    containerName: (service) => {
      const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`]).toString().trim().split('\n');
      return execFileSync('docker', ['inspect', '-f', '{{.Name}}', ids[0]!]).toString().trim().replace(/^\//, '');
    },
  };
}

/** Removes containers and networks a previous (killed) run of `suite` left behind. */
export function sweepLeftovers(suite: string): void {
  const sel = `label=${TEST_LABEL}.suite=${suite}`;
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', sel]).toString().trim().split('\n').filter(Boolean);
  if (ids.length) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
  const nets = execFileSync('docker', ['network', 'ls', '-q', '--filter', sel]).toString().trim().split('\n').filter(Boolean);
  if (nets.length) execFileSync('docker', ['network', 'rm', ...nets], { stdio: 'ignore' });
}

/** The labels every test container and network carries, for sweepLeftovers. */
export function suiteLabels(suite: string): Record<string, string> {
  return { [TEST_LABEL]: 'true', [`${TEST_LABEL}.suite`]: suite };
}
