/**
 * Delivery against a real HTTP receiver on 127.0.0.1 (in this process, no host services).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createNotifier, redact, wants, type NotifierOptions } from './notifier.js';
import type { ContainerIncident, PassSummary } from './types.js';

interface Received {
  path: string;
  contentType: string | undefined;
  body: unknown;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A receiver that answers each request with the next status in `statuses` (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString()) });
    res.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
    res.end('ok');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/SECRET`, received };
}

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const summary: PassSummary = {
  runId: '7',
  startedAt: '2026-11-01T03:00:00.000Z',
  finishedAt: '2026-11-01T03:01:00.000Z',
  host: 'web-1',
  results: [{ container: 'shop', result: 'updated', from: 'web:1', to: 'web:2' }],
};
const incident: ContainerIncident = { runId: '7', host: 'web-1', at: '2026-11-01T03:00:30.000Z', container: 'blog', result: 'failed', reason: 'original did not come back' };

function options(over: Partial<NotifierOptions> & Pick<NotifierOptions, 'webhooks' | 'logger'>): NotifierOptions {
  return { attempts: 3, timeoutMs: 2_000, deadlineMs: 10_000, baseDelayMs: 20, ...over };
}

describe('notifier', () => {
  it('delivers a pass summary to a JSON hook and a Slack hook', async () => {
    const json = await receiver([200]);
    const slack = await receiver([200]);
    const { logger } = capturedLogger();
    const n = createNotifier(
      options({
        logger,
        webhooks: [
          { url: json.url, kind: 'json', passes: 'all' },
          { url: slack.url, kind: 'slack', passes: 'all' },
        ],
      }),
    );
    n.pass(summary);
    expect(await n.flush(5_000)).toEqual({ delivered: 2, failed: 0, abandoned: 0 });
    expect(json.received).toHaveLength(1);
    expect(json.received[0]!.contentType).toBe('application/json');
    expect(json.received[0]!.body).toMatchObject({ event: 'pass', runId: '7', host: 'web-1', results: summary.results });
    expect(slack.received[0]!.body).toMatchObject({ text: 'refit on web-1: 1 updated (ok)' });
  });

  it('retries when the receiver fails first with 500 and then accepts', async () => {
    const hook = await receiver([500, 500, 200]);
    const { logger, lines } = capturedLogger();
    const n = createNotifier(options({ logger, webhooks: [{ url: hook.url, kind: 'json', passes: 'all' }] }));
    n.incident(incident);
    expect(await n.flush(5_000)).toEqual({ delivered: 1, failed: 0, abandoned: 0 });
    expect(hook.received).toHaveLength(3);
    expect(hook.received.every((r) => (r.body as { container: string }).container === 'blog')).toBe(true);
    expect(lines.find((l) => l.msg === 'notification delivered')).toMatchObject({ tries: 3 });
  });

  it('gives up after the bound, logs a warning without the secret, and does not throw', async () => {
    const hook = await receiver([500]);
    const { logger, lines } = capturedLogger();
    const n = createNotifier(options({ logger, attempts: 3, webhooks: [{ url: hook.url, kind: 'slack', passes: 'all' }] }));
    expect(() => n.incident(incident)).not.toThrow();
    expect(await n.flush(5_000)).toEqual({ delivered: 0, failed: 1, abandoned: 0 });
    expect(hook.received).toHaveLength(3);
    const warning = lines.find((l) => l.level === 40)!;
    expect(warning.reason).toBe('HTTP 500 after 3 tries');
    expect(JSON.stringify(warning)).not.toContain('SECRET');
  });

  it('gives up on an unreachable receiver', async () => {
    const hook = await receiver([200]);
    await new Promise((r) => servers.pop()!.close(r));
    const { logger, lines } = capturedLogger();
    const n = createNotifier(options({ logger, attempts: 2, webhooks: [{ url: hook.url, kind: 'json', passes: 'all' }] }));
    n.pass(summary);
    expect(await n.flush(5_000)).toEqual({ delivered: 0, failed: 1, abandoned: 0 });
    expect(lines.find((l) => l.level === 40)?.reason).toMatch(/ECONNREFUSED after 2 tries/);
  });

  it('flush returns by its timeout and abandons what is still waiting to retry', async () => {
    const hook = await receiver([503]);
    const { logger } = capturedLogger();
    const n = createNotifier(options({ logger, attempts: 5, baseDelayMs: 60_000, deadlineMs: 600_000, webhooks: [{ url: hook.url, kind: 'json', passes: 'all' }] }));
    n.pass(summary);
    expect(await n.flush(300)).toEqual({ delivered: 0, failed: 0, abandoned: 1 });
    expect(hook.received).toHaveLength(1);
  });

  it('sends a hook only the pass summaries it asked for', async () => {
    const hook = await receiver([200]);
    const { logger } = capturedLogger();
    const n = createNotifier(options({ logger, webhooks: [{ url: hook.url, kind: 'json', passes: 'problems' }] }));
    n.pass(summary);
    n.incident(incident);
    await n.flush(5_000);
    expect(hook.received.map((r) => (r.body as { event: string }).event)).toEqual(['incident']);
  });
});

describe('wants', () => {
  const only = (result: 'current' | 'skipped' | 'updated' | 'failed') => ({ kind: 'pass' as const, summary: { ...summary, results: [{ container: 'a', result }] } });
  it('filters pass summaries by what happened', () => {
    expect(wants('changes', only('current'))).toBe(false);
    expect(wants('changes', only('skipped'))).toBe(false);
    expect(wants('changes', only('updated'))).toBe(true);
    expect(wants('problems', only('updated'))).toBe(false);
    expect(wants('problems', only('failed'))).toBe(true);
    expect(wants('all', only('current'))).toBe(true);
  });
  it('always passes incidents', () => {
    expect(wants('problems', { kind: 'incident', incident })).toBe(true);
  });
});

describe('redact', () => {
  it('keeps only where the hook is, not its secret path', () => {
    expect(redact('https://hooks.example.com/services/T0/B0/XYZ?token=1')).toBe('https://hooks.example.com/…');
  });
});
