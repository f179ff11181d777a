/**
 * @module merge/read-tree
 * Reads a directory that someone else can write (a customer's config dir; refit runs as
 * root) without being tricked into reading or blocking on anything outside it.
 *
 * Node has no openat(2), so every lookup goes through /proc/self/fd/<dir fd>/<name>: the kernel
 * resolves the descriptor of the directory already opened, not a path the customer could swap
 * for a link mid-walk. Each entry is lstat'ed, then opened with O_NOFOLLOW|O_NONBLOCK and the
 * opened object fstat'ed: it must be what lstat saw (same dev/ino), a regular file with one
 * link, under the size cap. Links are kept as links (their text is copied, never followed);
 * everything else is refused and reported.
 *
 * The calls are synchronous (a thread-pool round trip per call made a 10,000-file tree 15 times
 * slower); the walk yields to the event loop every few hundred entries to stay responsive. An
 * entry the directory lists as a regular file or a directory is opened at once (O_NOFOLLOW) and
 * judged by what was opened (fstat), without an lstat before; anything else, or an entry that
 * turns out to be something else when opened, is looked at with lstat first as described.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { RefitError } from '../errors.js';
import { withDefaults, type TreeLimits } from './limits.js';
import { emptyTree, keptMode, refuseEscapingLinks, setidRefusal, type Tree } from './tree.js';

const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const OPEN_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Reads `root` into memory. The root itself must be a real directory, not a link to one. */
export async function readTreeSafely(root: string, limits: Partial<TreeLimits> = {}): Promise<Tree> {
  const walker = new Walker(withDefaults(limits), root);
  let fd: number;
  // A trailing slash would make the kernel follow a link despite O_NOFOLLOW.
  const path = root.replace(/(.)\/+$/, '$1');
  try {
    fd = openSync(path, OPEN_DIR);
  } catch (err) {
    throw rootError(root, err, lstatOrNull(path));
  }
  try {
    const st = fstatSync(fd);
    walker.tree.root = { mode: keptMode('dir', st.mode), uid: st.uid, gid: st.gid };
    await walker.walk(fd, '', 1);
  } finally {
    closeSync(fd);
  }
  refuseEscapingLinks(walker.tree);
  return walker.tree;
}

class Walker {
  readonly tree = emptyTree();
  private entries = 0;
  private bytes = 0;

  constructor(
    private readonly limits: TreeLimits,
    private readonly root: string,
  ) {}

  async walk(dir: number, rel: string, depth: number): Promise<void> {
    const at = `/proc/self/fd/${dir}`;
    const listed = readdirSync(at, { encoding: 'buffer', withFileTypes: true }).sort((a, b) => Buffer.compare(a.name, b.name));
    for (const dirent of listed) {
      const raw = dirent.name;
      const name = raw.toString('utf8');
      const path = rel ? `${rel}/${name}` : name;
      if (!Buffer.from(name, 'utf8').equals(raw)) {
        this.refuse(path, 'name is not valid UTF-8');
        continue;
      }
      if (++this.entries > this.limits.maxEntries) {
        throw new RefitError('unsafe-path', `${this.root} has more than ${this.limits.maxEntries} entries`, 'a config dir this large is not a config dir; clean it up or raise the limit');
      }
      if (this.entries % 256 === 0) await yieldToEventLoop();
      const child = Buffer.concat([Buffer.from(`${at}/`), raw]);
      // A listed type is a hint only: what is opened decides.
      if (dirent.isFile() && this.listedFile(child, path)) continue;
      if (dirent.isDirectory() && depth <= this.limits.maxDepth && (await this.listedDirectory(child, path, depth))) continue;
      await this.entry(child, path, depth);
    }
  }

