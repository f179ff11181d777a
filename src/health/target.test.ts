import { describe, expect, it } from 'vitest';
import type { Site } from '../site/discover.js';
import { healthTargetOf } from './target.js';

const site = (networks: Site['networks'], state = 'running'): Site => ({
  name: 'shop-web-1',
  id: 'abc',
  state,
  compose: { project: 'shop', workingDir: '/srv/shop', configFiles: ['/srv/shop/compose.yml'], service: 'web', version: '2.26.1' },
  networks,
  image: { reference: 'web:1', id: 'sha256:1', repoDigests: [] },
  vhosts: ['shop.example', 'www.shop.example'],
  port: 8080,
  policy: 'digest',
  healthPath: '/_health',
  hooks: { preUpdate: null, postUpdate: null },
  config: null,
});

describe('healthTargetOf', () => {
  it('takes the IP of the first network that has one, and port, vhosts and path from the labels', () => {
    const t = healthTargetOf(
      site([
        { name: 'a_backend', ip: '' },
        { name: 'b_front', ip: '172.20.0.7' },
        { name: 'c_other', ip: '172.21.0.3' },
      ]),
    );
    expect(t).toEqual({ ip: '172.20.0.7', port: 8080, vhosts: ['shop.example', 'www.shop.example'], healthPath: '/_health' });
  });

  it('a container without any IP is an error that says what to do', () => {
    expect(() => healthTargetOf(site([{ name: 'a', ip: '' }], 'exited'))).toThrow(/container shop-web-1 has no IP address on any network \(state: exited\)/);
    expect(() => healthTargetOf(site([]))).toThrow(expect.objectContaining({ code: 'health', hint: expect.stringMatching(/network the reverse proxy is on/) }));
  });
});
