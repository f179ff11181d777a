import { describe, expect, it } from 'vitest';
import type { HoldRecord } from '../journal/types.js';
import { heldReason, holdOn } from './holds.js';

const hold = (o: Partial<HoldRecord>): HoldRecord => ({
  id: 3,
  reference: 'reg.example/web:1.1.0',
  digest: 'sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  imageId: 'sha256:img',
  container: 'shop-web-1',
  watchId: 7,
  reason: '5xx rate 30.0% …',
  created: new Date('2026-11-01T03:10:00Z'),
  released: null,
  ...o,
});

describe('holds', () => {
  it('stop the same digest, whatever the tag; a same-tag update with a new digest is not stopped', () => {
    const h = hold({ reference: 'reg.example/web:latest' });
    expect(holdOn([h], { reference: 'reg.example/web:latest', digest: h.digest })).toBe(h);
    expect(holdOn([h], { reference: 'reg.example/web:stable', digest: h.digest })).toBe(h);
    expect(holdOn([h], { reference: 'reg.example/web:latest', digest: 'sha256:bbbb' })).toBeUndefined();
  });

  it('stop the same reference when a digest is unknown', () => {
    expect(holdOn([hold({ digest: null })], { reference: 'reg.example/web:1.1.0', digest: 'sha256:cc' })).toBeDefined();
    expect(holdOn([hold({})], { reference: 'reg.example/web:1.1.0', digest: null })).toBeDefined();
    expect(holdOn([hold({})], { reference: 'reg.example/web:1.2.0', digest: null })).toBeUndefined();
  });

  it('say since when, why, and how to release', () => {
    expect(heldReason(hold({}))).toBe('reg.example/web:1.1.0 (sha256:aaaaaaaaaaaa…) is held on this host since 2026-11-01T03:10:00.000Z (hold #3, after the watch of shop-web-1): 5xx rate 30.0% …; `refit holds release 3` lets it be taken again');
  });
});
