import { describe, expect, it } from 'vitest';
import { certCovering, certNames, nameCovers } from './certs.js';

describe('certificate names', () => {
  it('come from subjectAltName DNS entries, else the CN', () => {
    expect(certNames('DNS:a.example, IP Address:10.0.0.1, DNS:*.A.example', 'CN=ignored')).toEqual(['a.example', '*.a.example']);
    expect(certNames(undefined, 'C=DE\nCN=b.example')).toEqual(['b.example']);
  });

  it('a wildcard covers exactly one label', () => {
    expect(nameCovers('*.a.example', 'www.a.example')).toBe(true);
    expect(nameCovers('*.a.example', 'a.example')).toBe(false);
    expect(nameCovers('*.a.example', 'x.www.a.example')).toBe(false);
    expect(nameCovers('a.example', 'a.example')).toBe(true);
  });

  it('certCovering prefers the preferred vhost, then any vhost, else none', () => {
    const certs = [
      { path: 'default.pem', names: ['default.example'] },
      { path: 'www.pem', names: ['www.a.example'] },
      { path: 'a.pem', names: ['a.example'] },
    ];
    expect(certCovering(['a.example', 'www.a.example'], certs)?.path).toBe('a.pem');
    expect(certCovering(['x.example', 'www.a.example'], certs)?.path).toBe('www.pem');
    expect(certCovering(['x.example'], certs)).toBeUndefined();
    expect(certCovering(['x.example'], [])).toBeUndefined();
  });
});
