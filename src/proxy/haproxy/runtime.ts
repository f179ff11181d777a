/**
 * @module proxy/haproxy/runtime
 * A small client for HAProxy's runtime API on the admin socket: one command per connection
 * (non-interactive mode), answers checked against what success looks like, and `show stat`
 * parsed into per-server rows. Changes made here need no reload.
 */
import { createConnection } from 'node:net';
import { RefitError } from '../../errors.js';
import type { ServerState } from '../types.js';

export interface ServerStat {
  backend: string;
  name: string;
  ip: string;
  port: number;
  state: ServerState;
  /** Requests being served plus requests queued for this server. */
  sessions: number;
  /** Responses the server gave since the worker started (every status class), and the 5xx among them. */
  responses: number;
  errors: number;
}

/** Sends `text` on a fresh connection to a HAProxy socket and resolves with the whole answer. */
function ask(socketPath: string, text: string, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let out = '';
    const fail = (err: Error) => {
      sock.destroy();
      reject(new RefitError('proxy', `HAProxy socket ${socketPath} did not answer \`${what}\`: ${err.message}`, 'is haproxy running? `refit proxy sync` starts it', { cause: err }));
    };
    sock.setTimeout(timeoutMs, () => fail(new Error(`no answer within ${timeoutMs} ms`)));
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.end(text));
    sock.on('data', (chunk: string) => (out += chunk));
    sock.on('error', fail);
    sock.on('close', (hadError) => {
      if (!hadError) resolve(out);
    });
  });
}

export class RuntimeApi {
  constructor(readonly socketPath: string, private readonly timeoutMs = 5_000) {}

  /** Sends one command and returns HAProxy's whole answer. */
  send(command: string): Promise<string> {
    return ask(this.socketPath, `${command}\n`, this.timeoutMs, command);
  }

  /** Sends a command whose answer must match `ok` (empty answers count as success when ok is omitted). */
  async expect(command: string, ok?: RegExp): Promise<string> {
    const answer = (await this.send(command)).trim();
    if (ok ? !ok.test(answer) : answer !== '') {
      throw new RefitError('proxy', `HAProxy refused \`${command}\`: ${answer.split('\n')[0] || '(empty answer)'}`);
    }
    return answer;
  }

  async servers(backend?: string): Promise<ServerStat[]> {
    return parseShowStat(await this.send(backend ? `show stat ${backend} 4 -1` : 'show stat -1 4 -1')).filter((s) => !backend || s.backend === backend);
  }

  /** The keys of a map file as the worker runs it (runtime changes included). */
  async mapKeys(file: string): Promise<string[]> {
    const lines = (await this.send(`show map ${file}`)).split('\n').filter(Boolean);
    const odd = lines.find((l) => !/^0x[0-9a-f]+ \S+/.test(l));
    if (odd !== undefined) throw new RefitError('proxy', `HAProxy answered \`show map ${file}\` with: ${odd}`, 'is haproxy running on the config refit rendered? `refit proxy sync` restarts it');
    return lines.map((l) => l.split(' ')[1]!);
  }

  /** The worker's pid (changes with every reload). */
  async workerPid(): Promise<number | null> {
    const m = /^Pid: (\d+)/m.exec(await this.send('show info'));
    return m ? Number(m[1]) : null;
  }
}

/**
 * The master CLI (`haproxy -S`): it reaches every worker, also the old ones a reload left
 * finishing their requests, which the admin socket of the current worker cannot see.
 */
export class MasterCli {
  constructor(readonly socketPath: string, private readonly timeoutMs = 5_000) {}

  /** One command; the master keeps a connection open until told to quit. */
  send(command: string): Promise<string> {
    return ask(this.socketPath, `${command}; quit\n`, this.timeoutMs, command);
  }

  /** Workers a reload replaced that still finish requests. */
  async oldWorkers(): Promise<number[]> {
    return parseOldWorkers(await this.send('show proc'));
  }

  /** `show stat` of one backend as an old worker sees it. */
  async serversOf(worker: number, backend: string): Promise<ServerStat[]> {
    return parseShowStat(await this.send(`@!${worker} show stat ${backend} 4 -1`)).filter((s) => s.backend === backend);
  }
}

/** The pids under "# old workers" in `show proc`. */
export function parseOldWorkers(showProc: string): number[] {
  const pids: number[] = [];
  let inOld = false;
  for (const line of showProc.split('\n')) {
    if (line.startsWith('#')) {
      inOld = /^# old workers/.test(line);
      continue;
    }
    const pid = /^(\d+)\s+worker\b/.exec(line)?.[1];
    if (inOld && pid) pids.push(Number(pid));
  }
  return pids;
}

const RESPONSE_CLASSES = ['hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other'];

/** Parses `show stat` CSV into server rows (frontend and backend summary rows are left out). */
export function parseShowStat(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift();
  if (!header?.startsWith('# ')) return [];
  const cols = header.slice(2).split(',');
  const at = (row: string[], col: string) => row[cols.indexOf(col)] ?? '';
  const rows: ServerStat[] = [];
  for (const line of lines) {
    const row = line.split(',');
    const name = at(row, 'svname');
    if (name === 'FRONTEND' || name === 'BACKEND') continue;
    const addr = at(row, 'addr');
    const colon = addr.lastIndexOf(':');
    rows.push({
      backend: at(row, 'pxname'),
      name,
      ip: colon > 0 ? addr.slice(0, colon) : addr,
      port: colon > 0 ? Number(addr.slice(colon + 1)) : 0,
      state: stateOf(at(row, 'status')),
      sessions: Number(at(row, 'scur') || 0) + Number(at(row, 'qcur') || 0),
      responses: RESPONSE_CLASSES.reduce((n, c) => n + Number(at(row, c) || 0), 0),
      errors: Number(at(row, 'hrsp_5xx') || 0),
    });
  }
  return rows;
}

/** HAProxy's status column: "MAINT", "MAINT (via ...)", "DRAIN", "UP", "no check", ... */
export function stateOf(status: string): ServerState {
  if (status.startsWith('MAINT')) return 'maint';
  if (status.startsWith('DRAIN')) return 'drain';
  return 'ready';
}
