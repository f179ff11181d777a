/**
 * @module config/load
 * Finds, reads and validates the host configuration. A missing default file means "all
 * defaults"; a missing explicit file, bad YAML or a bad value is a config error (exit 2)
 * whose one line names the file, the key and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { RefitError } from '../errors.js';
import { configSchema, type RefitConfig } from './schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/refit/refit.yml';

export interface ConfigSource {
  /** --config flag */
  flag?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export function configPath(src: ConfigSource = {}): { path: string; explicit: boolean } {
  const fromEnv = (src.env ?? process.env).REFIT_CONFIG;
  if (src.flag) return { path: src.flag, explicit: true };
  if (fromEnv) return { path: fromEnv, explicit: true };
  return { path: DEFAULT_CONFIG_PATH, explicit: false };
}

export function loadConfig(src: ConfigSource = {}): RefitConfig & { source: string | null } {
  const { path, explicit } = configPath(src);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return { ...configSchema.parse({}), source: null };
    throw new RefitError('config', `config ${path}: cannot read it (${code ?? String(err)})`, 'check --config / REFIT_CONFIG');
  }
  return { ...parseConfigText(text, path), source: path };
}

export function parseConfigText(text: string, path = 'config'): RefitConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: false });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` line ${err.linePos[0].line}` : '';
    const what = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new RefitError('config', `config ${path}:${where} is not valid YAML: ${what}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RefitError('config', `config ${path}: top level must be a mapping of keys, not ${Array.isArray(raw) ? 'a list' : typeof raw}`);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new RefitError('config', `config ${path}: ${describeIssue(result.error.issues[0]!)}`);
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length ? issue.path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length ? `${issue.path.join('.')}.` : '';
    return `unknown key ${issue.keys.map((k) => prefix + k).join(', ')} (see docs/configuration.md)`;
  }
  return `${key}: ${issue.message}`;
}
