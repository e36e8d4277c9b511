/**
 * The one place kms-byok opens a file it writes (docs/architecture.md, "Files that cannot be
 * redirected"). Every file is either created exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600),
 * replaced by renaming an exclusively created temp file over it, or — for append-only files (the
 * transcript, a fleet run's state) — opened with `O_APPEND|O_NOFOLLOW` and checked with `fstat` to be
 * a regular file owned by this process's user. A symlink where a file should be is refused with
 * ERR_UNSAFE_PATH and its target is never opened for writing.
 *
 * The escrow directory's own rules (owner, mode, parents) are {@link assertDirectorySafe}.
 */
import { closeSync, constants as C, fsync as fsyncCb, lstatSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { KmsByokError } from '../core/errors.js';

const NOFOLLOW = C.O_NOFOLLOW ?? 0;
const CREATE_EXCL = C.O_WRONLY | C.O_CREAT | C.O_EXCL | NOFOLLOW;

function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function euid(): number | undefined {
  return typeof process.geteuid === 'function' ? process.geteuid() : undefined;
}

/** ERR_UNSAFE_PATH: `path` is a symlink (or not a regular file) where kms-byok writes a file. */
export function unsafePath(path: string, what: string, why = 'is a symbolic link'): KmsByokError {
  return new KmsByokError('ERR_UNSAFE_PATH', `refusing to write ${what} ${path}: it ${why}`, {
    hint: `kms-byok never writes through a link or into a file it does not own: remove ${path} (after checking who planted it), or give another path; its target was not touched`,
  });
}

/**
 * Whether `path` exists as a symbolic link (lstat; ENOENT is false). Synchronous inside: an lstat
 * costs microseconds, a trip through the thread pool ten times more (docs/fleet.md, "CPU per key").
 */
export async function isSymlink(path: string): Promise<boolean> {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Maps an open() failure caused by a link (ELOOP from O_NOFOLLOW, EEXIST on a planted link) to ERR_UNSAFE_PATH. */
async function explainOpenFailure(path: string, what: string, e: unknown): Promise<unknown> {
  const code = codeOf(e);
  if (code === 'ELOOP' || ((code === 'EEXIST' || code === 'EMLINK') && (await isSymlink(path)))) return unsafePath(path, what);
  return e;
}

async function writeAll(h: fs.FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await h.write(bytes, off, bytes.length - off, null);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    off += bytesWritten;
  }
}

/** fsync(2) of an open descriptor, through the thread pool (it waits for the disk). */
function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsyncCb(fd, (e) => (e ? reject(e) : resolve())));
}

/** fsyncs a directory now, where the platform allows it. */
async function syncDirectoryNow(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    await fsyncFd(fd);
  } catch {
    /* some platforms cannot fsync a directory; the files themselves are synced */
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

/** Removes a file this module created and failed to finish; one already gone is fine. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* nothing to remove */
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed, or the close failed after a failed write: the caller reports the first error */
  }
}

/** Callers waiting for the next fsync of a directory whose fsync is in flight, by directory. */
const directorySyncs = new Map<string, (() => void)[]>();

/**
 * fsyncs a directory where the platform allows it. Contract: it returns only after an fsync of `dir`
 * that began after the call — so every rename the caller made before calling is durable. Concurrent
 * callers share fsyncs (group commit): a call made while one is in flight waits for the next, which
 * serves every call queued meanwhile (a fleet run replaces dozens of journals in one directory at
 * once: docs/fleet.md, "CPU per key").
 */
export function syncDirectory(dir: string): Promise<void> {
  const queued = directorySyncs.get(dir);
  if (queued) return new Promise((resolve) => queued.push(resolve));
  const waiting: (() => void)[] = [];
  directorySyncs.set(dir, waiting);
  const first = syncDirectoryNow(dir);
  void first.then(async () => {
    while (waiting.length > 0) {
      const batch = waiting.splice(0);
      await syncDirectoryNow(dir);
      for (const resolve of batch) resolve();
    }
    directorySyncs.delete(dir);
  });
  return first;
}

/**
 * Opens a NEW file exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600). EEXIST when anything is
 * there — a file, or a link (ERR_UNSAFE_PATH, so the link's target is never touched).
 */
export async function openExclusive(path: string, what: string, mode = 0o600): Promise<fs.FileHandle> {
  try {
    return await fs.open(path, CREATE_EXCL, mode);
  } catch (e) {
    throw await explainOpenFailure(path, what, e);
  }
}

