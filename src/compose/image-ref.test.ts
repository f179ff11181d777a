import { describe, expect, it } from 'vitest';
import { readServiceImage, serviceNames, setServiceImage } from './image-ref.js';

const NEW = 'registry.local:5000/web:1.1.0';
const FILE = 'site/compose.yml';
/** Points the service at NEW from whatever the file holds now. */
function edit(text: string, service = 'web') {
  const from = readServiceImage(text, service, FILE).value;
  return from === null ? null : { from, ...setServiceImage(text, service, { from, to: NEW }, FILE) };
}

describe('setServiceImage keeps every other byte', () => {
  it('plain value with comments, blank lines and odd indentation', () => {
    const text = `# customer site, do not touch
services:

   web:   # the site
      image: registry.local:5000/web:1.0.0   # pinned by refit
      labels: {refit.enable: "true"}
`;
    expect(edit(text)).toEqual({
      from: 'registry.local:5000/web:1.0.0',
      changed: true,
      text: `# customer site, do not touch
services:

   web:   # the site
      image: registry.local:5000/web:1.1.0   # pinned by refit
      labels: {refit.enable: "true"}
`,
    });
  });

  it('double and single quoted values stay quoted the same way', () => {
    expect(edit(`services:\n  web:\n    image: "web:1.0.0"\n`)?.text).toBe(`services:\n  web:\n    image: "${NEW}"\n`);
    expect(edit(`services:\n  web:\n    image: 'web:1.0.0'\n`)?.text).toBe(`services:\n  web:\n    image: '${NEW}'\n`);
  });

  it('flow style', () => {
    expect(edit(`services: {db: {image: "db:1"}, web: {image: web:1.0.0, ports: []}}\n`)?.text).toBe(`services: {db: {image: "db:1"}, web: {image: ${NEW}, ports: []}}\n`);
  });

  it('CRLF line ends and a missing final newline', () => {
    expect(edit('services:\r\n  web:\r\n    image: web:1.0.0\r\n    restart: always')?.text).toBe(`services:\r\n  web:\r\n    image: ${NEW}\r\n    restart: always`);
  });

  it('an anchored value keeps its anchor; an alias is followed to the anchored value', () => {
    const anchored = `services:\n  web:\n    image: &img web:1.0.0\n  worker:\n    image: *img\n`;
    expect(edit(anchored)?.text).toBe(`services:\n  web:\n    image: &img ${NEW}\n  worker:\n    image: *img\n`);
    expect(edit(anchored, 'worker')?.text).toBe(`services:\n  web:\n    image: &img ${NEW}\n  worker:\n    image: *img\n`);
  });

  it('an image that comes from a merge key is edited where it is defined', () => {
    const text = `x-site: &site\n  image: "web:1.0.0" # shared\n  restart: always\nservices:\n  web:\n    <<: *site\n    labels: [a=b]\n`;
    expect(edit(text)?.text).toBe(`x-site: &site\n  image: "${NEW}" # shared\n  restart: always\nservices:\n  web:\n    <<: *site\n    labels: [a=b]\n`);
  });

  it('an own image wins over a merged one', () => {
    const text = `x: &x\n  image: base:1\nservices:\n  web:\n    <<: *x\n    image: web:1.0.0\n`;
    expect(edit(text)?.text).toBe(`x: &x\n  image: base:1\nservices:\n  web:\n    <<: *x\n    image: ${NEW}\n`);
  });
});

describe('setServiceImage decisions', () => {
  it('changes the value only while it holds the expected one', () => {
    const text = 'services:\n  web:\n    image: web:1.0.0\n';
    expect(setServiceImage(text, 'web', { from: 'web:1.0.0', to: 'web:1.1.0' }, FILE)).toEqual({ text: text.replace('1.0.0', '1.1.0'), changed: true });
    expect(setServiceImage(text, 'web', { from: 'web:0.9.0', to: 'web:1.0.0' }, FILE)).toEqual({ text, changed: false });
    expect(() => setServiceImage(text, 'web', { from: 'web:0.9.0', to: 'web:0.9.1' }, FILE)).toThrow('the image of service web in site/compose.yml is "web:1.0.0", not the "web:0.9.0" refit expected');
    expect(() => setServiceImage('services:\n  web:\n    build: .\n', 'web', { from: 'a:1', to: 'a:2' }, FILE)).toThrow('the image of service web in site/compose.yml is no longer set there');
  });

  it('rewrites the literal part of an interpolated value', () => {
    const text = 'services:\n  web:\n    image: ${REGISTRY}/web:1.0.0  # keep\n';
    expect(setServiceImage(text, 'web', { from: '${REGISTRY}/web:1.0.0', to: '${REGISTRY}/web:1.1.0' }, FILE).text).toBe('services:\n  web:\n    image: ${REGISTRY}/web:1.1.0  # keep\n');
  });

  it('refuses block scalars, non-strings, invalid YAML and a value refit never writes', () => {
    const change = { from: 'web:1.0.0', to: NEW };
    expect(() => setServiceImage('services:\n  web:\n    image: >-\n      web:1.0.0\n', 'web', change, FILE)).toThrow('the image of service web in site/compose.yml is a block scalar');
    expect(() => setServiceImage('services:\n  web:\n    image: [a]\n', 'web', change, FILE)).toThrow('is not a plain string');
    expect(() => setServiceImage('services:\n  web: {image: \n', 'web', change, FILE)).toThrow('site/compose.yml is not valid YAML');
    expect(() => setServiceImage('services: {}\n', 'web', { from: 'a', to: 'web:1 # x' })).toThrow('"web:1 # x" is not an image value refit writes');
  });
});

describe('readServiceImage', () => {
  it('says whether the file sets the image, where, and what the service extends', () => {
    const text = 'x: &x\n  image: base:1\nservices:\n  web:\n    <<: *x\n  worker:\n    image: *x\n  app:\n    extends: { file: common.yml, service: base }\n  api:\n    extends: app\n    image: "api:${TAG}"\n';
    expect(readServiceImage(text, 'web', FILE)).toEqual({ defined: true, value: 'base:1', at: text.indexOf('base:1'), problem: null, extends: null });
    expect(readServiceImage(text, 'app', FILE)).toEqual({ defined: true, value: null, at: null, problem: null, extends: { service: 'base', file: 'common.yml' } });
    expect(readServiceImage(text, 'api', FILE)).toMatchObject({ value: 'api:${TAG}', extends: { service: 'app', file: null } });
    expect(readServiceImage(text, 'worker', FILE)).toMatchObject({ value: null, problem: 'the image of service worker in site/compose.yml is not a plain string' });
    expect(readServiceImage(text, 'db', FILE)).toEqual({ defined: false, value: null, at: null, problem: null, extends: null });
    expect(serviceNames(text, FILE)).toEqual(['web', 'worker', 'app', 'api']);
  });
});
