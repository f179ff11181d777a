import { describe, expect, it } from 'vitest';
import { withDeadline } from './engine.js';

describe('withDeadline', () => {
  it('gives the answer when the call answers in time', async () => {
    await expect(withDeadline('inspect x', 1000, async () => 'answer')).resolves.toBe('answer');
  });

  it('fails a call that never answers with the reason, and aborts it', async () => {
    let signal: AbortSignal | undefined;
    const never = (s: AbortSignal) => {
      signal = s;
      return new Promise<never>(() => undefined);
    };
    await expect(withDeadline('inspect the shadow x-refit-shadow', 20, never)).rejects.toMatchObject({
      code: 'docker',
      message: 'Docker Engine did not answer within 20 ms to inspect the shadow x-refit-shadow',
    });
    expect(signal?.aborted).toBe(true);
  });

  it('passes the call\'s own error through', async () => {
    await expect(withDeadline('remove y', 1000, async () => Promise.reject(Object.assign(new Error('gone'), { statusCode: 404 })))).rejects.toMatchObject({ statusCode: 404 });
  });
});
