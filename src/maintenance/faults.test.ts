import { describe, expect, it } from 'vitest';
import { faultsFrom, withFailures } from './faults.js';

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
  it('takes a fault for one kind of maintenance (updates and reverts share step names)', () => {
    expect(faultsFrom('kill:drain-original:done:revert')).toEqual([{ kind: 'kill', step: 'drain-original', phase: 'done', maintenance: 'revert' }]);
    expect(faultsFrom('fail:shadow-health:update')).toEqual([{ kind: 'fail', step: 'shadow-health', maintenance: 'update' }]);
    expect(faultsFrom('kill:old-image:begin')).toEqual([{ kind: 'kill', step: 'old-image', phase: 'begin' }]);
    const failing = (kind: 'update' | 'revert') => withFailures(faultsFrom('fail:scratch:revert'), [{ name: 'scratch', run: async () => 1 }], kind)[0]!.run({});
    return Promise.all([expect(failing('update')).resolves.toBe(1), expect(failing('revert')).rejects.toThrow(/injected failure after scratch/)]);
  });

  it('refuses anything else', () => {
    expect(() => faultsFrom('kill:shadow:done:later')).toThrow(/REFIT_FAULT/);
    expect(() => faultsFrom('fail:shadow:done')).toThrow(/REFIT_FAULT/);
    expect(() => faultsFrom('kill:shadow')).toThrow(/REFIT_FAULT/);
    expect(() => faultsFrom('fail:nope')).toThrow(/REFIT_FAULT/);
    expect(() => faultsFrom('fail:shadow,kill:override:begin')).toThrow(/"kill:override:begin" is not/);
    // A hold without a release file would never end.
    expect(() => faultsFrom('hold:shadow:begin', undefined)).toThrow(/REFIT_FAULT_RELEASE/);
  });
});