  /** A regular file by its listing: opened without following a link and judged by fstat; false when it is not one (look again). */
  private listedFile(at: Buffer, path: string): boolean {
    const fd = openOrNull(at, OPEN_FILE);
    if (fd === null) return false;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return false;
      this.file(fd, st, path);
      return true;
    } finally {
      closeSync(fd);
    }
  }

  /** A directory by its listing, as listedFile. */
  private async listedDirectory(at: Buffer, path: string, depth: number): Promise<boolean> {
    const fd = openOrNull(at, OPEN_DIR);
    if (fd === null) return false;
    try {
      const st = fstatSync(fd);
      if (!st.isDirectory()) return false;
      const setid = setidRefusal('dir', st.mode);
      if (setid) this.refuse(path, setid);
      else {
        this.tree.nodes.set(path, { kind: 'dir', mode: keptMode('dir', st.mode), uid: st.uid, gid: st.gid });
        await this.walk(fd, path, depth + 1);
      }
      return true;
    } finally {
      closeSync(fd);
    }
  }

  /** Reads an opened regular file into the tree, or refuses it. */
  private file(fd: number, st: Stats, path: string): void {
    const setid = setidRefusal('file', st.mode);
    if (setid) return this.refuse(path, setid);
    if (st.nlink !== 1) return this.refuse(path, `has ${st.nlink} hard links; one may be a file outside the config dir`);
    if (st.size > this.limits.maxFileBytes) return this.refuse(path, `file of ${st.size} bytes is over the ${this.limits.maxFileBytes}-byte limit`);
    const data = readCapped(fd, this.limits.maxFileBytes, st.size);
    if (!data) return this.refuse(path, `file grew over the ${this.limits.maxFileBytes}-byte limit while being read`);
    this.bytes += data.length;
    if (this.bytes > this.limits.maxTotalBytes) {
      throw new RefitError('unsafe-path', `${this.root} holds more than ${this.limits.maxTotalBytes} bytes`, 'a config dir this large is not a config dir; clean it up or raise the limit');
    }
    this.tree.nodes.set(path, { kind: 'file', mode: keptMode('file', st.mode), uid: st.uid, gid: st.gid, data });
  }

  private async entry(at: Buffer, path: string, depth: number): Promise<void> {
    let st: Stats;
    try {
      st = lstatSync(at);
    } catch (err) {
      return this.refuse(path, `vanished while being read (${(err as NodeJS.ErrnoException).code})`);
    }
    const owner = { uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) {
      const target = readlinkOrNull(at);
      if (target === null) return this.refuse(path, 'symlink vanished while being read');
      const text = target.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(target)) return this.refuse(path, 'symlink target is not valid UTF-8');
      this.tree.nodes.set(path, { kind: 'symlink', target: text, ...owner });
      return;
    }
    const setid = setidRefusal(st.isDirectory() ? 'dir' : 'file', st.mode);
    if (setid) return this.refuse(path, setid);
    if (st.isDirectory()) {
      if (depth > this.limits.maxDepth) return this.refuse(path, `nested deeper than ${this.limits.maxDepth} directories`);
      const fd = this.openSame(at, OPEN_DIR, st, path);
      if (fd === null) return;
      try {
        this.tree.nodes.set(path, { kind: 'dir', mode: keptMode('dir', st.mode), ...owner });
        await this.walk(fd, path, depth + 1);
      } finally {
        closeSync(fd);
      }
      return;
    }
    if (!st.isFile()) return this.refuse(path, `is a ${kindOf(st)}`);
    if (st.nlink !== 1) return this.refuse(path, `has ${st.nlink} hard links; one may be a file outside the config dir`);
    if (st.size > this.limits.maxFileBytes) return this.refuse(path, `file of ${st.size} bytes is over the ${this.limits.maxFileBytes}-byte limit`);
    const fd = this.openSame(at, OPEN_FILE, st, path);
    if (fd === null) return;
    try {
      this.file(fd, fstatSync(fd), path);
    } finally {
      closeSync(fd);
    }
  }

  /** Opens the entry and checks that what was opened is what lstat saw; null (refused) otherwise. */
  private openSame(at: Buffer, flags: number, seen: Stats, path: string): number | null {
    let fd: number;
    try {
      fd = openSync(at, flags);
    } catch (err) {
      this.refuse(path, `changed while being read (${(err as NodeJS.ErrnoException).code})`);
      return null;
    }
    const st = fstatSync(fd);
    const same = st.dev === seen.dev && st.ino === seen.ino && (st.mode & constants.S_IFMT) === (seen.mode & constants.S_IFMT);
    const why = !same ? 'was replaced while being read' : st.isFile() && st.nlink !== 1 ? `has ${st.nlink} hard links; one may be a file outside the config dir` : setidRefusal(st.isDirectory() ? 'dir' : 'file', st.mode);
    if (why) {
      closeSync(fd);
      this.refuse(path, why);
      return null;
    }
    return fd;
  }

  private refuse(path: string, reason: string): void {
    this.tree.refused.push({ path, reason });
  }
}

/**
 * The whole file, or null if it holds more than `max` bytes (it may grow while we read).
 * Buffers are sized from the size fstat saw: most config files are small.
 */
function readCapped(fd: number, max: number, expected: number): Buffer | null {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const want = total < expected ? expected - total + 1 : 64 * 1024;
    const buf = Buffer.allocUnsafe(Math.min(max + 1 - total, want));
    const bytesRead = readSync(fd, buf, 0, buf.length, null);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    chunks.push(buf.subarray(0, bytesRead));
    total += bytesRead;
    if (total > max) return null;
    // A regular file reads short only at its end.
    if (bytesRead < buf.length) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  }
}

function openOrNull(path: Buffer, flags: number): number | null {
  try {
    return openSync(path, flags);
  } catch {
    return null;
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function readlinkOrNull(path: Buffer): Buffer | null {
  try {
    return readlinkSync(path, { encoding: 'buffer' });
  } catch {
    return null;
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'special file';
}

function rootError(root: string, err: unknown, st: Stats | null): RefitError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new RefitError('usage', `${root} does not exist`, 'give an existing config directory');
  if (code === 'ELOOP' || st?.isSymbolicLink()) return new RefitError('unsafe-path', `${root} is a symlink; refit reads config dirs only at their real path`, `use the path it points to: realpath ${root}`);
  if (code === 'ENOTDIR') return new RefitError('usage', `${root} is not a directory`, 'give a config directory');
  return new RefitError('unsafe-path', `cannot open ${root}: ${(err as Error).message}`, undefined, { cause: err });
}
