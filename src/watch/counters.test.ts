import { describe, expect, it } from 'vitest';
import { CounterTally } from './counters.js';

const row = (key: string, ip: string, responses: number, errors = 0) => ({ key, ip, port: 80, responses, errors });
const A = { ip: '10.0.0.2', port: 80 };
const B = { ip: '10.0.0.3', port: 80 };

describe('a tally of the proxy counters', () => {
  it('counts what a server answered since the tally began, not before', () => {
    const t = new CounterTally([row('7/s1', A.ip, 1000, 10), row('7/s2', B.ip, 50)]);
    t.add([row('7/s1', A.ip, 1100, 40), row('7/s2', B.ip, 60)]);
    expect(t.servedBy(A)).toEqual({ requests: 100, errors: 30 });
    expect(t.servedBy(B)).toEqual({ requests: 10, errors: 0 });
    expect(t.servedBy({ ip: '10.0.0.9', port: 80 })).toEqual({ requests: 0, errors: 0 });
  });

  it('across a reload: the new worker counts from 0, and the old one keeps what it counted after it is gone', () => {
    const t = new CounterTally([row('7/s1', A.ip, 1000)]);
    t.add([row('7/s1', A.ip, 1020), row('8/s1', A.ip, 5)]);
    t.add([row('8/s1', A.ip, 30)]); // worker 7 has exited
    expect(t.servedBy(A)).toEqual({ requests: 50, errors: 0 });
  });

  it('attributes a slot to the address it has at the last read (a slot keeps one container while a tally runs)', () => {
    const t = new CounterTally([row('7/s1', A.ip, 500)]);
    t.add([row('7/s1', B.ip, 520, 4)]);
    expect(t.servedBy(A)).toEqual({ requests: 0, errors: 0 });
    expect(t.servedBy(B)).toEqual({ requests: 20, errors: 4 });
  });

  it('never counts a counter that went backwards as negative', () => {
    expect(new CounterTally([row('log:1:a', A.ip, 10, 5)]).add([row('log:1:a', A.ip, 3, 1)]).servedBy(A)).toEqual({ requests: 0, errors: 0 });
  });
});
