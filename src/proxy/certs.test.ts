import { describe, expect, it } from 'vitest';
import { certFor, certNames, nameCovers } from './certs.js';

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

  it('certFor prefers the preferred vhost, then any vhost, then the default', () => {
    const certs = [
      { path: 'default.pem', names: ['default.example'] },
      { path: 'www.pem', names: ['www.a.example'] },
      { path: 'a.pem', names: ['a.example'] },
    ];
    expect(certFor(['a.example', 'www.a.example'], certs)?.path).toBe('a.pem');
    expect(certFor(['x.example', 'www.a.example'], certs)?.path).toBe('www.pem');
    expect(certFor(['x.example'], certs)?.path).toBe('default.pem');
    expect(certFor(['x.example'], [])).toBeUndefined();
  });
});