/**
 * Creates `path` with `bytes` exclusively (0600), fsynced. Removed again if writing fails.
 * Open, write and close are synchronous (microseconds for a small file; a trip through the thread
 * pool costs ten times the CPU: docs/fleet.md, "CPU per key"); only the fsync, which waits for the
 * disk, leaves the event loop.
 */
export async function createExclusive(path: string, bytes: Uint8Array | string, what: string, mode = 0o600): Promise<void> {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  let fd: number;
  try {
    fd = openSync(path, CREATE_EXCL, mode);
  } catch (e) {
    throw await explainOpenFailure(path, what, e);
  }
  let open = true;
  try {
    for (let off = 0; off < data.length; ) {
      const written = writeSync(fd, data, off, data.length - off);
      if (written <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      off += written;
    }
    await fsyncFd(fd);
    open = false;
    closeSync(fd);
  } catch (e) {
    if (open) closeQuietly(fd);
    removeQuietly(path);
    throw e;
  }
}

/** A temp name beside `path` (`.<name>.<12 hex>.tmp`), in the same directory so rename is atomic. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Replaces `path` atomically: writes an exclusively created temp file beside it (0600), fsyncs it,
 * renames it over `path` and fsyncs the directory. A symlink at `path` is refused (rename would
 * replace the link, not its target, but a link there means someone planted it).
 */
export async function replaceAtomic(path: string, bytes: Uint8Array | string, what: string): Promise<void> {
  if (await isSymlink(path)) throw unsafePath(path, what);
  const tmp = tempPathFor(path);
  await createExclusive(tmp, bytes, what);
  try {
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw e;
  }
  await syncDirectory(dirname(path));
}

/**
 * Opens an append-only file (`O_RDWR|O_APPEND|O_NOFOLLOW`, created 0600 when `create` and missing)
 * and checks with fstat that it is a regular file owned by this process's user. ERR_UNSAFE_PATH for
 * a link (dangling or not), a non-regular file, or a file owned by someone else. The handle can read
 * the current content (positional reads) and appends wherever the end is.
 */
export async function openAppendOnly(path: string, what: string, options: { create: boolean }): Promise<fs.FileHandle> {
  const flags = C.O_RDWR | C.O_APPEND | NOFOLLOW | (options.create ? C.O_CREAT : 0);
  let h: fs.FileHandle;
  try {
    h = await fs.open(path, flags, 0o600);
  } catch (e) {
    throw await explainOpenFailure(path, what, e);
  }
  try {
    const st = await h.stat();
    const me = euid();
    if (!st.isFile()) throw unsafePath(path, what, 'is not a regular file');
    if (me !== undefined && st.uid !== me) throw unsafePath(path, what, `belongs to uid ${st.uid}, not to you (uid ${me})`);
    if (st.nlink > 1) throw unsafePath(path, what, `has ${st.nlink} hard links (another name could be watching or changing it)`);
  } catch (e) {
    await h.close().catch(() => undefined);
    throw e;
  }
  return h;
}

/** Reads the whole content of an open handle from offset 0 (the handle may be in append mode). */
export async function readAllFrom(h: fs.FileHandle): Promise<Buffer> {
  const size = (await h.stat()).size;
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const { bytesRead } = await h.read(buf, off, size - off, off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

/** Appends `text` through an append-only handle and fsyncs it. */
export async function appendSynced(h: fs.FileHandle, text: string): Promise<void> {
  await writeAll(h, Buffer.from(text, 'utf8'));
  await h.sync();
}

// ---------------------------------------------------------------------------------------------
// Exclusive locks (the transcript): a lock file created with O_EXCL beside the locked file.

/** What a lock file holds: who holds it. */
interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === 'EPERM';
  }
}

export interface LockOptions {
  /** Total time to wait for a held lock before giving up (default 30 s). */
  waitMs?: number;
  /** Told when a stale lock (its pid dead on this host) is broken. */
  onNote?: (text: string) => void;
}

/**
 * Runs `fn` while holding `<path>.lock`, a file created exclusively (O_EXCL|O_NOFOLLOW) that records
 * pid and host. A held lock is retried with backoff (5 ms doubling to 250 ms) for `waitMs`; a lock
 * whose pid is dead on this host is stale and is broken with a note; one from another host is never
 * broken automatically (ERR_LOCKED names it). The lock is removed when `fn` settles.
 */
export async function withFileLock<T>(path: string, what: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = `${path}.lock`;
  const host = hostname();
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  const mine: LockOwner = { pid: process.pid, host, since: new Date().toISOString() };
  const token = `${JSON.stringify(mine)}\n${randomBytes(8).toString('hex')}\n`;
  for (let delay = 5; ; delay = Math.min(delay * 2, 250)) {
    try {
      await createExclusive(lock, token, `the lock of ${what}`);
      break;
    } catch (e) {
      if (e instanceof KmsByokError) throw e; // a link planted as the lock
      if (codeOf(e) !== 'EEXIST') throw e;
    }
    const holder = await readLockOwner(lock);
    if (holder !== undefined && holder.host === host && holder.pid !== process.pid && !pidAlive(holder.pid)) {
      // Stale: the process that held it is gone. Remove it only if it is still the same stale lock.
      const again = await readLockOwner(lock);
      if (again !== undefined && again.pid === holder.pid && again.since === holder.since) {
        await fs.unlink(lock).catch(() => undefined);
        options.onNote?.(`broke a stale lock on ${what}: ${lock} was held by pid ${holder.pid} on ${host} since ${holder.since}, which is no longer running`);
        continue;
      }
    }
    if (Date.now() > deadline) {
      throw new KmsByokError('ERR_LOCKED', `${what} is locked by ${holder ? `pid ${holder.pid} on ${holder.host} since ${holder.since}` : 'another process'} (${lock})`, {
        hint: `wait for that ceremony to finish; if no kms-byok is running there, remove ${lock}`,
      });
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  try {
    return await fn();
  } finally {
    // Remove only our own lock.
    const text = await fs.readFile(lock, 'utf8').catch(() => undefined);
    if (text === token) await fs.unlink(lock).catch(() => undefined);
  }
}

async function readLockOwner(lock: string): Promise<LockOwner | undefined> {
  try {
    if ((await fs.lstat(lock)).isSymbolicLink()) throw unsafePath(lock, 'a lock file');
    const first = (await fs.readFile(lock, 'utf8')).split('\n')[0]!;
    const o = JSON.parse(first) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.since === 'string' ? o : undefined;
  } catch (e) {
    if (e instanceof KmsByokError) throw e;
    return undefined; // being written or removed right now: retry
  }
}

// ---------------------------------------------------------------------------------------------
// Directory ownership (the escrow directory).

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(euid() ?? '');
  }
}

/**
 * Refuses (ERR_ESCROW_DIR_UNSAFE, exit 2) an escrow directory that someone other than the operator
 * could change: the directory and each of its parents must be owned by the process's user or root and
 * not writable by group or others — except that a parent owned by root with the sticky bit (like
 * `/tmp`) is safe for entries we own. The hint is the exact `chmod`/`chown` that fixes it. Paths that
 * do not exist yet are skipped (they will be created 0700). No-op where there are no uids (Windows).
 */
export function assertDirectorySafe(dir: string): void {
  const me = euid();
  if (me === undefined) return;
  const abs = realPrefix(resolve(dir));
  const chain: string[] = [];
  for (let cur = abs; ; cur = dirname(cur)) {
    chain.push(cur);
    if (dirname(cur) === cur) break;
  }
  for (const p of chain) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      if (codeOf(e) === 'ENOENT' || codeOf(e) === 'ENOTDIR') continue;
      throw e;
    }
    const isTheDir = p === abs;
    const what = isTheDir ? `escrow directory ${p}` : `${p} (a parent of escrow directory ${abs})`;
    if (st.uid !== me && st.uid !== 0) {
      throw new KmsByokError('ERR_ESCROW_DIR_UNSAFE', `${what} belongs to uid ${st.uid}, not to you (uid ${me}) or root: its owner could replace or delete your escrows`, {
        hint: `chown ${operatorName()} ${p}   (or keep the escrow directory under directories only you and root can change)`,
      });
    }
    const groupOrOtherWritable = (st.mode & 0o022) !== 0;
    const stickyRoot = (st.mode & 0o1000) !== 0 && st.uid === 0;
    if (groupOrOtherWritable && (isTheDir || !stickyRoot)) {
      throw new KmsByokError('ERR_ESCROW_DIR_UNSAFE', `${what} is writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${octal(st.mode)}): others could plant or replace escrow files`, {
        hint: isTheDir ? `chmod 700 ${p}` : `chmod go-w ${p}`,
      });
    }
  }
}

/**
 * `path` with its longest existing prefix resolved through links (realpath), so the ownership walk
 * checks the directories the files really land in, not the names of links to them.
 */
function realPrefix(path: string): string {
  const rest: string[] = [];
  for (let cur = path; ; cur = dirname(cur)) {
    try {
      return join(realpathSync(cur), ...rest.reverse());
    } catch {
      if (dirname(cur) === cur) return path;
      rest.push(basename(cur));
    }
  }
}
