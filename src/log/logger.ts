/**
 * @module log/logger
 * The one way refit makes a logger. JSON lines (pino) for machines: when the stream is not a
 * terminal, under the daemon, or under systemd (journald stores the JSON as is). A compact
 * human line on a terminal. `REFIT_LOG_FORMAT=json|human` and `REFIT_LOG_LEVEL` override.
 * Logs go to stderr: stdout is reserved for command output such as `--json`.
 */
import { pino, type Logger } from 'pino';
import { formatHuman } from './human.js';

export type LogFormat = 'json' | 'human';

export interface LogStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface LoggerOptions {
  stream?: LogStream;
  daemon?: boolean;
  level?: string;
  env?: NodeJS.ProcessEnv;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/** Human only for a person at a terminal; everything unattended gets JSON. Pure. */
export function logFormat(o: { isTTY: boolean; daemon: boolean; env: NodeJS.ProcessEnv }): LogFormat {
  const forced = o.env.REFIT_LOG_FORMAT;
  if (forced === 'json' || forced === 'human') return forced;
  if (o.daemon || o.env.JOURNAL_STREAM || o.env.INVOCATION_ID) return 'json';
  return o.isTTY ? 'human' : 'json';
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const env = opts.env ?? process.env;
  const stream = opts.stream ?? process.stderr;
  const wanted = opts.level ?? env.REFIT_LOG_LEVEL ?? 'info';
  const level = LEVELS.has(wanted) ? wanted : 'info';
  const format = logFormat({ isTTY: Boolean(stream.isTTY), daemon: Boolean(opts.daemon), env });
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.epochTime };
  if (format === 'json') return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, { write: (line: string) => stream.write(line) });
  const color = !env.NO_COLOR;
  return pino(base, { write: (line: string) => stream.write(formatHuman(JSON.parse(line) as Record<string, unknown>, { color })) });
}
