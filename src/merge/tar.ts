/**
 * @module merge/tar
 * A small streaming tar reader (ustar, pax extended headers, GNU long names) for the archives
 * the Docker Engine returns. It only decodes; deciding what is safe to keep is image-tree.ts.
 * Entry data is buffered up to a cap; bigger entries are skipped and marked, never held.
 */
import { RefitError } from '../errors.js';

export type TarType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarEntry {
  name: string;
  type: TarType;
  /** The raw type flag, for reports about `other` entries. */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
  /** The content of a regular file; null when it was over `maxEntryBytes` (and skipped). */
  data: Buffer | null;
}

export interface TarReadOptions {
  /** File contents up to this size are returned; bigger ones are skipped with `data: null`. */
  maxEntryBytes: number;
  /** The whole stream may not be longer than this. */
  maxArchiveBytes: number;
}

const BLOCK = 512;
/** pax and GNU long-name records are metadata: a few KiB at most in any honest archive. */
const MAX_META_BYTES = 1024 * 1024;

const TYPES: Record<string, TarType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };

export async function* readTar(source: AsyncIterable<Buffer | Uint8Array | string>, opts: TarReadOptions): AsyncGenerator<TarEntry> {
  const input = new ByteReader(source, opts.maxArchiveBytes);
  let globalPax: Record<string, string> = {};
  let localPax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const header = await input.take(BLOCK);
    if (header.length === 0 || isZero(header)) return; // end-of-archive marker (or a bare EOF)
    if (header.length < BLOCK) throw corrupt(`truncated header at byte ${input.offset - header.length}`);
    verifyChecksum(header, input.offset - BLOCK);
    const typeflag = String.fromCharCode(header[156]!);
    const headerSize = readNumber(header, 124, 12);
    const size = paxNumber(localPax.size ?? globalPax.size) ?? headerSize;
    const padded = Math.ceil(size / BLOCK) * BLOCK;

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_META_BYTES) throw corrupt(`a ${typeflag} metadata record of ${size} bytes is larger than ${MAX_META_BYTES}`);
      const meta = (await input.exact(padded)).subarray(0, size);
      if (typeflag === 'x') localPax = { ...localPax, ...parsePax(meta) };
      else if (typeflag === 'g') globalPax = { ...globalPax, ...parsePax(meta) };
      else if (typeflag === 'L') longName = cString(meta);
      else longLink = cString(meta);
      continue;
    }

    const pax = { ...globalPax, ...localPax };
    const type = TYPES[typeflag] ?? 'other';
    const entry: TarEntry = {
      name: pax.path ?? longName ?? headerName(header),
      type,
      typeflag,
      mode: readNumber(header, 100, 8),
      uid: paxNumber(pax.uid) ?? readNumber(header, 108, 8),
      gid: paxNumber(pax.gid) ?? readNumber(header, 116, 8),
      size,
      linkname: pax.linkpath ?? longLink ?? cString(header.subarray(157, 257)),
      data: null,
    };
    localPax = {};
    longName = longLink = undefined;
    if (type === 'file' && size <= opts.maxEntryBytes) entry.data = (await input.exact(padded)).subarray(0, size);
    else await input.skip(padded);
    yield entry;
  }
}

function headerName(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  // POSIX ustar splits long names into prefix + name; GNU tar uses that area for other fields.
  const posixUstar = header.subarray(257, 263).toString('latin1') === 'ustar\0';
  const prefix = posixUstar ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}

/** Octal text, or GNU base-256 when the high bit of the first byte is set. */
function readNumber(header: Buffer, offset: number, length: number): number {
  const field = header.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    if (field[0]! & 0x40) throw corrupt('negative number in a header field');
    let value = field[0]! & 0x3f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    if (!Number.isSafeInteger(value)) throw corrupt('number in a header field is too large');
    return value;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/g, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt(`bad octal number ${JSON.stringify(text)} in a header field`);
  return parseInt(text, 8);
}

function paxNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw corrupt(`bad number ${JSON.stringify(value)} in a pax header`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw corrupt(`number ${value} in a pax header is too large`);
  return n;
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record. */
export function parsePax(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number(buf.subarray(pos, space).toString('latin1'));
    if (!Number.isInteger(len) || len <= space - pos || pos + len > buf.length) throw corrupt('bad pax record length');
    const record = buf.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

function verifyChecksum(header: Buffer, at: number): void {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  if (readNumber(header, 148, 8) !== sum) throw corrupt(`bad header checksum at byte ${at}`);
}

function isZero(buf: Buffer): boolean {
  return buf.every((b) => b === 0);
}

function corrupt(what: string): RefitError {
  return new RefitError('merge', `the image archive is not a valid tar stream: ${what}`, 'the image or the Docker Engine returned bad data; rebuild or re-pull the image');
}

/** Pulls exact byte counts out of a chunked stream, counting against a total cap. */
class ByteReader {
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  offset = 0;

  constructor(
    source: AsyncIterable<Buffer | Uint8Array | string>,
    private readonly maxBytes: number,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Up to n bytes; fewer only at the end of the stream. */
  async take(n: number): Promise<Buffer> {
    while (this.buffered < n) {
      const next = await this.it.next();
      if (next.done) break;
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(out.length);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    this.offset += out.length;
    if (this.offset > this.maxBytes) {
      throw new RefitError('merge', `the image archive is larger than the ${this.maxBytes}-byte limit`, 'the config path holds far more than configs; check refit.config on the container');
    }
    return out;
  }

  async exact(n: number): Promise<Buffer> {
    const out = await this.take(n);
    if (out.length < n) throw corrupt(`stream ended ${n - out.length} bytes early`);
    return out;
  }

  async skip(n: number): Promise<void> {
    for (let left = n; left > 0; ) {
      const got = await this.exact(Math.min(left, 1024 * 1024));
      left -= got.length;
    }
  }
}
