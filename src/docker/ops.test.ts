import { describe, expect, it } from 'vitest';
import { splitTag } from './ops.js';

describe('splitTag', () => {
  it.each([
    ['web', { repo: 'web', tag: 'latest' }],
    ['web:1.2', { repo: 'web', tag: '1.2' }],
    ['127.0.0.1:5000/team/web:1.2-fpm', { repo: '127.0.0.1:5000/team/web', tag: '1.2-fpm' }],
    ['127.0.0.1:5000/team/web', { repo: '127.0.0.1:5000/team/web', tag: 'latest' }],
    ['web:1@sha256:abc', { repo: 'web', tag: '1' }],
  ])('%s', (ref, want) => expect(splitTag(ref)).toEqual(want));
});
