import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { isRefitError } from '../errors.js';
import { createNotifier } from '../notify/notifier.js';
import { pino } from 'pino';

describe('metrics and notify config', () => {
  it('refuses a metrics.listen other machines could reach, naming the key (exit 2)', () => {
    const err = (() => {
      try {
        parseConfigText('metrics:\n  enabled: true\n  listen: 0.0.0.0:9977\n', 'refit.yml');
      } catch (e) {
        return e;
      }
    })();
    expect(isRefitError(err, 'config')).toBe(true);
    expect((err as Error).message).toContain('metrics.listen');
    expect((err as Error).message).toContain('not a loopback address');
  });

  it('fills the notify defaults', () => {
    const cfg = parseConfigText('notify:\n  webhooks:\n    - url: https://hooks.example.com/x\n      kind: slack\n');
    expect(cfg.notify).toEqual({ webhooks: [{ url: 'https://hooks.example.com/x', kind: 'slack', passes: 'all' }], attempts: 5, timeoutMs: 5_000, deadlineMs: 60_000 });
    expect(cfg.metrics).toEqual({ enabled: false, listen: '127.0.0.1:9977' });
    // The notify section is the notifier's options as they are (checked by the type checker).
    expect(createNotifier({ ...cfg.notify, logger: pino({ enabled: false }) })).toHaveProperty('flush');
  });

  it('refuses webhook URLs that are not http(s)', () => {
    expect(() => parseConfigText('notify:\n  webhooks:\n    - url: ftp://x.example/hook\n')).toThrow(/notify\.webhooks\.0\.url/);
  });
});
