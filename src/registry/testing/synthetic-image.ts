/**
 * @module registry/testing/synthetic-image
 * Pushes an image straight through the Registry API (no engine), with a creation time of the
 * test's choosing in its config blob: what `refit.min-age` reads. The image has one empty
 * layer and never runs; it exists for update detection.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { MANIFEST_TYPES } from '../client.js';

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function uploadBlob(base: string, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const start = await request(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.body.dump();
  if (start.statusCode !== 202) throw new Error(`registry refused an upload to ${repo}: HTTP ${start.statusCode}`);
  const location = new URL(String(start.headers.location), base);
  location.searchParams.set('digest', digest);
  const put = await request(location.toString(), { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
  await put.body.dump();
  if (put.statusCode !== 201) throw new Error(`registry refused blob ${digest}: HTTP ${put.statusCode}`);
  return digest;
}

/** Pushes `repo:tag` to the plain-HTTP registry at `host`, created at `created`; returns the manifest digest. */
export async function pushSyntheticImage(host: string, repo: string, tag: string, created: Date): Promise<string> {
  const base = `http://${host}`;
  const tar = Buffer.alloc(1024); // an empty tar archive
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: created.toISOString(), config: { Labels: { 'refit.test': 'synthetic', tag } }, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
  const [layerDigest, configDigest] = [await uploadBlob(base, repo, layer), await uploadBlob(base, repo, config)];
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPES.dockerV2,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: layerDigest }],
    }),
  );
  const put = await request(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: manifest, headers: { 'content-type': MANIFEST_TYPES.dockerV2 } });
  await put.body.dump();
  if (put.statusCode !== 201) throw new Error(`registry refused manifest ${repo}:${tag}: HTTP ${put.statusCode}`);
  return sha256(manifest);
}
