import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, columns: 80, writes, write: (s: string) => writes.push(s) };
}

describe('progress on a terminal', () => {
  it('redraws the task list in place: cursor up over the previous drawing, clear, draw', () => {
    const out = fakeStream(true);
    let now = 0;
    const p = createProgress(out, { logger: pino({ enabled: false }), now: () => now, tickMs: 0 });
    p.event({ container: 'shop', step: 'pull', phase: 'begin', at: 0 });
    now = 1_500;
    p.event({ container: 'blog', step: 'pull', phase: 'begin', at: 1_500 });
    now = 3_000;
    p.event({ container: 'shop', step: 'pull', phase: 'done', at: 3_000 });
    p.stop();
    expect(out.writes[0]).toBe('\r\x1b[0J… shop  pull    0.0s\n');
    expect(out.writes[1]).toBe('\r\x1b[1A\x1b[0J… shop  pull    1.5s\n… blog  pull    0.0s\n');
    expect(out.writes[2]).toBe('\r\x1b[2A\x1b[0J✓ shop  pull    3.0s\n… blog  pull    1.5s\n');
    expect(out.writes).toHaveLength(4);
  });

  it('prints a note above the list and redraws the list below it', () => {
    const out = fakeStream(true);
    const p = createProgress(out, { logger: pino({ enabled: false }), now: () => 0, tickMs: 0 });
    p.event({ container: 'shop', step: 'pull', phase: 'begin', at: 0 });
    p.note('registry slow, retrying');
    expect(out.writes[1]).toBe('\r\x1b[1A\x1b[0Jregistry slow, retrying\n… shop  pull    0.0s\n');
  });

  it('ticks so elapsed times move between events, and stops ticking', async () => {
    const out = fakeStream(true);
    let now = 0;
    const p = createProgress(out, { logger: pino({ enabled: false }), now: () => now, tickMs: 10 });
    p.event({ container: 'shop', step: 'pull', phase: 'begin', at: 0 });
    now = 2_000;
    await new Promise((r) => setTimeout(r, 50));
    expect(out.writes.some((w) => w.includes('pull    2.0s'))).toBe(true);
    p.stop();
    const count = out.writes.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(out.writes).toHaveLength(count);
  });
});

describe('progress without a terminal', () => {
  it('writes one structured log line per event and no escape codes', () => {
    const out = fakeStream(false);
    const logger = pino({ base: null, timestamp: false }, { write: (s: string) => out.write(s) });
    const p = createProgress(out, { logger });
    p.event({ container: 'shop', step: 'shadow-health', phase: 'begin', at: 1_000 });
    p.event({ container: 'shop', step: 'shadow-health', phase: 'failed', at: 4_000, message: 'HTTP 500' });
    p.event({ container: 'shop', step: 'shadow', phase: 'undo', at: 4_100 });
    p.stop();
    const lines = out.writes.map((w) => JSON.parse(w) as Record<string, unknown>);
    expect(lines).toEqual([
      { level: 30, container: 'shop', step: 'shadow-health', phase: 'begin', elapsedMs: 0, msg: 'shop: shadow-health' },
      { level: 40, container: 'shop', step: 'shadow-health', phase: 'failed', elapsedMs: 3_000, detail: 'HTTP 500', msg: 'shop: shadow-health failed: HTTP 500' },
      { level: 30, container: 'shop', step: 'shadow', phase: 'undo', elapsedMs: 3_100, msg: 'shop: undo shadow' },
    ]);
    expect(out.writes.join('')).not.toContain('\x1b');
  });
});
