import { describe, expect, it } from 'vitest';
import { renderShadowOverride, type ShadowOverrideInput } from './override.js';
import type { ServiceModel } from './model.js';

const model: ServiceModel = {
  service: 'web',
  image: 'web:1.0.0',
  containerName: 'site-web',
  publishesPorts: false,
  networkMode: null,
  networks: [
    { key: 'default', name: 'site_default' },
    { key: 'front', name: 'proxy-net' },
  ],
  mounts: [
    { type: 'bind', source: '/srv/site/config', target: '/etc/site', readOnly: true, volumeName: null },
    { type: 'volume', source: 'data', target: '/var/data', readOnly: false, volumeName: 'site_data' },
    { type: 'volume', source: 'data', target: '/var/data2', readOnly: false, volumeName: 'site_data' },
    { type: 'volume', source: null, target: '/var/cache', readOnly: false, volumeName: null },
  ],
};

const input: ShadowOverrideInput = {
  flavor: 'v2',
  composeVersion: '2.26.1-4',
  project: 'site',
  model,
  image: 'registry.local:5000/web:1.1.0',
  original: 'site-web',
  config: { containerPath: '/etc/site/', mergedDir: '/var/lib/refit/scratch/7/merged' },
};

describe('renderShadowOverride', () => {
  it('changes image, config mount source, name and label, drops ports (v2), and makes networks and named volumes external', () => {
    expect(renderShadowOverride(input)).toBe(`# Written by refit: the shadow of container site-web. Only what a second copy must change.
services:
  "web":
    image: "registry.local:5000/web:1.1.0"
    container_name: "site-web-refit-shadow"
    labels:
      "refit.shadow-of": "site-web"
    ports: !reset []
    volumes:
      - "/var/lib/refit/scratch/7/merged:/etc/site:ro"
networks:
  "default": !override
    name: "site_default"
    external: true
  "front": !override
    name: "proxy-net"
    external: true
volumes:
  "data": !override
    name: "site_data"
    external: true
`);
  });

  it('for Compose v1 leaves ports alone (it has none), keeps a read-write config mount read-write, and needs no volumes section without named volumes', () => {
    const rw: ServiceModel = { ...model, networks: [{ key: 'default', name: 'site_default' }], mounts: [{ ...model.mounts[0]!, readOnly: false }] };
    expect(renderShadowOverride({ ...input, flavor: 'v1', model: rw })).toBe(`# Written by refit: the shadow of container site-web. Only what a second copy must change.
services:
  "web":
    image: "registry.local:5000/web:1.1.0"
    container_name: "site-web-refit-shadow"
    labels:
      "refit.shadow-of": "site-web"
    volumes:
      - "/var/lib/refit/scratch/7/merged:/etc/site"
networks:
  "default":
    name: "site_default"
    external: true
`);
  });

  it('without a config dir leaves the volumes of the service alone', () => {
    expect(renderShadowOverride({ ...input, config: null })).not.toContain('    volumes:');
  });

  it('refuses, for Compose v1, a service that publishes ports', () => {
    expect(() => renderShadowOverride({ ...input, flavor: 'v1', model: { ...model, publishesPorts: true } })).toThrow(
      'service web of project site publishes host ports, and a Compose v1 override cannot remove them, so its shadow would clash with it',
    );
  });

  it('refuses Compose v2 older than 2.24.4, which lacks !override', () => {
    expect(() => renderShadowOverride({ ...input, composeVersion: 'v2.24.3' })).toThrow('Compose v2.24.3 cannot write a shadow override');
    expect(renderShadowOverride({ ...input, composeVersion: '2.24.4' })).toContain('!override');
    expect(renderShadowOverride({ ...input, flavor: 'v1', composeVersion: '1.29.2' })).not.toContain('!override');
  });

  it('refuses a service with network_mode, and a config path that is not a bind mount', () => {
    expect(() => renderShadowOverride({ ...input, model: { ...model, networkMode: 'host' } })).toThrow('uses network_mode "host"');
    expect(() => renderShadowOverride({ ...input, config: { containerPath: '/var/data', mergedDir: '/m' } })).toThrow('has no bind mount at the config path /var/data');
  });
});
