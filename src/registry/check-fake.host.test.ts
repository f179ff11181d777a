/**
 * Update detection against a fake registry that misbehaves on purpose: every container gets
 * a clear reason, none crashes the pass, and the well-behaved ones are still checked.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrySchema, type RegistryConfig } from '../config/schema.js';
import type { Policy } from '../site/labels.js';
import { checkUpdates, type UpdateCheck } from './check.js';
import { MANIFEST_TYPES } from './client.js';
import { engineWithoutImages, fakeDigest, startFakeRegistry, type FakeRegistry } from './testing/fake-registry.js';
import { siteFor } from './testing/sites.js';

const PAGED_TAGS = ['0.9.0', '1.0.0', '1.0.1', '1.1.0', '2.0.0', '1.3.0', '1.2.0'];
const hits = new Map<string, number>();
let reg: FakeRegistry;
/** Another host the registry sends refit to (a Link, a blob redirect): it must never see the registry's credentials. */
let elsewhere: FakeRegistry;
const tokenPosts: string[] = [];
let dir: string;

const bearerOk = (repo: string, auth: string | undefined) => auth === `Bearer tok:repository:${repo}:pull`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'refit-check-fake-'));
  elsewhere = await startFakeRegistry((_req, res, url) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.pathname.startsWith('/storage/')) return res.end(JSON.stringify({ created: '2020-01-01T00:00:00Z', architecture: 'amd64', os: 'linux' }));
    res.end(JSON.stringify({ name: 'away/web', tags: ['1.0.1', '1.2.0'] }));
  });
  reg = await startFakeRegistry((req, res, url) => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (url.pathname === '/token' && req.method === 'POST') {
      // The OAuth2 refresh grant an identity token is traded by.
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        tokenPosts.push(body);
        if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== 'refresh-right') return json(401, { errors: [{ code: 'UNAUTHORIZED' }] });
        json(200, { access_token: `tok:${form.get('scope')}`, expires_in: 300 });
      });
      return;
    }
    if (url.pathname === '/token') {
      const scope = url.searchParams.get('scope') ?? '';
      const basic = `Basic ${Buffer.from('alice:right').toString('base64')}`;
      if (scope.includes(':private/') && req.headers.authorization !== basic) return json(401, { errors: [{ code: 'UNAUTHORIZED' }] });
      return json(200, { token: `tok:${scope}`, expires_in: 300 });
    }
    const m = /^\/v2\/(.+)\/(manifests\/[^/]+|tags\/list|blobs\/[^/]+)$/.exec(url.pathname);
    if (!m) return json(404, { errors: [{ code: 'NOT_FOUND' }] });
    const repo = m[1]!;
    const key = `${req.method} ${url.pathname}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    const kind = repo.split('/')[0];
    if ((kind === 'tok' || kind === 'private' || kind === 'away') && !bearerOk(repo, req.headers.authorization)) {
      return json(401, { errors: [{ code: 'UNAUTHORIZED' }] }, { 'www-authenticate': `Bearer realm="http://${reg.host}/token",service="fake",scope="repository:${repo}:pull"` });
    }
    if (kind === 'limited' && hits.get(key) === 1) return json(429, { errors: [{ code: 'TOOMANYREQUESTS' }] }, { 'retry-after': '1' });
    if (kind === 'forever') return json(429, { errors: [{ code: 'TOOMANYREQUESTS' }] }, { 'retry-after': '3600' });
    if (kind === 'broken') return json(500, 'internal trouble');
    if (kind === 'slow') return; // never answers; stop() closes the socket
    if (m[2] === 'tags/list') {
      if (kind === 'garbage') return json(200, '<html>captive portal</html>');
      if (kind === 'loop') return json(200, { name: repo, tags: ['1.0.0'] }, { link: `<${url.pathname}${url.search}>; rel="next"` });
      if (kind === 'paged') {
        // Pages of two, whatever n the client asks for, as registries may cap it.
        const start = url.searchParams.has('last') ? PAGED_TAGS.indexOf(url.searchParams.get('last')!) + 1 : 0;
        const page = PAGED_TAGS.slice(start, start + 2);
        const more = start + 2 < PAGED_TAGS.length;
        return json(200, { name: repo, tags: page }, more ? { link: `</v2/${repo}/tags/list?n=2&last=${page.at(-1)}>; rel="next"` } : {});
      }
      // The second page lives on another host: a Link may point anywhere.
      if (kind === 'away') return json(200, { name: repo, tags: ['1.0.0'] }, { link: `<http://${elsewhere.host}/v2/${repo}/tags/list?last=1.0.0>; rel="next"` });
      return json(200, { name: repo, tags: ['1.0.0', '1.0.1', '1.1.0'] });
    }
    if (m[2]!.startsWith('blobs/')) {
      // Blobs served from object storage on another host, as big registries do.
      res.writeHead(307, { location: `http://${elsewhere.host}/storage/${m[2]}` });
      return res.end();
    }
    if (kind === 'away' && req.method === 'GET') return json(200, { schemaVersion: 2, mediaType: MANIFEST_TYPES.dockerV2, config: { digest: fakeDigest('away-config'), size: 2 }, layers: [] }, { 'content-type': MANIFEST_TYPES.dockerV2 });
    const tag = m[2]!.slice('manifests/'.length);
    const digest = kind === 'garbage' ? 'not-a-digest' : fakeDigest(`${repo}:${tag}`);
    res.writeHead(200, { 'content-type': MANIFEST_TYPES.dockerV2, 'docker-content-digest': digest });
    res.end();
  });
});

