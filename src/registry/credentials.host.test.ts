/**
 * Registry credentials found as the Docker CLI finds them, against a real registry (Debian's
 * docker-registry) with token auth, behind a token service started here: `$DOCKER_CONFIG`,
 * `$HOME`, `registry.dockerConfig`, identity tokens, and credential helpers that are real
 * programs on PATH (good ones, and ones that fail, hang or are missing: a clear reason for
 * their registry while the pass goes on). Pulls through the engine use the same credentials.
 * No secret ever shows up in what refit reports.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrySchema, type RegistryConfig } from '../config/schema.js';
import { connectEngine } from '../docker/engine.js';
import { checkUpdates, type UpdateCheck } from './check.js';
import { pullImage } from './pull.js';
import { engineWithoutImages } from './testing/fake-registry.js';
import { freePort, startRegistry, sweepRegistries, type RunningRegistry } from './testing/local-registry.js';
import { siteFor } from './testing/sites.js';
import { pushSyntheticImage } from './testing/synthetic-image.js';
import { startTokenServer, type TokenServer } from './testing/token-server.js';

const PASSWORD = 's3cr3t-pw';
const REFRESH = 's3cr3t-refresh';
const engine = connectEngine('/var/run/docker.sock');

let tmp: string;
let bin: string;
let helperLog: string;
let registry: RunningRegistry;
let tokens: TokenServer;
let port: number;
const digests: Record<string, string> = {};

/** Writes docker-credential-<name> into the test's bin dir. */
function helper(name: string, body: string): void {
  const file = join(bin, `docker-credential-${name}`);
  writeFileSync(file, `#!/bin/sh\nread server\necho "${name} $server" >> ${helperLog}\n${body}\n`);
  chmodSync(file, 0o755);
}

/** A Docker config dir (or file) holding `config`. */
function dockerConfig(name: string, config: unknown): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

const env = (extra: Record<string, string>) => ({ PATH: `${bin}:${process.env.PATH}`, HOME: join(tmp, 'empty-home'), ...extra });
const config = (extra: Partial<RegistryConfig> = {}) => registrySchema.parse({ certsDir: join(tmp, 'certs'), retries: 1, credentialHelperTimeoutMs: 2000, ...extra });
const site = (name: string, host = `127.0.0.1:${port}`) => siteFor(name, `${host}/creds/web:1.0.0`, 'minor', { id: `sha256:${'1'.repeat(64)}`, repoDigests: [`${host}/creds/web@${digests['1.0.0']}`] });
const check = (sites: ReturnType<typeof site>[], e: NodeJS.ProcessEnv, c = config()) => checkUpdates(sites, { engine: engineWithoutImages(), config: c, env: e });
const byName = (r: UpdateCheck[], name: string) => r.find((x) => x.container === name)!;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const helperCalls = () => readFileSync(helperLog, 'utf8').trim().split('\n');

beforeAll(async () => {
  sweepRegistries();
  tmp = mkdtempSync(join(tmpdir(), 'refit-creds-host-'));
  bin = join(tmp, 'bin');
  mkdirSync(bin);
  helperLog = join(tmp, 'helper.log');
  writeFileSync(helperLog, '');
  port = await freePort();
  const storage = join(tmp, 'storage');
  registry = await startRegistry({ storage, port });
  for (const tag of ['1.0.0', '1.1.0', '1.2.0']) digests[tag] = await pushSyntheticImage(registry.host, 'creds/web', tag, new Date(Date.now() - 86_400_000));
  await registry.stop();
  tokens = await startTokenServer({ dir: tmp, passwords: { alice: PASSWORD }, refreshTokens: { [REFRESH]: 'alice' } });
  registry = await startRegistry({ storage, port, token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundle: tokens.rootCertBundle } });

  helper('refit-good', `printf '{"ServerURL":"%s","Username":"alice","Secret":"${PASSWORD}"}' "$server"`);
  helper('refit-token', `printf '{"ServerURL":"%s","Username":"<token>","Secret":"${REFRESH}"}' "$server"`);
  helper('refit-notfound', 'echo "credentials not found in native keychain"; exit 1');
  helper('refit-broken', 'echo "the vault is sealed" >&2; exit 1');
  helper('refit-hangs', 'exec sleep 60');
});

