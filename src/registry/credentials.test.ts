import { describe, expect, it } from 'vitest';
import { credentialFor, parseAuthFile } from './credentials.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const file = (o: unknown) => parseAuthFile(JSON.stringify(o), '/root/.docker/config.json');

describe('credentialFor', () => {
  it('finds auths entries under any spelling of the registry', () => {
    const f = file({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') }, 'http://127.0.0.1:5000': { username: 'u', password: 'p:w' } } });
    expect(credentialFor(f, 'docker.io')).toEqual({ kind: 'basic', username: 'hub', password: 'pw' });
    expect(credentialFor(f, '127.0.0.1:5000')).toEqual({ kind: 'basic', username: 'u', password: 'p:w' });
    expect(credentialFor(f, 'ghcr.io')).toEqual({ kind: 'anonymous' });
  });

  it('says clearly when a credential helper would be needed', () => {
    const f = file({ auths: { 'ghcr.io': {} }, credsStore: 'desktop', credHelpers: { '123.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login' } });
    const ecr = credentialFor(f, '123.dkr.ecr.eu-west-1.amazonaws.com');
    expect(ecr.kind).toBe('unusable');
    if (ecr.kind === 'unusable') expect(ecr.reason).toMatch(/credential helper docker-credential-ecr-login, which refit does not run; add auths\["123\.dkr/);
    const ghcr = credentialFor(f, 'ghcr.io');
    if (ghcr.kind !== 'unusable') throw new Error('expected unusable');
    expect(ghcr.reason).toMatch(/docker-credential-desktop/);
  });

  it('no file means anonymous; a broken file or entry is a reason, not a crash', () => {
    expect(credentialFor({ ok: true, file: null, path: '/x' }, 'ghcr.io')).toEqual({ kind: 'anonymous' });
    expect(credentialFor(parseAuthFile('{nope', '/x'), 'ghcr.io')).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/Docker config \/x is not valid JSON/) });
    expect(credentialFor(file({ auths: { 'ghcr.io': { auth: b64('nocolon') } } }), 'ghcr.io')).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/not base64 of user:password/) });
    expect(credentialFor(file({ auths: { 'ghcr.io': { identitytoken: 't' } } }), 'ghcr.io')).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/only an identity token/) });
  });
});
