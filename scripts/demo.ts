/**
 * The demo: three customer sites behind HAProxy on this host, images from a local registry,
 * one new image version, customer config edits (one conflicting with the new defaults), a
 * constant load, and one maintenance pass with live progress. Ends with the report and the
 * requests served and dropped during the pass. The sites stay up; `--down` removes it all.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectCompose, runCompose } from '../src/compose/cli.js';
import { parseConfigText } from '../src/config/load.js';
import { createProxy } from '../src/proxy/adapter.js';
import { buildWebImage, STOCK_V1, STOCK_V2 } from '../test/support/web-image.js';
import { refitCommand } from '../test/support/refit-cli.js';
import { startWrk } from '../test/support/wrk.js';

const DIR = process.env.REFIT_DEMO_DIR ?? '/var/tmp/refit-demo';
const PORT = Number(process.env.REFIT_DEMO_PORT ?? 8080);
const REGISTRY_PORT = Number(process.env.REFIT_DEMO_REGISTRY_PORT ?? 5959);
const REGISTRY = `127.0.0.1:${REGISTRY_PORT}`;
const IMAGE = (v: string) => `${REGISTRY}/demo/web:${v}`;
const CONFIG = join(DIR, 'refit.yml');
// The demo image's stock configs: v1.1.0 raises workers, adds compression and a new file.
const SITE_CONF_V1 = '# demo site settings\ngreeting=hello\nlanguage=en\ncache=off\n\n# capacity\nworkers=2\ntimeout=30\n';
const DEMO_V1 = { ...STOCK_V1, 'site.conf': SITE_CONF_V1 };
const DEMO_V2 = { ...STOCK_V2, 'site.conf': SITE_CONF_V1.replace('workers=2', 'workers=4') + 'compression=on\n' };
const SITES = [
  // Edits far from the new defaults: both merge cleanly.
  { name: 'bakery', edit: (c: string) => c.replace('greeting=hello', 'greeting=fresh bread daily') },
  { name: 'florist', edit: (c: string) => c.replace('language=en', 'language=fr') },
  // Conflicts with the new defaults (workers 2 -> 4): the customer's 8 wins, and the report says what upstream wanted.
  { name: 'garage', edit: (c: string) => c.replace('workers=2', 'workers=8') },
];
const vhost = (site: string) => `${site}.demo.localhost`;
const say = (line: string) => process.stdout.write(`demo: ${line}\n`);

function configText(): string {
  return [
    `stateDir: ${join(DIR, 'state')}`,
    'health: { attempts: 10, intervalMs: 500 }',
    'proxy:',
    '  type: haproxy',
    '  drainTimeoutMs: 15000',
    `  haproxy: { runDir: ${join(DIR, 'haproxy')}, bind: 127.0.0.1, httpPort: ${PORT}, httpsPort: ${PORT + 363}, certDir: ${join(DIR, 'certs')} }`,
    '',
  ].join('\n');
}

const refit = (args: string[]) => execFileSync(...refitCommand(args), { env: { ...process.env, REFIT_CONFIG: CONFIG }, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

async function down(): Promise<void> {
  const compose = await detectCompose('v2').catch(() => detectCompose());
  for (const s of SITES) {
    const dir = join(DIR, 'sites', s.name);
    if (existsSync(join(dir, 'docker-compose.yml'))) {
      await runCompose(compose, { project: `demo-${s.name}`, workingDir: dir, files: [join(dir, 'docker-compose.yml')] }, ['down', '--timeout', '1']).catch(() => undefined);
    }
  }
  if (existsSync(CONFIG)) await createProxy(parseConfigText(readFileSync(CONFIG, 'utf8')).proxy).stop();
  const pidFile = join(DIR, 'registry.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
    } catch {
      // already gone
    }
  }
  for (const v of ['1.0.0', '1.1.0']) execFileSync('docker', ['rmi', '-f', IMAGE(v)], { stdio: 'ignore' });
  rmSync(DIR, { recursive: true, force: true });
  say('removed the demo sites, proxy, registry and images');
}

async function up(): Promise<void> {
  if (existsSync(DIR)) {
    say(`an earlier demo is still there: removing it first (${DIR})`);
    await down();
  }
  mkdirSync(join(DIR, 'registry'), { recursive: true });
  writeFileSync(CONFIG, configText());

  say(`starting a local registry on ${REGISTRY} (it stays up with the sites; --down stops it)`);
  await startDemoRegistry();

  say('building two versions of the demo web image (FROM scratch, busybox httpd) and pushing them');
  buildWebImage({ tag: IMAGE('1.0.0'), version: '1.0.0', configs: DEMO_V1 });
  buildWebImage({ tag: IMAGE('1.1.0'), version: '1.1.0', configs: DEMO_V2 });
  for (const v of ['1.0.0', '1.1.0']) execFileSync('docker', ['push', '-q', IMAGE(v)], { stdio: 'ignore' });
  execFileSync('docker', ['rmi', IMAGE('1.1.0')], { stdio: 'ignore' });

  const compose = await detectCompose();
  for (const s of SITES) {
    const dir = join(DIR, 'sites', s.name);
    mkdirSync(join(dir, 'conf'), { recursive: true });
    for (const [file, text] of Object.entries(DEMO_V1)) writeFileSync(join(dir, 'conf', file), file === 'site.conf' ? s.edit(text) : text);
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      [
        `# ${s.name}: a customer site (refit keeps this comment and layout when it bumps the tag)`,
        'services:',
        '  web:',
        `    image: ${IMAGE('1.0.0')}`,
        '    labels:',
        '      refit.enable: "true"',
        `      refit.vhosts: "${vhost(s.name)},www.${vhost(s.name)}"`,
        '      refit.config: /etc/site',
        '      refit.policy: minor',
        '    volumes:',
        '      - ./conf:/etc/site',
        '',
      ].join('\n'),
    );
    await runCompose(compose, { project: `demo-${s.name}`, workingDir: dir, files: [join(dir, 'docker-compose.yml')] }, ['up', '-d']);
  }
  say(`three sites up (Compose ${compose.flavor}); routing them through HAProxy on 127.0.0.1:${PORT}`);
  process.stdout.write(refit(['proxy', 'sync']));
  process.stdout.write(refit(['check']));

  say('putting load on all three sites (wrk, kept-alive connections), then running one maintenance pass');
  const loads = SITES.map((s) => startWrk({ url: `http://127.0.0.1:${PORT}`, host: vhost(s.name), connections: 2, durationMs: 300_000 }));
  await Promise.all(loads.map((l) => l.started));
  const code = await new Promise<number>((resolve) => {
    const child = spawn(...refitCommand(['run']), { env: { ...process.env, REFIT_CONFIG: CONFIG }, stdio: 'inherit' });
    child.on('close', (c) => resolve(c ?? 1));
  });
  const results = await Promise.all(loads.map((l) => l.stop()));

  say('requests during the pass, through the proxy:');
  results.forEach((r, i) => {
    const why = [...Object.entries(r.byStatus).map(([status, n]) => `${n} answered ${status}`), ...(r.unanswered ? [`${r.unanswered} unanswered`] : [])];
    say(`  ${vhost(SITES[i]!.name).padEnd(22)} ${r.ok} served, ${r.failed} failed${why.length ? ` (${why.join(', ')})` : ''}; answered by ${Object.keys(r.firstLines).map((l) => l.replace('fixture ', '')).sort().join(' and ')}`);
  });
  say(`the sites stay up: curl -H 'Host: ${vhost('garage')}' http://127.0.0.1:${PORT}/   (npm run demo -- --down removes everything)`);
  say(`see also: REFIT_CONFIG=${CONFIG} npx refit history`);
  process.exitCode = code;
}

/** docker-registry in the background, outliving this process; its pid is kept for --down. */
async function startDemoRegistry(): Promise<void> {
  const config = join(DIR, 'registry.yml');
  writeFileSync(config, `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${join(DIR, 'registry')} } }\nhttp: { addr: ${REGISTRY} }\n`);
  const log = openSync(join(DIR, 'registry.log'), 'a');
  const child = spawn('docker-registry', ['serve', config], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  writeFileSync(join(DIR, 'registry.pid'), String(child.pid));
  for (let i = 0; i < 50; i++) {
    const up = await fetch(`http://${REGISTRY}/v2/`).then((r) => r.ok, () => false);
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the demo registry did not answer on ${REGISTRY}; see ${join(DIR, 'registry.log')}`);
}

if (process.argv.includes('--down')) await down();
else await up();
