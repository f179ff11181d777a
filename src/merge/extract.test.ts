import { describe, expect, it } from 'vitest';
import { EXTRACT_OWNER_LABEL, isExtractLeftover } from './extract.js';

describe('isExtractLeftover', () => {
  const now = 1_000_000;
  const alive = (pid: number, start: string | null) => pid === 42 && start === '777';
  const owned = (owner: string) => ({ 'refit.role': 'extract', [EXTRACT_OWNER_LABEL]: owner });

  it('keeps the extract container of a refit that still runs', () => {
    expect(isExtractLeftover(owned('42:777'), now - 5, now, alive)).toBe(false);
  });
  it('sweeps one whose refit is gone, or whose pid now belongs to another process', () => {
    expect(isExtractLeftover(owned('43:777'), now - 5, now, alive)).toBe(true);
    expect(isExtractLeftover(owned('42:778'), now - 5, now, alive)).toBe(true);
  });
  it('sweeps one without an owner (an older refit) only once it is an hour old: extraction takes seconds', () => {
    expect(isExtractLeftover({ 'refit.role': 'extract' }, now - 60, now, alive)).toBe(false);
    expect(isExtractLeftover({ 'refit.role': 'extract' }, now - 3601, now, alive)).toBe(true);
    expect(isExtractLeftover(owned('garbage'), now - 3601, now, alive)).toBe(true);
  });
});
