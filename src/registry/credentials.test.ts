import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStore, credentialSource, dockerConfigPath, helperServerAddress, parseAuthFile, readHelperAnswer, type HelperRunner } from './credentials.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const file = (o: unknown) => parseAuthFile(JSON.stringify(o), '/root/.docker/config.json');

describe('dockerConfigPath', () => {
  it('is the configured file, else $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json', () => {
    expect(dockerConfigPath('/etc/refit/docker.json', { DOCKER_CONFIG: '/d', HOME: '/h' })).toBe('/etc/refit/docker.json');
    expect(dockerConfigPath(undefined, { DOCKER_CONFIG: '/d', HOME: '/h' })).toBe('/d/config.json');
    expect(dockerConfigPath(undefined, { HOME: '/home/ops' })).toBe('/home/ops/.docker/config.json');
  });
});

describe('credentialSource', () => {
  it('finds auths entries under any spelling of the registry', () => {
    const f = file({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') }, 'http://127.0.0.1:5000': { username: 'u', password: 'p:w' } } });
    expect(credentialSource(f, 'docker.io')).toMatchObject({ kind: 'basic', username: 'hub', password: 'pw' });
    expect(credentialSource(f, '127.0.0.1:5000')).toEqual({ kind: 'basic', username: 'u', password: 'p:w', from: 'auths["127.0.0.1:5000"] in /root/.docker/config.json' });
    expect(credentialSource(f, 'ghcr.io')).toEqual({ kind: 'anonymous' });
  });

  it("Docker's order: credHelpers for the registry, then credsStore, then auths; an identity token wins over a password", () => {
    const f = file({ auths: { 'ghcr.io': { auth: b64('u:p') }, 'quay.io': { auth: b64('u:p'), identitytoken: 'refresh' } }, credHelpers: { '123.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login' } });
    expect(credentialSource(f, '123.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({ kind: 'helper', helper: 'ecr-login', key: 'credHelpers' });
    expect(credentialSource(f, 'quay.io')).toMatchObject({ kind: 'identity-token', token: 'refresh' });
    expect(credentialSource(f, 'ghcr.io')).toMatchObject({ kind: 'basic' });
    const store = file({ auths: { 'ghcr.io': { auth: b64('u:p') } }, credsStore: 'pass' });
    expect(credentialSource(store, 'ghcr.io')).toEqual({ kind: 'helper', helper: 'pass', key: 'credsStore' });
  });

  it('no file means anonymous; a broken file or entry is a reason, not a crash', () => {
    expect(credentialSource({ ok: true, file: null, path: '/x' }, 'ghcr.io')).toEqual({ kind: 'anonymous' });
    expect(credentialSource(parseAuthFile('{nope', '/x'), 'ghcr.io')).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/Docker config \/x is not valid JSON/) });
    expect(credentialSource(file({ auths: { 'ghcr.io': { auth: b64('nocolon') } } }), 'ghcr.io')).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/"auth" is not base64 of user:password/) });
  });
});

describe('readHelperAnswer', () => {
  it('reads Username/Secret, and <token> as an identity token', () => {
    expect(readHelperAnswer('{"ServerURL":"r","Username":"ci","Secret":"pw"}', 'h')).toEqual({ kind: 'basic', username: 'ci', password: 'pw', from: 'h' });
    expect(readHelperAnswer('{"Username":"<token>","Secret":"refresh"}', 'h')).toEqual({ kind: 'identity-token', token: 'refresh', from: 'h' });
  });
  it('never repeats what the helper printed in a reason', () => {
    for (const out of ['secret-not-json', '{"Username":"u"}', '{"Secret":"s3cr3t"}']) {
      const c = readHelperAnswer(out, 'helper x');
      expect(c.kind).toBe('unusable');
      expect(JSON.stringify(c)).not.toMatch(/s3cr3t|secret-not-json/);
    }
  });
});

describe('CredentialStore', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'refit-creds-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const storeWith = (runHelper: HelperRunner, config: unknown = { credHelpers: { 'reg.example': 'test' }, credsStore: 'other', auths: {} }) => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    return new CredentialStore({ helperTimeoutMs: 50, env: { DOCKER_CONFIG: dir }, runHelper });
  };

  it('asks the helper once per registry, with Docker Hub under its index URL', async () => {
    const asked: string[] = [];
    const s = storeWith(async (helper, server) => {
      asked.push(`${helper} ${server}`);
      return { code: 0, stdout: '{"Username":"ci","Secret":"pw"}', stderr: '' };
    });
    expect(await s.get('reg.example')).toMatchObject({ kind: 'basic', username: 'ci' });
    await s.get('reg.example');
    await s.get('docker.io');
    expect(asked).toEqual(['test reg.example', `other ${helperServerAddress('docker.io')}`]);
    expect(helperServerAddress('docker.io')).toBe('https://index.docker.io/v1/');
  });

  it('"credentials not found" is anonymous; other failures are reasons naming the helper and the file', async () => {
    expect(await storeWith(async () => ({ code: 1, stdout: 'credentials not found in native keychain\n', stderr: '' })).get('reg.example')).toEqual({ kind: 'anonymous' });
    const failed = await storeWith(async () => ({ code: 3, stdout: '{"Secret":"s3cr3t"}', stderr: 'vault sealed\nmore' })).get('reg.example');
    expect(failed).toEqual({
      kind: 'unusable',
      reason: `credential helper docker-credential-test (credHelpers in ${dir}/config.json) failed with exit code 3 (vault sealed); fix docker-credential-test (credHelpers in ${dir}/config.json), or run \`docker login reg.example\` again`,
    });
    const missing = await storeWith(async () => ({ code: null, stdout: '', stderr: '', failure: 'is not on PATH' })).get('reg.example');
    expect(missing).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/^credential helper docker-credential-test \(credHelpers in \S+\) is not on PATH/) });
  });

  it('refuses a helper name that is a path', async () => {
    const s = storeWith(
      async () => {
        throw new Error('must not run');
      },
      { credsStore: '../../bin/sh' },
    );
    expect(await s.get('reg.example')).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/names "\.\.\/\.\.\/bin\/sh", which is not a credential helper name/) });
  });
});
