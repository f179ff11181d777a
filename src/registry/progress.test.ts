import { describe, expect, it } from 'vitest';
import { PullProgress } from './progress.js';

describe('PullProgress', () => {
  it('logs state changes once, not byte ticks, and summarises for a terminal', () => {
    const p = new PullProgress('web:2');
    expect(p.feed({ status: 'Pulling from web', id: '2' })).toBe('web:2: Pulling from web');
    expect(p.feed({ status: 'Pulling fs layer', id: 'aaa' })).toBe('web:2: layer aaa: Pulling fs layer');
    expect(p.feed({ status: 'Already exists', id: 'bbb' })).toBe('web:2: layer bbb: Already exists');
    expect(p.feed({ status: 'Downloading', id: 'aaa', progressDetail: { current: 1e6, total: 4e6 } })).toBe('web:2: layer aaa: Downloading');
    expect(p.feed({ status: 'Downloading', id: 'aaa', progressDetail: { current: 2e6, total: 4e6 } })).toBeNull();
    expect(p.summary()).toBe('pulling web:2: 1/2 layers done, 2.0/4.0 MB');
    expect(p.feed({ status: 'Pull complete', id: 'aaa' })).toBe('web:2: layer aaa: Pull complete');
    expect(p.summary()).toBe('pulling web:2: 2/2 layers done');
    expect(p.feed({ error: 'manifest unknown' })).toBe('web:2: error: manifest unknown');
  });
});
