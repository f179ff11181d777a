import { describe, expect, it } from 'vitest';
import { planImageEdit, type ProjectFiles } from './image-source.js';

const P = '/srv/shop';
const project = (files: string[], envFiles: string[] = []): ProjectFiles => ({ workingDir: P, files: files.map((f) => `${P}/${f}`), envFiles });
const reader = (files: Record<string, string>) => (path: string) => files[path.replace(`${P}/`, '')] ?? null;
const change = (from: string, to: string) => ({ from, to });

describe('planImageEdit', () => {
  it('a literal image: the compose value of the last file that sets it', () => {
    const files = { 'compose.yml': 'services:\n  web:\n    image: reg/web:1.0.0\n', 'prod.yml': 'services:\n  web:\n    image: "reg/web:1.0.0-prod"\n', 'labels.yml': 'services:\n  web:\n    labels: [a=b]\n' };
    expect(planImageEdit(project(['compose.yml', 'prod.yml', 'labels.yml']), 'web', change('reg/web:1.0.0-prod', 'reg/web:1.1.0-prod'), reader(files))).toEqual({
      ok: true,
      edit: { kind: 'compose', file: `${P}/prod.yml`, service: 'web', from: 'reg/web:1.0.0-prod', to: 'reg/web:1.1.0-prod' },
    });
  });

  it('${TAG} defined in .env (or the --env-file): that definition', () => {
    const files = { 'compose.yml': 'services:\n  web:\n    image: ${REGISTRY}/web:${WEB_TAG}\n', '.env': 'REGISTRY=reg:5000\nWEB_TAG=1.0.0\n', 'deploy/prod.env': 'REGISTRY=reg:5000\nWEB_TAG="2.0.0"\n' };
    expect(planImageEdit(project(['compose.yml']), 'web', change('reg:5000/web:1.0.0', 'reg:5000/web:1.1.0'), reader(files))).toEqual({
      ok: true,
      edit: { kind: 'env', file: `${P}/.env`, variable: 'WEB_TAG', from: '1.0.0', to: '1.1.0' },
    });
    expect(planImageEdit(project(['compose.yml'], [`${P}/deploy/prod.env`]), 'web', change('reg:5000/web:2.0.0', 'reg:5000/web:2.1.0'), reader(files))).toMatchObject({
      ok: true,
      edit: { kind: 'env', file: `${P}/deploy/prod.env`, variable: 'WEB_TAG', from: '2.0.0', to: '2.1.0' },
    });
  });

  it('a whole image in a variable, and a variable registry with a literal tag', () => {
    const files = { 'a.yml': 'services:\n  web:\n    image: ${IMAGE}\n', 'b.yml': 'services:\n  web:\n    image: ${REGISTRY}/web:1.0.0\n', '.env': 'IMAGE=reg/web:1.0.0\nREGISTRY=reg\n' };
    expect(planImageEdit(project(['a.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.2.0'), reader(files))).toMatchObject({ edit: { kind: 'env', variable: 'IMAGE', from: 'reg/web:1.0.0', to: 'reg/web:1.2.0' } });
    expect(planImageEdit(project(['b.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.2.0'), reader(files))).toMatchObject({ edit: { kind: 'compose', from: '${REGISTRY}/web:1.0.0', to: '${REGISTRY}/web:1.2.0' } });
  });

  it('a tag that is not defined in the env file is refused, naming the variable and the file', () => {
    const files = { 'compose.yml': 'services:\n  web:\n    image: reg/web:${WEB_TAG}\n', 'dflt.yml': 'services:\n  web:\n    image: reg/web:${WEB_TAG:-1.0.0}\n', '.env': 'OTHER=1\n' };
    expect(planImageEdit(project(['compose.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.1.0'), reader(files))).toEqual({
      ok: false,
      reason: `the image of service web in ${P}/compose.yml is "reg/web:\${WEB_TAG}", and WEB_TAG is not defined in the project's env file ${P}/.env`,
    });
    expect(planImageEdit(project(['dflt.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.1.0'), reader(files))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("WEB_TAG is not defined in the project's env file /srv/shop/.env (the compose file's default is used)"),
    });
  });

  it('a tag split over pieces, a value that does not match the container, a missing --env-file: reasons', () => {
    const files = { 'split.yml': 'services:\n  web:\n    image: reg/web:${MAJOR}.${MINOR}\n', 'lit.yml': 'services:\n  web:\n    image: reg/web:0.9.0\n', '.env': 'MAJOR=1\nMINOR=0\n' };
    expect(planImageEdit(project(['split.yml']), 'web', change('reg/web:1.0', 'reg/web:1.1'), reader(files))).toMatchObject({ ok: false, reason: expect.stringContaining('its tag is made of several pieces') });
    expect(planImageEdit(project(['lit.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.1.0'), reader(files))).toMatchObject({ ok: false, reason: expect.stringContaining('which names reg/web:0.9.0, but the container runs reg/web:1.0.0') });
    expect(planImageEdit(project(['lit.yml'], [`${P}/gone.env`]), 'web', change('reg/web:0.9.0', 'reg/web:1.0.0'), reader(files))).toMatchObject({ ok: false, reason: `env file ${P}/gone.env, which the project was started with, does not exist` });
  });

  it('extends: edited where the image is defined, unless another service shares it or it lies outside the project', () => {
    const files = {
      'compose.yml': 'services:\n  web:\n    extends: { file: common.yml, service: app }\n  admin:\n    extends: { file: common.yml, service: app2 }\n',
      'common.yml': 'services:\n  app:\n    image: reg/web:1.0.0\n  app2:\n    image: reg/admin:1.0.0\n',
      'shared.yml': 'services:\n  web:\n    extends: base\n  base:\n    image: reg/web:1.0.0\n',
      'anchored.yml': 'services:\n  web:\n    image: &img reg/web:1.0.0\n  worker:\n    image: *img\n',
      'far.yml': 'services:\n  web:\n    extends: { file: ../common/base.yml, service: app }\n',
    };
    const read = (path: string) => (path === '/srv/common/base.yml' ? 'services:\n  app:\n    image: reg/web:1.0.0\n' : reader(files)(path));
    expect(planImageEdit(project(['compose.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.1.0'), read)).toEqual({
      ok: true,
      edit: { kind: 'compose', file: `${P}/common.yml`, service: 'app', from: 'reg/web:1.0.0', to: 'reg/web:1.1.0' },
    });
    expect(planImageEdit(project(['shared.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.1.0'), read)).toMatchObject({ ok: false, reason: `the image of service web is set in ${P}/shared.yml together with service base's, so changing it would move base too` });
    expect(planImageEdit(project(['anchored.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.1.0'), read)).toMatchObject({ ok: false, reason: expect.stringContaining('together with service worker') });
    expect(planImageEdit(project(['far.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.1.0'), read)).toMatchObject({ ok: false, reason: `the image of service web comes through \`extends\` from /srv/common/base.yml, outside the project dir ${P}` });
  });

  it('same tag: nothing to edit; no file sets the image: a reason', () => {
    const files = { 'compose.yml': 'services:\n  web:\n    image: reg/web:1.0.0\n', 'built.yml': 'services:\n  web:\n    build: .\n' };
    expect(planImageEdit(project(['compose.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.0.0'), reader(files))).toEqual({ ok: true, edit: null });
    // Even where a tag change would be refused: a digest update writes nothing.
    const interpolated = { 'compose.yml': 'services:\n  web:\n    image: reg/web:${UNDEFINED}\n' };
    expect(planImageEdit(project(['compose.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.0.0'), reader(interpolated))).toEqual({ ok: true, edit: null });
    expect(planImageEdit(project(['built.yml']), 'web', change('reg/web:1.0.0', 'reg/web:1.1.0'), reader(files))).toMatchObject({ ok: false, reason: expect.stringContaining('no compose file of the project sets the image of service web') });
  });
});
