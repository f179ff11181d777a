import { describe, expect, it } from 'vitest';
import type { Discovery, Site } from './discover.js';
import { selectSites } from './select.js';

const found = { sites: [{ name: 'a' }, { name: 'b' }] as Site[], unmanaged: [{ name: 'c', id: 'c', image: 'x', reason: 'image x is not on the allowlist' }] } satisfies Discovery;

describe('selectSites', () => {
  it('takes every site without names, exactly the named ones with', () => {
    expect(selectSites(found).map((s) => s.name)).toEqual(['a', 'b']);
    expect(selectSites(found, ['b']).map((s) => s.name)).toEqual(['b']);
  });
  it('names each container it cannot work on, as a usage error', () => {
    expect(() => selectSites(found, ['b', 'c', 'zz'])).toThrow('--container c: image x is not on the allowlist; zz: no managed container has that name');
  });
});
