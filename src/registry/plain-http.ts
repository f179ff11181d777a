/**
 * @module registry/plain-http
 * Where Docker itself would talk plain HTTP to a registry: loopback addresses and the
 * engine's insecure-registries list (`host`, `host:port` or an IPv4 CIDR). Pure.
 */

export function plainHttpAllowed(hostPort: string, insecure: readonly string[]): boolean {
  const host = hostOf(hostPort);
  if (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) return true;
  return insecure.some((entry) => {
    const e = entry.trim().toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');
    if (e.includes('/')) return inCidr(host, e);
    return e === hostPort.toLowerCase() || e === host;
  });
}

function hostOf(hostPort: string): string {
  const lower = hostPort.toLowerCase();
  if (lower.startsWith('[')) return lower.slice(1, lower.indexOf(']'));
  return lower.replace(/:\d+$/, '');
}

function ipv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

function inCidr(host: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const addr = ipv4(host);
  const base = ipv4(net ?? '');
  const bits = Number(bitsText);
  if (addr === null || base === null || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(addr / size) === Math.floor(base / size);
}
