/**
 * @module log/human
 * The compact line refit prints for a person at a terminal, from one pino JSON record:
 * `03:12:07 WARN  message  key=value ...`. Pure; the logger pipes records through it.
 */

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '90', 20: '90', 30: '36', 40: '33', 50: '31', 60: '31' };
// Fields every record has, or that the line already shows in its own place.
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

export function formatHuman(record: Record<string, unknown>, opts: { color: boolean }): string {
  const level = typeof record.level === 'number' ? record.level : 30;
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const time = typeof record.time === 'number' ? new Date(record.time).toTimeString().slice(0, 8) : '--:--:--';
  const fields = Object.entries(record)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${fieldValue(v)}`);
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const head = opts.color ? `\x1b[90m${time}\x1b[0m \x1b[${COLORS[level] ?? '0'}m${name}\x1b[0m` : `${time} ${name}`;
  const tail = fields.length ? `  ${opts.color ? `\x1b[90m${fields.join(' ')}\x1b[0m` : fields.join(' ')}` : '';
  return `${head} ${msg}${tail}\n`;
}

function fieldValue(v: unknown): string {
  if (v && typeof v === 'object' && 'message' in v && typeof (v as { message: unknown }).message === 'string') {
    return JSON.stringify((v as { message: string }).message);
  }
  if (typeof v === 'string') return /^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}
