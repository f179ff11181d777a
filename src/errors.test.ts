import { describe, expect, it } from 'vitest';
import { RefitError, oneLine, EXIT } from './errors.js';

describe('RefitError', () => {
  it('maps usage, config and label problems to exit 2 and the rest to exit 1', () => {
    expect(new RefitError('config', 'x').exitCode).toBe(EXIT.usage);
    expect(new RefitError('label', 'x').exitCode).toBe(EXIT.usage);
    expect(new RefitError('docker', 'x').exitCode).toBe(EXIT.failed);
  });

  it('renders message and hint on one line', () => {
    expect(oneLine(new RefitError('config', 'bad key', 'fix it'))).toBe('bad key (fix it)');
    expect(oneLine(new Error('plain'))).toBe('plain');
  });
});
