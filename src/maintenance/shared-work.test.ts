import { describe, expect, it } from 'vitest';
import { fakeSite, fakeWorld, NEW, OLD } from './testing/fake-site.js';
import { turnsPerKey, withSharedPulls } from './shared-work.js';

describe('one pull per image and pass', () => {
  it('maintenances pulling the same reference, at once or one after the other, share one pull', async () => {
    const world = fakeWorld(fakeSite());
    const shared = withSharedPulls(world);
    const [a, b] = await Promise.all([shared.pull(NEW.reference), shared.pull(NEW.reference)]);
    expect(await shared.pull(NEW.reference)).toEqual({ imageId: NEW.id });
    expect([a, b]).toEqual([{ imageId: NEW.id }, { imageId: NEW.id }]);
    expect(world.calls.filter((c) => c.startsWith('pull '))).toEqual([`pull ${NEW.reference}`]);
  });

  it('pulls again once the tag no longer points at what the pull brought (a rollback pointed it back), and after a failed pull', async () => {
    const world = fakeWorld(fakeSite());
    const shared = withSharedPulls(world);
    world.registry.set(OLD.reference, NEW.id);
    await shared.pull(OLD.reference);
    await shared.tag(OLD.id, OLD.reference);
    expect(await shared.pull(OLD.reference)).toEqual({ imageId: NEW.id });
    world.failOn = `pull ${NEW.reference}`;
    await expect(shared.pull(NEW.reference)).rejects.toThrow('injected failure');
    await shared.pull(NEW.reference);
    expect(world.calls.filter((c) => c.startsWith('pull '))).toEqual([`pull ${OLD.reference}`, `pull ${OLD.reference}`, `pull ${NEW.reference}`, `pull ${NEW.reference}`]);
    // Everything else is the world itself.
    expect(world.tags.get(OLD.reference)).toBe(NEW.id);
  });
});

describe('turnsPerKey', () => {
  it('runs one function per key at a time, in call order, and different keys at once', async () => {
    const turn = turnsPerKey();
    const log: string[] = [];
    const step = (name: string) => async () => {
      log.push(`${name} start`);
      await new Promise((r) => setImmediate(r));
      log.push(`${name} end`);
      if (name === 'a1') throw new Error('a1 failed');
      return name;
    };
    const results = await Promise.allSettled([turn('a', step('a1')), turn('a', step('a2')), turn('b', step('b1'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('a2 start')).toBeGreaterThan(log.indexOf('a1 end'));
    expect(log.indexOf('b1 start')).toBeLessThan(log.indexOf('a1 end'));
  });
});
