import { describe, expect, it } from 'vitest';
import type { SiteEntry } from '../state.js';
import { slotCount, slotTable, withSlots } from './slots.js';

const server = (name: string, slot?: string) => ({ name, ip: '10.0.0.2', port: 80, state: 'ready' as const, ...(slot ? { slot } : {}) });
const site = (servers: SiteEntry['servers']): SiteEntry => ({ id: 'p.web', vhosts: ['p.example'], servers });

describe('HAProxy server slots', () => {
  it('keeps a server in its slot and gives a new one the lowest free slot', () => {
    const [s] = withSlots({ sites: [site([server('a', 's2'), server('b'), server('c')])] }).sites;
    expect(s!.servers.map((x) => [x.name, x.slot])).toEqual([['a', 's2'], ['b', 's1'], ['c', 's3']]);
  });

  it('renders one free slot beyond the servers, at least three, and never fewer than the highest in use', () => {
    expect(slotCount(site([]))).toBe(3);
    expect(slotCount(site([server('a', 's1')]))).toBe(3);
    expect(slotCount(site([server('a', 's1'), server('b', 's2'), server('c', 's3')]))).toBe(4);
    expect(slotCount(site([server('a', 's5')]))).toBe(5);
    expect(slotTable(site([server('a', 's2')])).map((t) => [t.slot, t.server?.name])).toEqual([['s1', undefined], ['s2', 'a'], ['s3', undefined]]);
  });

  it('never gives a slot back: a maintenance (shadow in, original out and back, shadow out) keeps the config as it was', () => {
    const at = (servers: SiteEntry['servers'], before: SiteEntry) => withSlots({ sites: [{ ...before, servers }] }).sites[0]!;
    let s = at([server('orig', 's1')], site([]));
    const rendered = () => slotTable(s).map((t) => t.slot);
    const start = rendered();
    s = at([...s.servers, server('shadow')], s);
    expect(rendered()).toEqual(start);
    s = at(s.servers.filter((x) => x.name !== 'orig'), s);
    s = at([...s.servers, server('orig')], s);
    s = at(s.servers.filter((x) => x.name !== 'shadow'), s);
    expect(s.servers.map((x) => [x.name, x.slot])).toEqual([['orig', 's1']]);
    expect(rendered()).toEqual(start);
    // A site that grew keeps its slots when it shrinks again.
    s = at([server('a', 's1'), server('b', 's2'), server('c', 's3')], s);
    expect(slotCount(s)).toBe(4);
    expect(slotCount(at([server('a', 's1')], s))).toBe(4);
  });
});
