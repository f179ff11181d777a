import { describe, expect, it } from 'vitest';
import { imagesSchema } from '../config/schema.js';
import type { ContainerInfo, ImageInfo } from '../docker/engine.js';
import { classify, imageAllowed } from './discover.js';

const allow = imagesSchema.parse({});

function container(labels: Record<string, string>, extra: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    Id: 'c1',
    Name: '/shop-web-1',
    Image: 'sha256:img',
    State: { Status: 'running' },
    Config: {
      Image: 'registry.example/web:1.4',
      Labels: {
        'com.docker.compose.project': 'shop',
        'com.docker.compose.project.working_dir': '/srv/shop',
        'com.docker.compose.project.config_files': '/srv/shop/compose.yml,/srv/shop/compose.override.yml',
        'com.docker.compose.service': 'web',
        'refit.enable': 'true',
        ...labels,
      },
    },
    Mounts: [{ Type: 'bind', Source: '/srv/shop/conf', Destination: '/etc/site', Mode: '', RW: true, Propagation: 'rprivate' }],
    NetworkSettings: { Networks: { shop_front: { IPAddress: '172.20.0.3' } } },
    ...extra,
  } as unknown as ContainerInfo;
}

const webImage = { Id: 'sha256:img', RepoDigests: ['registry.example/web@sha256:abc'], Config: { Labels: { 'refit.web': 'true' } } } as unknown as ImageInfo;
const otherImage = { Id: 'sha256:other', RepoDigests: [], Config: { Labels: {} } } as unknown as ImageInfo;

const reasonOf = (r: ReturnType<typeof classify>) => ('managed' in r && !r.managed ? r.container.reason : null);

describe('classify', () => {
  it('describes a managed site from its labels, compose labels, mounts and networks', () => {
    const r = classify(container({ 'refit.config': '/etc/site', 'refit.vhosts': 'shop.example' }), webImage, allow, '/refit/health');
    expect(r).toMatchObject({
      managed: true,
      site: {
        name: 'shop-web-1',
        compose: { project: 'shop', workingDir: '/srv/shop', configFiles: ['/srv/shop/compose.yml', '/srv/shop/compose.override.yml'], service: 'web' },
        networks: [{ name: 'shop_front', ip: '172.20.0.3' }],
        image: { reference: 'registry.example/web:1.4', id: 'sha256:img', repoDigests: ['registry.example/web@sha256:abc'] },
        vhosts: ['shop.example'],
        config: { containerPath: '/etc/site', hostPath: '/srv/shop/conf' },
      },
    });
  });

  it('keeps the env files the project was started with (v1 records them relative, v2 absolute) and the tag rules', () => {
    const envFiles = (label: string | undefined) => {
      const r = classify(container(label === undefined ? {} : { 'com.docker.compose.project.environment_file': label }), webImage, allow, '/h');
      return 'managed' in r && r.managed ? r.site.compose.envFiles : null;
    };
    expect(envFiles(undefined)).toEqual([]);
    expect(envFiles('deploy/prod.env')).toEqual(['/srv/shop/deploy/prod.env']);
    expect(envFiles('/srv/shop/a.env,/srv/shop/b.env')).toEqual(['/srv/shop/a.env', '/srv/shop/b.env']);
    const r = classify(container({ 'refit.tag.exclude': '-rc', 'refit.min-age': '12h' }), webImage, allow, '/h');
    expect(r).toMatchObject({ site: { tagRules: { include: null, exclude: '-rc', minAge: { ms: 12 * 3_600_000, text: '12h' } } } });
  });

  it('ignores containers that did not opt in or opted out', () => {
    expect(classify(container({ 'refit.enable': 'false' }), webImage, allow, '/h')).toEqual({ ignored: true });
    const c = container({});
    delete c.Config.Labels['refit.enable'];
    expect(classify(c, webImage, allow, '/h')).toEqual({ ignored: true });
    expect(classify(container({ 'refit.shadow-of': 'shop-web-1' }), webImage, allow, '/h')).toEqual({ ignored: true });
  });

  it('gives a reason for each container it cannot manage', () => {
    expect(reasonOf(classify(container({ 'refit.enable': 'yes' }), webImage, allow, '/h'))).toMatch(/refit\.enable="yes" must be "true"/);
    expect(reasonOf(classify(container({}), otherImage, allow, '/h'))).toMatch(/not on the allowlist/);
    expect(reasonOf(classify(container({}), null, allow, '/h'))).toMatch(/is not on this host/);
    const notCompose = container({});
    delete notCompose.Config.Labels['com.docker.compose.project'];
    expect(reasonOf(classify(notCompose, webImage, allow, '/h'))).toMatch(/not started by Docker Compose/);
    expect(reasonOf(classify(container({ 'refit.config': '/etc/other' }), webImage, allow, '/h'))).toMatch(/no mount at that path/);
    const volume = container({ 'refit.config': '/etc/site' }, { Mounts: [{ Type: 'volume', Source: '/var/lib/docker/volumes/x', Destination: '/etc/site' }] } as Partial<ContainerInfo>);
    expect(reasonOf(classify(volume, webImage, allow, '/h'))).toMatch(/is a volume mount; it must be a bind mount/);
    expect(reasonOf(classify(container({ 'refit.policy': 'newest' }), webImage, allow, '/h'))).toMatch(/refit\.policy/);
  });
});

describe('imageAllowed', () => {
  it('accepts by image label or by reference glob', () => {
    expect(imageAllowed('x/web:1', webImage, allow)).toBe(true);
    const byRef = imagesSchema.parse({ labels: [], references: ['registry.example/web/*', 'mirror.example/**'] });
    expect(imageAllowed('registry.example/web/php:8', otherImage, byRef)).toBe(true);
    expect(imageAllowed('registry.example/web/php/extra:8', otherImage, byRef)).toBe(false);
    expect(imageAllowed('mirror.example/a/b/c:1', otherImage, byRef)).toBe(true);
    expect(imageAllowed('evil.example/web:1', otherImage, byRef)).toBe(false);
  });
});
