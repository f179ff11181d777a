import { describe, expect, it } from 'vitest';
import { parseOldWorkers, parseShowStat, stateOf } from './runtime.js';

// Trimmed from a real HAProxy 2.6 `show stat` answer.
const CSV = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,weight,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,addr
http,FRONTEND,,,3,5,,,OPEN,,0,9,0,1,2,0,
site_shop.web,shop-web-1,0,0,2,4,,9,no check,1,0,6,0,1,2,0,172.20.0.5:80
site_shop.web,shop-web-2,1,1,0,1,,3,DRAIN,1,0,3,0,0,0,0,172.20.0.6:8080
site_shop.web,shop-web-3,0,0,0,0,,0,MAINT,1,,,,,,,172.20.0.7:80
site_shop.web,BACKEND,0,0,2,4,,12,UP,1,0,9,0,1,2,0,

`;

describe('parseShowStat', () => {
  it('gives one row per server with state, in-flight sessions (current + queued) and its responses (5xx apart)', () => {
    expect(parseShowStat(CSV)).toEqual([
      { backend: 'site_shop.web', name: 'shop-web-1', ip: '172.20.0.5', port: 80, state: 'ready', sessions: 2, responses: 9, errors: 2 },
      { backend: 'site_shop.web', name: 'shop-web-2', ip: '172.20.0.6', port: 8080, state: 'drain', sessions: 1, responses: 3, errors: 0 },
      { backend: 'site_shop.web', name: 'shop-web-3', ip: '172.20.0.7', port: 80, state: 'maint', sessions: 0, responses: 0, errors: 0 },
    ]);
  });

  it('an error answer has no rows', () => {
    expect(parseShowStat('No such proxy.\n')).toEqual([]);
  });

  it('reads every status HAProxy uses', () => {
    expect(['UP', 'no check', 'UP 1/3', 'DOWN'].map(stateOf)).toEqual(['ready', 'ready', 'ready', 'ready']);
    expect(['MAINT', 'MAINT (via b/s)', 'DRAIN', 'DRAIN (agent)'].map(stateOf)).toEqual(['maint', 'maint', 'drain', 'drain']);
  });
});

describe('parseOldWorkers', () => {
  it('lists only the workers a reload replaced', () => {
    const showProc = [
      '#<PID>          <type>          <reloads>       <uptime>        <version>      ',
      '6475            master          1 [failed: 0]   0d00h00m02s     2.6.12-1+deb12u4',
      '# workers',
      '6623            worker          0               0d00h00m01s     2.6.12-1+deb12u4',
      '# old workers',
      '6478            worker          1               0d00h00m01s     2.6.12-1+deb12u4',
      '6401            worker          2               0d00h00m09s     2.6.12-1+deb12u4',
      '# programs',
      '',
    ].join('\n');
    expect(parseOldWorkers(showProc)).toEqual([6478, 6401]);
    expect(parseOldWorkers(showProc.replace(/# old workers[\s\S]*?# programs/, '# programs'))).toEqual([]);
  });
});
