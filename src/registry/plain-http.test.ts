import { describe, expect, it } from 'vitest';
import { plainHttpAllowed } from './plain-http.js';

describe('plainHttpAllowed', () => {
  it('allows loopback and the insecure list (host, host:port, CIDR), nothing else', () => {
    expect(plainHttpAllowed('127.0.0.1:5000', [])).toBe(true);
    expect(plainHttpAllowed('localhost:5000', [])).toBe(true);
    expect(plainHttpAllowed('[::1]:5000', [])).toBe(true);
    expect(plainHttpAllowed('registry.lan:5000', [])).toBe(false);
    expect(plainHttpAllowed('registry.lan:5000', ['registry.lan:5000'])).toBe(true);
    expect(plainHttpAllowed('registry.lan:5001', ['registry.lan:5000'])).toBe(false);
    expect(plainHttpAllowed('registry.lan', ['http://registry.lan'])).toBe(true);
    expect(plainHttpAllowed('10.1.2.3:5000', ['10.0.0.0/8'])).toBe(true);
    expect(plainHttpAllowed('11.1.2.3:5000', ['10.0.0.0/8'])).toBe(false);
  });
});
