import { describe, expect, it } from 'vitest';
import { formatHuman } from './human.js';
import { createLogger, logFormat } from './logger.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (s: string) => writes.push(s) };
}

describe('logFormat', () => {
  it('is human only for a person at a terminal', () => {
    expect(logFormat({ isTTY: true, daemon: false, env: {} })).toBe('human');
    expect(logFormat({ isTTY: false, daemon: false, env: {} })).toBe('json');
    expect(logFormat({ isTTY: true, daemon: true, env: {} })).toBe('json');
    expect(logFormat({ isTTY: true, daemon: false, env: { JOURNAL_STREAM: '8:123' } })).toBe('json');
  });

  it('obeys REFIT_LOG_FORMAT', () => {
    expect(logFormat({ isTTY: false, daemon: true, env: { REFIT_LOG_FORMAT: 'human' } })).toBe('human');
    expect(logFormat({ isTTY: true, daemon: false, env: { REFIT_LOG_FORMAT: 'json' } })).toBe('json');
  });
});

describe('createLogger', () => {
  it('writes JSON lines with an ISO time when not on a terminal', () => {
    const out = fakeStream(false);
    createLogger({ stream: out, env: {} }).info({ container: 'shop' }, 'pulled');
    const rec = JSON.parse(out.writes[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 30, container: 'shop', msg: 'pulled' });
    expect(rec.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('writes the compact human line on a terminal', () => {
    const out = fakeStream(true);
    createLogger({ stream: out, env: { NO_COLOR: '1' } }).warn({ container: 'shop', tries: 3 }, 'webhook failed');
    expect(out.writes[0]).toMatch(/^\d\d:\d\d:\d\d WARN {2}webhook failed {2}container=shop tries=3\n$/);
  });

  it('honours REFIT_LOG_LEVEL', () => {
    const out = fakeStream(false);
    const log = createLogger({ stream: out, env: { REFIT_LOG_LEVEL: 'warn' } });
    log.info('hidden');
    log.warn('shown');
    expect(out.writes).toHaveLength(1);
  });
});

describe('formatHuman', () => {
  it('quotes values with spaces, shows an error by its message, and colours the level', () => {
    const line = formatHuman({ level: 50, time: 0, pid: 1, msg: 'swap failed', reason: 'two words', err: { message: 'boom', stack: '...' } }, { color: true });
    expect(line).toContain('\x1b[31mERROR\x1b[0m swap failed');
    expect(line).toContain('reason="two words" err="boom"');
    expect(line).not.toContain('pid=');
  });
});
