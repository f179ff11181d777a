/**
 * Requests sent and time for one check pass over 300 containers using 20 distinct images,
 * counted at the registry:
 *  - `realRegistry`: Debian's docker-registry on 127.0.0.1 (plain HTTP), 20 repositories
 *    pushed here, requests counted from its access log;
 *  - `realRegistryMinAge`: the same pass again with `refit.min-age: 1d` on every container (the
 *    images are minutes old, so every newer tag is passed over): the config blobs it reads;
 *  - `tokenRegistry`: a node:http registry that demands Bearer tokens (as Docker Hub does),
 *    counting manifest, tag-list, token and 401 requests.
 * Policies rotate digest / patch / minor across the containers of each image.
 * Writes bench/results/check-pass.json.
 *
 *   npx tsx bench/check/check-pass.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { registrySchema } from '../../src/config/schema.js';
import { connectEngine } from '../../src/docker/engine.js';
import { checkUpdates, type UpdateCheck } from '../../src/registry/check.js';
import { MANIFEST_TYPES } from '../../src/registry/client.js';
import { engineWithoutImages, fakeDigest, startFakeRegistry } from '../../src/registry/testing/fake-registry.js';
import { freePort, startRegistry } from '../../src/registry/testing/local-registry.js';
import { siteFor } from '../../src/registry/testing/sites.js';
import type { Site } from '../../src/site/discover.js';
import type { Policy, TagRules } from '../../src/site/labels.js';
import { buildWebImage } from '../../test/support/web-image.js';

const CONTAINERS = 300;
const IMAGES = 20;
const TAGS = ['1.0.0', '1.0.1', '1.1.0', '2.0.0'];
const POLICIES: Policy[] = ['digest', 'patch', 'minor'];
const docker = (...args: string[]) => execFileSync('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

function sites(host: string, image: (repo: string) => { id: string; repoDigests: string[] }, tagRules?: TagRules): Site[] {
  return Array.from({ length: CONTAINERS }, (_, i) => {
    const repo = `bench/app${i % IMAGES}`;
    return siteFor(`site${i}`, `${host}/${repo}:1.0.0`, POLICIES[Math.floor(i / IMAGES) % POLICIES.length]!, image(repo), tagRules);
  });
}

function tally(results: UpdateCheck[]) {
  const by = (s: UpdateCheck['status']) => results.filter((r) => r.status === s).length;
  return { update: by('update'), current: by('current'), error: by('error') };
}

async function realRegistry(tmp: string) {
  const registry = await startRegistry({ storage: join(tmp, 'storage'), port: await freePort() });
  const source = `${registry.host}/bench/app0:1.0.0`;
  try {
    buildWebImage({ tag: source, version: '1.0.0' });
    for (let i = 0; i < IMAGES; i++) {
      for (const tag of TAGS) {
        docker('tag', source, `${registry.host}/bench/app${i}:${tag}`);
        docker('push', '-q', `${registry.host}/bench/app${i}:${tag}`);
      }
    }
    const image = JSON.parse(docker('image', 'inspect', source))[0] as { Id: string; RepoDigests: string[] };
    const config = registrySchema.parse({ dockerConfig: join(tmp, 'none.json'), certsDir: join(tmp, 'certs') });
    const pass = async (tagRules?: TagRules) => {
      const logStart = registry.log().length;
      const t0 = performance.now();
      const results = await checkUpdates(sites(registry.host, () => ({ id: image.Id, repoDigests: image.RepoDigests }), tagRules), { engine: connectEngine('/var/run/docker.sock'), config });
      const ms = performance.now() - t0;
      // Access-log lines look like: 127.0.0.1 - - [date] "HEAD /v2/bench/app3/manifests/1.0.0 HTTP/1.1" 200 ...
      const requests = registry.log().slice(logStart).map((l) => /"(GET|HEAD) (\/v2\/[^ ]*)/.exec(l)).filter((m) => m !== null);
      const count = (re: RegExp) => requests.filter((m) => re.test(`${m[1]} ${m[2]}`)).length;
      return {
        passMs: Math.round(ms),
        results: tally(results),
        requestsAtRegistry: {
          total: requests.length,
          manifestHead: count(/^HEAD \/v2\/.*\/manifests\//),
          manifestGet: count(/^GET \/v2\/.*\/manifests\//),
          configBlobGet: count(/^GET \/v2\/.*\/blobs\//),
          tagList: count(/\/tags\/list/),
          other: count(/^(GET|HEAD) \/v2\/$/),
        },
      };
    };
    return { plain: await pass(), minAge: await pass({ include: null, exclude: null, minAge: { ms: 86_400_000, text: '1d' } }) };
  } finally {
    await registry.stop();
    const refs = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((r) => r.startsWith(`${registry.host}/bench/`));
    if (refs.length) docker('rmi', '-f', ...refs);
  }
}

async function tokenRegistry() {
  const reg = await startFakeRegistry((req, res, url) => {
    if (url.pathname === '/token') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ token: `tok:${url.searchParams.get('scope')}`, expires_in: 300 }));
    }
    const m = /^\/v2\/(.+)\/(manifests\/([^/]+)|tags\/list)$/.exec(url.pathname);
    if (!m) return res.writeHead(404).end();
    if (req.headers.authorization !== `Bearer tok:repository:${m[1]}:pull`) {
      return res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${reg.host}/token",service="bench",scope="repository:${m[1]}:pull"` }).end();
    }
    if (m[3]) return res.writeHead(200, { 'content-type': MANIFEST_TYPES.dockerV2, 'docker-content-digest': fakeDigest(`${m[1]}:${m[3]}`) }).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name: m[1], tags: TAGS }));
  });
  try {
    const config = registrySchema.parse({ dockerConfig: '/nonexistent/config.json', certsDir: '/nonexistent' });
    const t0 = performance.now();
    const results = await checkUpdates(sites(reg.host, (repo) => ({ id: `sha256:${'1'.repeat(64)}`, repoDigests: [`${reg.host}/${repo}@${fakeDigest(`${repo}:1.0.0`)}`] })), { engine: engineWithoutImages(), config });
    const ms = performance.now() - t0;
    const count = (f: (s: (typeof reg.seen)[number]) => boolean) => reg.seen.filter(f).length;
    return {
      passMs: Math.round(ms),
      results: tally(results),
      requestsAtRegistry: {
        total: reg.seen.length,
        token: count((s) => s.url.startsWith('/token')),
        unauthorized401: count((s) => s.url.startsWith('/v2/') && s.authorization === null),
        manifestHead: count((s) => s.method === 'HEAD' && s.url.includes('/manifests/') && s.authorization !== null),
        tagList: count((s) => s.url.includes('/tags/list') && s.authorization !== null),
      },
    };
  } finally {
    await reg.stop();
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'refit-bench-check-'));
try {
  const out = {
    command: 'npx tsx bench/check/check-pass.ts',
    date: new Date().toISOString(),
    node: process.version,
    host: '2 cores, shared with other work: treat times as rough numbers; request counts are exact',
    containers: CONTAINERS,
    distinctImages: IMAGES,
    tagsPerImage: TAGS.length,
    policies: 'digest/patch/minor rotating across the 15 containers of each image; defaults (concurrency 8)',
    ...(await realRegistry(tmp).then((r) => ({ realRegistry: r.plain, realRegistryMinAge: r.minAge }))),
    tokenRegistry: await tokenRegistry(),
  };
  writeFileSync(new URL('../results/check-pass.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
