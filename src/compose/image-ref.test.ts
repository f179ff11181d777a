import { describe, expect, it } from 'vitest';
import { setServiceImage } from './image-ref.js';

const NEW = 'registry.local:5000/web:1.1.0';
const edit = (text: string, service = 'web') => setServiceImage(text, service, NEW, 'site/compose.yml');

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
  it('returns null when this file does not set the image (another file does), and unchanged when it is already right', () => {
    expect(edit(`services:\n  web:\n    labels: [a=b]\n`)).toBeNull();
    expect(edit(`services:\n  db:\n    image: db:1\n`)).toBeNull();
    const same = `services:\n  web:\n    image: ${NEW}\n`;
    expect(edit(same)).toEqual({ text: same, from: NEW, changed: false });
  });

  it('refuses an interpolated image, naming the file and the expression', () => {
    expect(() => edit('services:\n  web:\n    image: ${IMAGE}\n')).toThrow('the image of service web in site/compose.yml is interpolated ("${IMAGE}"); refit will not rewrite a variable');
    expect(() => edit('services:\n  web:\n    image: "web:${TAG:-1.0}"\n')).toThrow('is interpolated ("web:${TAG:-1.0}")');
  });

  it('refuses block scalars, non-strings, invalid YAML and an invalid new reference', () => {
    expect(() => edit('services:\n  web:\n    image: >-\n      web:1.0.0\n')).toThrow('the image of service web in site/compose.yml is a block scalar');
    expect(() => edit('services:\n  web:\n    image: [a]\n')).toThrow('is not a plain string');
    expect(() => edit('services:\n  web: {image: \n')).toThrow('site/compose.yml is not valid YAML');
    expect(() => setServiceImage('services: {}\n', 'web', 'web:1 # x')).toThrow('"web:1 # x" is not an image reference');
  });
});