afterAll(async () => {
  await reg?.stop();
  await elsewhere?.stop();
});

function config(extra: Partial<RegistryConfig> = {}): RegistryConfig {
  return registrySchema.parse({ dockerConfig: join(dir, 'none.json'), certsDir: join(dir, 'certs'), timeoutMs: 400, retries: 1, maxRetryAfterMs: 5000, concurrency: 4, ...extra });
}

const site = (name: string, repo: string, tag: string, policy: Policy = 'digest', runningTag = tag) =>
  siteFor(name, `${reg.host}/${repo}:${tag}`, policy, { id: `sha256:${'1'.repeat(64)}`, repoDigests: [`${reg.host}/${repo}@${fakeDigest(`${repo}:${runningTag}`)}`] });

const byName = (results: UpdateCheck[], name: string) => results.find((r) => r.container === name)!;

describe('a pass against a misbehaving registry', () => {
  let results: UpdateCheck[];

  beforeAll(async () => {
    hits.clear();
    reg.seen.length = 0;
    results = await checkUpdates(
      [
        site('tok-a', 'tok/web', '1.0.0'),
        site('tok-b', 'tok/web', '1.0.0'),
        site('tok-other', 'tok/other', '1.0.0', 'digest', '0.9.0'),
        site('limited', 'limited/web', '1.0.0'),
        site('forever', 'forever/web', '1.0.0'),
        site('broken', 'broken/web', '1.0.0'),
        site('slow', 'slow/web', '1.0.0'),
        site('garbage-digest', 'garbage/web', '1.0.0'),
        site('garbage-tags', 'garbage/web', '1.0.0', 'minor'),
        site('paged', 'paged/web', '1.0.0', 'minor'),
        site('loop', 'loop/web', '1.0.0', 'minor'),
        site('fine', 'plain/web', '1.0.0', 'patch'),
      ],
      { engine: engineWithoutImages(), config: config() },
    );
  });

  it('returns one entry per container, in order', () => {
    expect(results.map((r) => r.container)).toEqual(['tok-a', 'tok-b', 'tok-other', 'limited', 'forever', 'broken', 'slow', 'garbage-digest', 'garbage-tags', 'paged', 'loop', 'fine']);
  });

  it('token auth: one token per scope, one 401 per registry, one HEAD per image and tag', () => {
    expect(byName(results, 'tok-a')).toMatchObject({ status: 'current', candidate: null });
    expect(byName(results, 'tok-b')).toMatchObject({ status: 'current' });
    expect(byName(results, 'tok-other')).toMatchObject({ status: 'update', candidate: { reference: `${reg.host}/tok/other:1.0.0`, digest: fakeDigest('tok/other:1.0.0') } });
    const tokens = reg.seen.filter((s) => s.url.startsWith('/token'));
    // Once the registry asked for a token, every repository gets its token up front: one per scope, never twice.
    const scopes = tokens.map((t) => new URL(t.url, 'http://x').searchParams.get('scope'));
    expect(new Set(scopes).size).toBe(scopes.length);
    expect(scopes).toEqual(expect.arrayContaining(['repository:tok/other:pull', 'repository:tok/web:pull']));
    const tokHeads = reg.seen.filter((s) => s.method === 'HEAD' && s.url.startsWith('/v2/tok/'));
    const unauthenticated = tokHeads.filter((s) => s.authorization === null);
    expect(unauthenticated).toHaveLength(1);
    expect(tokHeads.filter((s) => s.authorization !== null)).toHaveLength(2);
  });

  it('429 with Retry-After: waits as asked, then succeeds', () => {
    expect(byName(results, 'limited')).toMatchObject({ status: 'current' });
    const times = reg.seen.filter((s) => s.url.startsWith('/v2/limited/')).map((s) => s.at);
    expect(times).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
  });

  it('a Retry-After beyond the bound, a 500, a slow registry: each a clear reason', () => {
    expect(byName(results, 'forever')).toMatchObject({ status: 'error', candidate: null, reason: expect.stringMatching(/forever\/web:1\.0\.0: registry .* answered HTTP 429 .* asks to wait 3600 s \(Retry-After\), more than the 5 s refit waits/) });
    expect(byName(results, 'broken').reason).toMatch(/registry .* answered HTTP 500 .* gave up after 2 attempts/);
    expect(reg.seen.filter((s) => s.url.startsWith('/v2/broken/'))).toHaveLength(2);
    expect(byName(results, 'slow')).toMatchObject({ status: 'error', reason: expect.stringMatching(/no answer within 400 ms .*gave up after 2 attempts/) });
  });

  it('malformed answers are named, not crashes', () => {
    expect(byName(results, 'garbage-digest')).toMatchObject({ status: 'error', reason: expect.stringMatching(/sent a Docker-Content-Digest of "not-a-digest"/) });
    expect(byName(results, 'garbage-tags')).toMatchObject({ status: 'error', reason: expect.stringMatching(/sent a tag list that is not a JSON object: <html>captive portal/) });
    expect(byName(results, 'loop')).toMatchObject({ status: 'error', reason: expect.stringMatching(/tag list for .*loop\/web whose pages loop/) });
  });

  it('follows Link pagination to the newest tag in range', () => {
    expect(byName(results, 'paged')).toMatchObject({ status: 'update', candidate: { reference: `${reg.host}/paged/web:1.3.0`, digest: fakeDigest('paged/web:1.3.0') }, reason: '1.3.0 is the newest tag within the minor range after 1.0.0' });
    expect(reg.seen.filter((s) => s.url.startsWith('/v2/paged/web/tags/list'))).toHaveLength(4);
  });

  it('the healthy registry path still works in the same pass', () => {
    expect(byName(results, 'fine')).toMatchObject({ status: 'update', candidate: { reference: `${reg.host}/plain/web:1.0.1` } });
  });
});

