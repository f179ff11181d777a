/**
 * @module cli/context
 * What every command needs: the global flags, the host configuration and the engine, loaded
 * lazily so that `--help` and usage errors never touch the host.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { RefitConfig } from '../config/schema.js';
import { connectEngine, type Engine } from '../docker/engine.js';

export interface GlobalFlags {
  config?: string;
  json?: boolean;
}

export interface CommandContext {
  json: boolean;
  config: RefitConfig & { source: string | null };
  engine(): Engine;
}

/** Merges the global flags (on the root program) with the command's own. */
export function contextOf(cmd: Command): CommandContext {
  const flags = cmd.optsWithGlobals<GlobalFlags>();
  const config = loadConfig({ flag: flags.config });
  let engine: Engine | undefined;
  return {
    json: Boolean(flags.json),
    config,
    engine: () => (engine ??= connectEngine(config.docker.socket, { timeoutMs: config.docker.timeoutMs })),
  };
}
