import { describe, expect, it } from 'vitest';
import { parseReference, repoDigestsFor, withTag, type ImageRef } from './reference.js';

const ok = (input: string): ImageRef => {
  const r = parseReference(input);
  if (!r.ok) throw new Error(r.reason);
  return r.ref;
};
const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference follows Docker Hub rules', () => {
  it.each([
    ['nginx', 'docker.io', 'library/nginx', 'latest'],
    ['nginx:1.25-alpine', 'docker.io', 'library/nginx', '1.25-alpine'],
    ['docker.io/nginx', 'docker.io', 'library/nginx', 'latest'],
    ['index.docker.io/library/nginx:1', 'docker.io', 'library/nginx', '1'],
    ['bitnami/php-fpm:8.2', 'docker.io', 'bitnami/php-fpm', '8.2'],
    ['127.0.0.1:5000/web:1.0.0', '127.0.0.1:5000', 'web', '1.0.0'],
    ['localhost/team/web', 'localhost', 'team/web', 'latest'],
    ['ghcr.io/org/app/web:v2', 'ghcr.io', 'org/app/web', 'v2'],
  ])('%s', (input, registry, repository, tag) => {
    expect(ok(input)).toMatchObject({ registry, repository, tag, digest: null });
  });

  it('keeps a digest, and no default tag when pinned by digest alone', () => {
    expect(ok(`web@${D}`)).toMatchObject({ repository: 'library/web', tag: null, digest: D });
    expect(ok(`127.0.0.1:5000/web:1.0@${D}`)).toMatchObject({ registry: '127.0.0.1:5000', tag: '1.0', digest: D });
  });

  it.each(['', 'Web:1', 'web:', 'web:-bad', 'web@sha256:short', 'bad host!/web'])('rejects %j with a reason naming it', (input) => {
    const r = parseReference(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('image reference');
  });
});

describe('withTag keeps the form the operator wrote', () => {
  it.each([
    ['nginx:1.25-alpine', '1.26-alpine', 'nginx:1.26-alpine'],
    ['nginx', '2', 'nginx:2'],
    ['127.0.0.1:5000/web:1.0.0', '1.0.1', '127.0.0.1:5000/web:1.0.1'],
    [`web:1@${D}`, '2', 'web:2'],
  ])('%s -> %s', (input, tag, out) => {
    expect(withTag(ok(input), tag)).toBe(out);
  });
});

describe('repoDigestsFor', () => {
  it('matches RepoDigests of the same repository in any spelling, not of others', () => {
    const digests = [`nginx@${D}`, `127.0.0.1:5000/nginx@sha256:${'b'.repeat(64)}`, `docker.io/library/nginx@sha256:${'c'.repeat(64)}`];
    expect(repoDigestsFor(ok('nginx:1'), digests)).toEqual([D, `sha256:${'c'.repeat(64)}`]);
    expect(repoDigestsFor(ok('127.0.0.1:5000/nginx:1'), digests)).toEqual([`sha256:${'b'.repeat(64)}`]);
    expect(repoDigestsFor(ok('other:1'), digests)).toEqual([]);
  });
});
