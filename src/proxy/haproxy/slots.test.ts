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

  it('renders one free slot beyond the servers, at least two, and never fewer than the highest in use', () => {
    expect(slotCount(site([]))).toBe(2);
    expect(slotCount(site([server('a', 's1')]))).toBe(2);
    expect(slotCount(site([server('a', 's1'), server('b', 's2')]))).toBe(3);
    expect(slotCount(site([server('a', 's5')]))).toBe(5);
    expect(slotTable(site([server('a', 's2')])).map((t) => [t.slot, t.server?.name])).toEqual([['s1', undefined], ['s2', 'a']]);
  });
});
