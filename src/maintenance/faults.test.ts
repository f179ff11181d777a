import { describe, expect, it } from 'vitest';
import { faultsFrom } from './faults.js';

describe('REFIT_FAULT', () => {
  it('parses kill, hold and fail faults, one or several', () => {
    expect(faultsFrom(undefined)).toEqual([]);
    expect(faultsFrom('kill:shadow:done')).toEqual([{ kind: 'kill', step: 'shadow', phase: 'done' }]);
    expect(faultsFrom('fail:config-install')).toEqual([{ kind: 'fail', step: 'config-install' }]);
    expect(faultsFrom('hold:shadow-health:begin', '/tmp/go')).toEqual([{ kind: 'hold', step: 'shadow-health', phase: 'begin', release: '/tmp/go' }]);
    expect(faultsFrom('fail:original-health, hold:drain-original:undo', '/tmp/go')).toEqual([
      { kind: 'fail', step: 'original-health' },
      { kind: 'hold', step: 'drain-original', phase: 'undo', release: '/tmp/go' },
    ]);
  });
  it('refuses anything else', () => {
    expect(() => faultsFrom('kill:shadow')).toThrow(/REFIT_FAULT/);
    expect(() => faultsFrom('fail:nope')).toThrow(/REFIT_FAULT/);
    expect(() => faultsFrom('fail:shadow,kill:override:begin')).toThrow(/"kill:override:begin" is not/);
    // A hold without a release file would never end.
    expect(() => faultsFrom('hold:shadow:begin', undefined)).toThrow(/REFIT_FAULT_RELEASE/);
  });
});
