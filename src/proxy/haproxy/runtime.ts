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
}

export class RuntimeApi {
  constructor(readonly socketPath: string, private readonly timeoutMs = 5_000) {}

  /** Sends one command and returns HAProxy's whole answer. */
  send(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(this.socketPath);
      let out = '';
      const fail = (err: Error) => {
        sock.destroy();
        reject(new RefitError('proxy', `HAProxy admin socket ${this.socketPath} did not answer \`${command}\`: ${err.message}`, 'is haproxy running? `refit proxy sync` starts it', { cause: err }));
      };
      sock.setTimeout(this.timeoutMs, () => fail(new Error(`no answer within ${this.timeoutMs} ms`)));
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.end(`${command}\n`));
      sock.on('data', (chunk: string) => (out += chunk));
      sock.on('error', fail);
      sock.on('close', (hadError) => {
        if (!hadError) resolve(out);
      });
    });
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

  /** The worker's pid (changes with every reload). */
  async workerPid(): Promise<number | null> {
    const m = /^Pid: (\d+)/m.exec(await this.send('show info'));
    return m ? Number(m[1]) : null;
  }
}

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
