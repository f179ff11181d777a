import { describe, expect, it } from 'vitest';
import { flavorOf } from './cli.js';

describe('flavorOf', () => {
  it('reads the flavor from the com.docker.compose.version label', () => {
    expect(flavorOf('1.29.2')).toBe('v1');
    expect(flavorOf('2.26.1')).toBe('v2');
    expect(flavorOf('')).toBeUndefined();
  });
});
