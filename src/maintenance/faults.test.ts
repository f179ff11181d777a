import { describe, expect, it } from 'vitest';
import { faultFrom } from './faults.js';

describe('REFIT_FAULT', () => {
  it('parses kill and fail faults', () => {
    expect(faultFrom(undefined)).toBeNull();
    expect(faultFrom('kill:shadow:done')).toEqual({ kind: 'kill', step: 'shadow', phase: 'done' });
    expect(faultFrom('fail:config-install')).toEqual({ kind: 'fail', step: 'config-install' });
    expect(faultFrom('hold:shadow-health:begin', '/tmp/go')).toEqual({ kind: 'hold', step: 'shadow-health', phase: 'begin', release: '/tmp/go' });
  });
  it('refuses anything else', () => {
    expect(() => faultFrom('kill:shadow')).toThrow(/REFIT_FAULT/);
    expect(() => faultFrom('fail:nope')).toThrow(/REFIT_FAULT/);
    // A hold without a release file would never end.
    expect(() => faultFrom('hold:shadow:begin', undefined)).toThrow(/REFIT_FAULT_RELEASE/);
  });
});
