import { describe, expect, it } from 'vitest';
import { createProxy } from './adapter.js';
import { proxySchema } from '../config/schema.js';
import { noProxy } from './none.js';

describe('proxy type none', () => {
  it('is chosen by proxy.type and offers no zero-downtime steps', () => {
    const proxy = createProxy(proxySchema.parse({ type: 'none' }));
    expect(proxy.kind).toBe('none');
    expect(proxy.zeroDowntime).toBe(false);
  });

  it('does nothing, says so, and never claims a drain happened', async () => {
    const lines: string[] = [];
    const proxy = noProxy((l) => lines.push(l));
    const up = { name: 'shop-web-1', ip: '172.20.0.5', port: 80 };
    await proxy.apply([{ id: 'shop.web', vhosts: ['shop.example'], servers: [up] }]);
    await proxy.add('shop.web', up);
    expect(await proxy.drain('shop.web', up, { timeoutMs: 1000 })).toEqual({ drained: false, waitedMs: 0, remainingSessions: 0 });
    await proxy.remove('shop.web', up);
    expect(await proxy.list('shop.web')).toEqual([]);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^drain of shop-web-1 from shop\.web skipped: proxy\.type is none/);
  });
});