describe('credentials for a token service', () => {
  const write = (name: string, auths: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(auths));
    return file;
  };

  it('no credentials, wrong credentials, a credential helper, right credentials', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const run = (dockerConfig: string) => checkUpdates([site('private', 'private/web', '1.0.0')], { engine: engineWithoutImages(), config: config({ dockerConfig }) }).then((r) => r[0]!);
    expect((await run(join(dir, 'missing.json'))).reason).toMatch(new RegExp(`auth failed: registry ${reg.host} needs a login and .*missing\\.json has no credentials for it \\(run \`docker login ${reg.host}\``));
    expect((await run(write('wrong.json', { auths: { [reg.host]: { auth: b64('alice:wrong') } } }))).reason).toMatch(/auth failed: token service http:\/\/127\.0\.0\.1:\d+ rejected the credentials of alice for .*wrong\.json/);
    expect((await run(write('helper.json', { credHelpers: { [reg.host]: 'refit-test-absent' } }))).reason).toMatch(/credential helper docker-credential-refit-test-absent \(credHelpers in .*helper\.json\) is not on PATH/);
    expect(await run(write('right.json', { auths: { [`http://${reg.host}`]: { auth: b64('alice:right') } } }))).toMatchObject({ status: 'current' });
  });

  it('an identity token is traded by the OAuth2 refresh grant, and a wrong one is named as such', async () => {
    const run = (dockerConfig: string) => checkUpdates([site('private', 'private/web', '1.0.0')], { engine: engineWithoutImages(), config: config({ dockerConfig }) }).then((r) => r[0]!);
    tokenPosts.length = 0;
    expect(await run(write('identity.json', { auths: { [reg.host]: { identitytoken: 'refresh-right' } } }))).toMatchObject({ status: 'current' });
    expect(Object.fromEntries(new URLSearchParams(tokenPosts[0]))).toEqual({ grant_type: 'refresh_token', refresh_token: 'refresh-right', client_id: 'refit', scope: 'repository:private/web:pull', service: 'fake' });
    expect((await run(write('identity-wrong.json', { auths: { [reg.host]: { identitytoken: 'refresh-wrong' } } }))).reason).toMatch(/auth failed: token service http:\/\/127\.0\.0\.1:\d+ rejected the identity token for .* from auths\["127\.0\.0\.1:\d+"\] in .*identity-wrong\.json/);
  });
});

describe('credentials stay with the registry that issued them', () => {
  it('a tag list page and a blob on another host are fetched without the bearer token', async () => {
    reg.seen.length = 0;
    elsewhere.seen.length = 0;
    const rules = { include: null, exclude: null, minAge: { ms: 86_400_000, text: '1d' } };
    const s = siteFor('away', `${reg.host}/away/web:1.0.0`, 'minor', { id: `sha256:${'1'.repeat(64)}`, repoDigests: [] }, rules);
    const [r] = await checkUpdates([s], { engine: engineWithoutImages(), config: config() });
    // 1.2.0 came from the other host's page; its creation time from the other host's blob.
    expect(r).toMatchObject({ status: 'update', candidate: { reference: `${reg.host}/away/web:1.2.0` } });
    expect(elsewhere.seen.map((x) => x.url)).toEqual([`/v2/away/web/tags/list?last=1.0.0`, `/storage/blobs/${fakeDigest('away-config')}`]);
    expect(elsewhere.seen.map((x) => x.authorization)).toEqual([null, null]);
    // The registry itself got the token for the same calls.
    expect(reg.seen.filter((x) => x.url.startsWith('/v2/away/web/blobs/')).map((x) => x.authorization)).toEqual(['Bearer tok:repository:away/web:pull']);
  });
});
