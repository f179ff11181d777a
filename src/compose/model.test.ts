import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { describeService } from './model.js';

// What `docker compose config --format json` (v2) and `docker-compose config` (v1) print for the
// same project: a web service on a custom network with a named volume and a read-only config bind.
const v2 = {
  name: 'site',
  networks: { default: { name: 'site_default', ipam: {} }, front: { name: 'site_front', ipam: {}, labels: { x: 'y' } } },
  services: {
    other: { image: 'web:1.0.0', networks: { default: null } },
    web: {
      container_name: 'site-web',
      image: 'web:1.0.0',
      networks: { front: null },
      volumes: [
        { type: 'bind', source: '/srv/site/config', target: '/etc/site', read_only: true, bind: { create_host_path: true } },
        { type: 'volume', source: 'data', target: '/var/data', volume: {} },
        { type: 'volume', target: '/var/cache' },
      ],
    },
  },
  volumes: { data: { name: 'site_data' } },
};

const v1 = parse(`networks:
  front:
    labels:
      x: "y"
services:
  other:
    image: web:1.0.0
  web:
    container_name: site-web
    image: web:1.0.0
    networks:
      front: null
    volumes:
    - /srv/site/config:/etc/site:ro
    - data:/var/data:rw
    - /var/cache
version: '3.9'
volumes:
  data: {}
`) as unknown;

describe('describeService', () => {
  it.each([
    ['v2', v2],
    ['v1', v1],
  ])('reads the same service from the Compose %s model', (_flavor, raw) => {
    expect(describeService(raw, 'web', 'site')).toEqual({
      service: 'web',
      image: 'web:1.0.0',
      containerName: 'site-web',
      publishesPorts: false,
      networkMode: null,
      networks: [{ key: 'front', name: 'site_front' }],
      mounts: [
        { type: 'bind', source: '/srv/site/config', target: '/etc/site', readOnly: true, volumeName: null },
        { type: 'volume', source: 'data', target: '/var/data', readOnly: false, volumeName: 'site_data' },
        { type: 'volume', source: null, target: '/var/cache', readOnly: false, volumeName: null },
      ],
    });
  });

  it('puts a service without networks on the implicit default network (v1 leaves it out)', () => {
    expect(describeService(v1, 'other', 'site').networks).toEqual([{ key: 'default', name: 'site_default' }]);
    expect(describeService(v2, 'other', 'site').networks).toEqual([{ key: 'default', name: 'site_default' }]);
  });

  it('knows the real names of external and explicitly named networks and volumes, including the v1 legacy form', () => {
    const raw = {
      services: { web: { networks: ['proxy', 'legacy', 'named'], volumes: ['shared:/data', 'old:/old'], ports: ['8080:80'] } },
      networks: { proxy: { external: true }, legacy: { external: { name: 'edge' } }, named: { name: 'custom-net' } },
      volumes: { shared: { external: true, name: 'bigdata' }, old: { external: { name: 'olddata' } } },
    };
    const m = describeService(raw, 'web', 'site');
    expect(m.networks).toEqual([
      { key: 'legacy', name: 'edge' },
      { key: 'named', name: 'custom-net' },
      { key: 'proxy', name: 'proxy' },
    ]);
    expect(m.mounts.map((x) => x.volumeName)).toEqual(['bigdata', 'olddata']);
    expect(m.publishesPorts).toBe(true);
  });

  it('reports network_mode and leaves such a service without networks', () => {
    const m = describeService({ services: { web: { network_mode: 'host' } } }, 'web', 'site');
    expect([m.networkMode, m.networks]).toEqual(['host', []]);
  });

  it('names the services it has when the wanted one is missing', () => {
    expect(() => describeService(v2, 'app', 'site')).toThrow('project site has no service "app" (it has: other, web)');
  });
});
