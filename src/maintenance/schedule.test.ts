import { describe, expect, it } from 'vitest';
import { autoConcurrency, ClaimBoard, claimOf, clashes, inPool, NO_CLAIM, passConcurrency, type Claim } from './schedule.js';

const site = (reference: string, config: string | null) => ({ image: { reference, id: 'sha256:x', repoDigests: [] }, config: config ? { containerPath: '/etc/site', hostPath: config } : null });

describe('claims', () => {
  it('an update to another tag shares its old and new tags; its config dir is its own', () => {
    expect(claimOf(site('reg/web:1.4', '/srv/a/conf/'), { reference: 'reg/web:1.5', digest: null })).toEqual({ exclusive: ['config:/srv/a/conf'], shared: ['tag:reg/web:1.4', 'tag:reg/web:1.5'] });
  });

  it('a same-tag update (a new digest under the tag it runs by) holds that tag alone: its pull moves it, its rollback moves it back', () => {
    expect(claimOf(site('reg/web:latest', null), { reference: 'reg/web:latest', digest: 'sha256:d' })).toEqual({ exclusive: ['tag:reg/web:latest'], shared: [] });
  });

  it('sites updated from one tag to the next run together; same-tag updates of one tag, and sites sharing a config dir, take turns', () => {
    const tagChange = (dir: string) => claimOf(site('reg/web:1.4', dir), { reference: 'reg/web:1.5', digest: null });
    const sameTag = (dir: string) => claimOf(site('reg/web:1.5', dir), { reference: 'reg/web:1.5', digest: 'sha256:d' });
    expect(clashes(tagChange('/a'), [tagChange('/b'), tagChange('/c')])).toBe(false);
    expect(clashes(tagChange('/a'), [tagChange('/a')])).toBe(true);
    expect(clashes(sameTag('/a'), [sameTag('/b')])).toBe(true);
    expect(clashes(sameTag('/a'), [tagChange('/b')])).toBe(true);
    expect(clashes(tagChange('/b'), [sameTag('/a')])).toBe(true);
    expect(clashes(NO_CLAIM, [sameTag('/a')])).toBe(false);
  });
});

describe('concurrency', () => {
  it('auto: one per two CPUs, at least 1, at most 4', () => {
    expect([1, 2, 3, 4, 6, 8, 64].map(autoConcurrency)).toEqual([1, 1, 1, 2, 3, 4, 4]);
    expect(passConcurrency('auto', 4)).toBe(2);
    expect(passConcurrency(7, 2)).toBe(7);
  });
});

describe('inPool', () => {
  /** Items that finish when the test says so; records what ran at once. */
  function harness() {
    const finish = new Map<string, () => void>();
    const running = new Set<string>();
    const log: string[][] = [];
    const fn = (item: { name: string }) =>
      new Promise<string>((resolve) => {
        running.add(item.name);
        log.push([...running].sort());
        finish.set(item.name, () => {
          running.delete(item.name);
          resolve(`${item.name} done`);
        });
      });
    const settle = () => new Promise((r) => setImmediate(r));
    return { finish, running, log, fn, settle };
  }

  it('runs at most `size` at once, and gives the results in the items order', async () => {
    const h = harness();
    const items = ['a', 'b', 'c', 'd'].map((name) => ({ name, claim: NO_CLAIM }));
    const all = inPool(items, 2, (i) => i.claim, h.fn);
    await h.settle();
    expect([...h.running].sort()).toEqual(['a', 'b']);
    h.finish.get('b')!();
    await h.settle();
    expect([...h.running].sort()).toEqual(['a', 'c']);
    h.finish.get('a')!();
    await h.settle();
    h.finish.get('c')!();
    await h.settle();
    h.finish.get('d')!();
    expect(await all).toEqual(['a done', 'b done', 'c done', 'd done']);
    expect(Math.max(...h.log.map((l) => l.length))).toBe(2);
  });

  it('never runs clashing items together: the next item that fits goes first', async () => {
    const h = harness();
    const mine: Claim = { exclusive: ['config:/srv/x'], shared: [] };
    const items = [
      { name: 'a', claim: mine },
      { name: 'b', claim: mine },
      { name: 'c', claim: NO_CLAIM },
    ];
    const all = inPool(items, 3, (i) => i.claim, h.fn);
    await h.settle();
    expect([...h.running].sort()).toEqual(['a', 'c']);
    h.finish.get('a')!();
    await h.settle();
    expect([...h.running].sort()).toEqual(['b', 'c']);
    h.finish.get('b')!();
    h.finish.get('c')!();
    expect(await all).toEqual(['a done', 'b done', 'c done']);
    expect(h.log.some((l) => l.includes('a') && l.includes('b'))).toBe(false);
  });

  it('waits for a claim held beside the pool (a revert), and a claim waiting beside it goes before the items still queued', async () => {
    const h = harness();
    const tag: Claim = { exclusive: ['tag:reg/web:latest'], shared: [] };
    const board = new ClaimBoard();
    const revert = board.tryTake(tag)!;
    const items = [
      { name: 'a', claim: tag },
      { name: 'b', claim: NO_CLAIM },
      { name: 'c', claim: tag },
    ];
    const all = inPool(items, 2, (i) => i.claim, h.fn, board);
    await h.settle();
    expect([...h.running]).toEqual(['b']);
    revert();
    await h.settle();
    expect([...h.running].sort()).toEqual(['a', 'b']);
    // A second revert asks while `a` holds the tag: it gets it when `a` ends, before `c` can start.
    let secondRevert: (() => void) | null = null;
    void board.take(tag).then((release) => (secondRevert = release));
    h.finish.get('a')!();
    await h.settle();
    expect(secondRevert).not.toBeNull();
    expect([...h.running]).toEqual(['b']);
    secondRevert!();
    await h.settle();
    expect([...h.running].sort()).toEqual(['b', 'c']);
    h.finish.get('b')!();
    h.finish.get('c')!();
    expect(await all).toEqual(['a done', 'b done', 'c done']);
  });
});

describe('ClaimBoard', () => {
  it('grants what does not clash at once, the rest in order as claims are released; a release counts once', async () => {
    const board = new ClaimBoard();
    const dir: Claim = { exclusive: ['config:/srv/a'], shared: [] };
    const first = board.tryTake(dir)!;
    expect(board.tryTake(dir)).toBeNull();
    expect(board.tryTake({ exclusive: [], shared: ['tag:x'] })).not.toBeNull();
    const order: string[] = [];
    const second = board.take(dir).then((release) => (order.push('second'), release));
    const third = board.take(dir).then((release) => (order.push('third'), release));
    first();
    first();
    (await second)();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    expect(board.tryTake(dir)).not.toBeNull();
  });
});