afterAll(async () => {
  await registry?.stop();
  await tokens?.stop();
  for (const tag of ['1.1.0', '1.2.0']) await engine.api.getImage(`127.0.0.1:${port}/creds/web:${tag}`).remove({ force: true }).catch(() => undefined);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('where the Docker config is', () => {
  it('nothing configured anywhere: the registry needs a login, and the reason names $HOME/.docker/config.json', async () => {
    const [r] = await check([site('anon')], env({}));
    expect(r).toMatchObject({ status: 'error', reason: expect.stringContaining(`auth failed: registry 127.0.0.1:${port} needs a login and ${tmp}/empty-home/.docker/config.json has no credentials for it`) });
  });

  it('$DOCKER_CONFIG/config.json wins over $HOME/.docker/config.json', async () => {
    const home = dockerConfig('home-wrong/.docker', { auths: { [`127.0.0.1:${port}`]: { auth: b64('alice:wrong') } } });
    const dc = dockerConfig('docker-config', { auths: { [`127.0.0.1:${port}`]: { auth: b64(`alice:${PASSWORD}`) } } });
    tokens.requests.length = 0;
    const [r] = await check([site('dc')], env({ DOCKER_CONFIG: dc, HOME: join(home, '..') }));
    expect(r).toMatchObject({ status: 'update', candidate: { reference: `127.0.0.1:${port}/creds/web:1.2.0`, digest: digests['1.2.0'] } });
    expect(tokens.requests.map((t) => t.who)).toEqual(['basic:alice']);
  });

  it('$HOME/.docker/config.json, here with an identity token traded by the OAuth2 refresh grant', async () => {
    const home = dockerConfig('home/.docker', { auths: { [`http://127.0.0.1:${port}`]: { identitytoken: REFRESH } } });
    tokens.requests.length = 0;
    const [r] = await check([site('home')], env({ HOME: join(home, '..') }));
    expect(r).toMatchObject({ status: 'update', candidate: { reference: `127.0.0.1:${port}/creds/web:1.2.0` } });
    expect(tokens.requests).toEqual([{ method: 'POST', who: 'refresh:alice', scope: 'repository:creds/web:pull' }]);
  });

  it('registry.dockerConfig wins over both', async () => {
    const file = join(dockerConfig('configured', { credHelpers: { [`127.0.0.1:${port}`]: 'refit-good' } }), 'config.json');
    const wrong = dockerConfig('dc-wrong', { auths: { [`127.0.0.1:${port}`]: { auth: b64('alice:wrong') } } });
    const [r] = await check([site('configured')], env({ DOCKER_CONFIG: wrong }), config({ dockerConfig: file }));
    expect(r).toMatchObject({ status: 'update' });
  });
});

describe('credential helpers on PATH', () => {
  it('credHelpers: the helper is asked for the registry, and its password gets the token', async () => {
    const dc = dockerConfig('helpers', { credHelpers: { [`127.0.0.1:${port}`]: 'refit-good' }, auths: { [`127.0.0.1:${port}`]: {} } });
    writeFileSync(helperLog, '');
    tokens.requests.length = 0;
    const results = await check([site('helped-a'), site('helped-b')], env({ DOCKER_CONFIG: dc }));
    for (const r of results) expect(r).toMatchObject({ status: 'update', candidate: { reference: `127.0.0.1:${port}/creds/web:1.2.0` } });
    expect(helperCalls()).toEqual([`refit-good 127.0.0.1:${port}`]);
    expect(tokens.requests.map((t) => t.who)).toEqual(['basic:alice']);
    expect(JSON.stringify(results)).not.toContain('s3cr3t');
  });

  it('credsStore with an identity token; "credentials not found" means anonymous', async () => {
    tokens.requests.length = 0;
    const [r] = await check([site('store')], env({ DOCKER_CONFIG: dockerConfig('store', { credsStore: 'refit-token' }) }));
    expect(r).toMatchObject({ status: 'update' });
    expect(tokens.requests.map((t) => `${t.method} ${t.who}`)).toEqual(['POST refresh:alice']);
    const [none] = await check([site('none')], env({ DOCKER_CONFIG: dockerConfig('notfound', { credsStore: 'refit-notfound' }) }));
    expect(none!.reason).toContain(`auth failed: registry 127.0.0.1:${port} needs a login`);
  });

  it.each([
    ['refit-broken', /credential helper docker-credential-refit-broken \(credHelpers in \S+\) failed with exit code 1 \(the vault is sealed\); fix docker-credential-refit-broken/],
    ['refit-hangs', /credential helper docker-credential-refit-hangs \(credHelpers in \S+\) did not answer within 2000 ms/],
    ['refit-absent', /credential helper docker-credential-refit-absent \(credHelpers in \S+\) is not on PATH/],
  ])('a wrong helper (%s) is a clear reason for its registry, and the pass goes on for the others', async (wrong, reason) => {
    // The same registry under two names: each name has its own helper, as Docker keys them.
    const dc = dockerConfig(`wrong-${wrong}`, { credHelpers: { [`127.0.0.1:${port}`]: wrong, [`localhost:${port}`]: 'refit-good' } });
    const results = await check([site('wrong'), site('fine', `localhost:${port}`)], env({ DOCKER_CONFIG: dc }));
    expect(byName(results, 'wrong')).toMatchObject({ status: 'error', candidate: null, reason: expect.stringMatching(reason) });
    expect(byName(results, 'wrong').reason).toContain(`auth failed: registry 127.0.0.1:${port} needs a login and`);
    expect(byName(results, 'fine')).toMatchObject({ status: 'update', candidate: { reference: `localhost:${port}/creds/web:1.2.0` } });
  });
});

describe('pulls through the engine use the same credentials', () => {
  it('a password from a helper, and an identity token from a helper', async () => {
    const ref = (tag: string) => `127.0.0.1:${port}/creds/web:${tag}`;
    tokens.requests.length = 0;
    const viaPassword = env({ DOCKER_CONFIG: dockerConfig('pull-helper', { credHelpers: { [`127.0.0.1:${port}`]: 'refit-good' } }) });
    expect((await pullImage(engine, ref('1.1.0'), config(), () => undefined, viaPassword)).id).toMatch(/^sha256:/);
    const viaToken = env({ DOCKER_CONFIG: dockerConfig('pull-token', { credsStore: 'refit-token' }) });
    expect((await pullImage(engine, ref('1.2.0'), config(), () => undefined, viaToken)).id).toMatch(/^sha256:/);
    expect(tokens.requests.map((t) => t.who)).toEqual(expect.arrayContaining(['basic:alice', 'refresh:alice']));
    const denied = pullImage(engine, ref('1.0.0'), config(), () => undefined, env({ DOCKER_CONFIG: dockerConfig('pull-none', {}) }));
    await expect(denied).rejects.toThrow(/pull of .*creds\/web:1\.0\.0 failed: .*(unauthorized|authentication required|denied)/i);
    await denied.catch((err: Error) => expect(`${err.message} ${(err as { hint?: string }).hint}`).not.toContain('s3cr3t'));
  });
});
