/**
 * The escrow's only filesystem edge. Sealed files are created and never replaced: each is written
 * create-only (`wx`, mode 0600) under a temporary name in the escrow directory, fsynced, then
 * hard-linked to its final name (link fails rather than replace an existing file), and the directory
 * is fsynced. The sidecar is written last, so a version whose sidecar exists is complete; later
 * sidecar updates replace it atomically (temp + fsync + rename + directory fsync).
 *
 * Every call takes an optional {@link EscrowFs} (defaults to {@link nodeEscrowFs}: `node:fs/promises`
 * for every write, synchronous `node:fs` for whole-file reads of regular files) so tests can inject
 * ENOSPC, EACCES and crashes.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import { type EscrowSidecar, parseEscrowFileName, parseSidecar, serializeSidecar, sha256Hex, sidecarFileName } from './format.js';
import type { ImportFact, LoadedEscrow, SealedEscrow } from './vault.js';
// The vault's rules (sidecar updates, imports) and the age edge (identity files) are imported where
// used, not here: reading sidecars (status) then loads the format and this file only, no vault,
// share-splitting or age code (docs/architecture.md, "The build").
const vaultRules = () => import('./vault.js');
import { assertDirectorySafe, isSymlink, unsafePath } from '../records/safe-files.js';

/** The file handle operations the store uses (a subset of `fs/promises` FileHandle). */
export interface EscrowFileHandle {
  write(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The filesystem operations the store uses (a subset of `node:fs/promises`): the test seam. */
export interface EscrowFs {
  mkdir(path: string, options: { recursive?: boolean; mode: number }): Promise<string | undefined>;
  stat(path: string): Promise<{ mode: number; isDirectory(): boolean; uid?: number; gid?: number }>;
  open(path: string, flags: string, mode?: number): Promise<EscrowFileHandle>;
  link(existingPath: string, newPath: string): Promise<void>;
  rename(oldPath: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  readdir(path: string): Promise<string[]>;
}

/**
 * The real filesystem. Whole-file reads of regular files are synchronous: the files are small, and a
 * read served from the page cache costs ~20 µs of CPU against ~150 µs through the thread pool's
 * promises (a fleet re-import reads a sidecar and a sealed file per key: docs/fleet.md, "CPU per key").
 */
export const nodeEscrowFs: EscrowFs = {
  mkdir: (p, o) => nodeFs.mkdir(p, o),
  stat: (p) => nodeFs.stat(p),
  open: (p, f, m) => nodeFs.open(p, f, m),
  link: (a, b) => nodeFs.link(a, b),
  rename: (a, b) => nodeFs.rename(a, b),
  unlink: (p) => nodeFs.unlink(p),
  // A FIFO or device (`--identity <(…)`) is read through the thread pool: a synchronous read of it
  // would hold the event loop, and Ctrl-C with it, until its writer closes.
  readFile: async (p) => (statSync(p).isFile() ? readFileSync(p) : nodeFs.readFile(p)),
  readdir: (p) => nodeFs.readdir(p),
};

/** Options of every file-store call. */
export interface FileStoreOptions {
  fs?: EscrowFs;
}

/**
 * How a secret input file (identity, passphrase) that group or others may read or write is treated:
 * refused with ERR_INSECURE_FILE (the default, exit 2), or — in the wizard — reported to `warn` and
 * read anyway.
 */
export interface InputFileOptions extends FileStoreOptions {
  onInsecure?: (warning: string) => void;
}

/** What {@link writeSealedEscrow} wrote (the ceremony's `WrittenEscrow`). */
export interface WrittenEscrow {
  /** The main sealed file (`<keyId>.v<N>.age`); the sidecar for an XOR escrow, which has none. */
  path: string;
  sidecarPath: string;
  files: { path: string; sha256: string; role: string; holder?: string }[];
}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

function describe(e: unknown): string {
  const code = errCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  // Node's messages repeat the path after a comma ("ENOENT: no such file or directory, open '…'").
  return code === undefined ? msg : msg.startsWith(`${code}:`) ? msg.split(',')[0]! : code;
}

function unwritable(dir: string, e: unknown, what: string): KmsByokError {
  const code = errCode(e);
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'free space on that filesystem, or choose another --escrow-dir'
      : code === 'EROFS'
        ? 'the filesystem is read-only: choose another --escrow-dir'
        : `check that you own ${dir} and may write to it (chmod 700), or choose another --escrow-dir`;
  return new KmsByokError('ERR_ESCROW_DIR_UNWRITABLE', `cannot ${what} in escrow directory ${dir} (${describe(e)})`, { hint, cause: e });
}

async function writeAll(handle: EscrowFileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, null);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    offset += bytesWritten;
  }
}

async function fsyncDir(fs: EscrowFs, dir: string): Promise<void> {
  let h: EscrowFileHandle | undefined;
  try {
    h = await fs.open(dir, 'r');
    await h.sync();
  } catch (e) {
    // Some platforms cannot fsync a directory (Windows: EPERM/EISDIR); the data files are synced.
    const code = errCode(e);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'ENOTSUP') throw e;
  } finally {
    await h?.close().catch(() => undefined);
  }
}

async function removeQuietly(fs: EscrowFs, path: string): Promise<void> {
  await fs.unlink(path).catch(() => undefined);
}

function tempName(dir: string, finalName: string): string {
  return join(dir, `.${finalName}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes `bytes` to a new temp file in `dir` (wx, 0600) and fsyncs it. Returns the temp path. */
async function writeTemp(fs: EscrowFs, dir: string, finalName: string, bytes: Uint8Array): Promise<string> {
  const tmp = tempName(dir, finalName);
  const h = await fs.open(tmp, 'wx', 0o600);
  try {
    await writeAll(h, bytes);
    await h.sync();
  } catch (e) {
    await h.close().catch(() => undefined);
    await removeQuietly(fs, tmp);
    throw e;
  }
  try {
    await h.close();
  } catch (e) {
    await removeQuietly(fs, tmp);
    throw e;
  }
  return tmp;
}

/**
 * Publishes a fully written temp file under `finalPath` without ever replacing an existing file:
 * `link` (atomic, fails with EEXIST). Where hard links are unsupported it falls back to a
 * create-only copy (`wx`), removed again if it fails; a crash during that copy can leave a partial
 * file, which the sidecar's SHA-256 exposes.
 */
async function publishCreateOnly(fs: EscrowFs, tmp: string, finalPath: string, bytes: Uint8Array): Promise<void> {
  try {
    await fs.link(tmp, finalPath);
    return;
  } catch (e) {
    const code = errCode(e);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw e;
  }
  const h = await fs.open(finalPath, 'wx', 0o600);
  try {
    await writeAll(h, bytes);
    await h.sync();
    await h.close();
  } catch (e) {
    await h.close().catch(() => undefined);
    await removeQuietly(fs, finalPath);
    throw e;
  }
}

async function exists(fs: EscrowFs, path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Creates `dir` and its missing parents (0700) one level at a time. Node 20's recursive mkdir spins
 * forever on some paths (e.g. under /proc); a non-recursive mkdir per level fails cleanly instead.
 */
/** {@link makeDirs} on the real file system: for other directories kms-byok creates (transcripts, journals). */
export function ensureDirectory(dir: string): Promise<void> {
  return makeDirs(nodeEscrowFs, dir);
}

async function makeDirs(fs: EscrowFs, dir: string): Promise<void> {
  const missing: string[] = [];
  for (let cur = resolvePath(dir); ; ) {
    try {
      await fs.stat(cur);
      break;
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw e;
      missing.push(cur);
      const parent = dirname(cur);
      if (parent === cur) break;
      cur = parent;
    }
  }
  for (const d of missing.reverse()) {
    try {
      await fs.mkdir(d, { mode: 0o700 });
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
  }
}

/**
 * Makes sure `dir` can hold escrows: refuses one that someone else could change (the directory or a
 * parent not owned by the operator or root, or writable by group/others — `assertDirectorySafe`,
 * ERR_ESCROW_DIR_UNSAFE), creates it (mode 0700) when missing, and proves it writable by creating and
 * removing a probe file (create-only). Throws ERR_ESCROW_DIR_UNWRITABLE with a hint. Returns a
 * warning when the directory is readable (not writable) by group or others, else undefined.
 */
export async function assertEscrowDirWritable(dir: string, options: FileStoreOptions = {}): Promise<string | undefined> {
  const fs = options.fs ?? nodeEscrowFs;
  // Who could change it first (ERR_ESCROW_DIR_UNSAFE), on the real filesystem only: the injected
  // test filesystems have no owners.
  if (options.fs === undefined) assertDirectorySafe(dir);
  try {
    await makeDirs(fs, dir);
  } catch (e) {
    throw unwritable(dir, e, 'create the directory');
  }
  let st: { mode: number; isDirectory(): boolean };
  try {
    st = await fs.stat(dir);
  } catch (e) {
    throw unwritable(dir, e, 'inspect the directory');
  }
  if (!st.isDirectory()) {
    throw new KmsByokError('ERR_ESCROW_DIR_UNWRITABLE', `escrow directory ${dir} is not a directory`, { hint: 'choose another --escrow-dir' });
  }
  const probe = join(dir, `.kms-byok-probe-${randomBytes(6).toString('hex')}`);
  try {
    const h = await fs.open(probe, 'wx', 0o600);
    try {
      await writeAll(h, new Uint8Array([0x0a]));
      await h.sync();
    } finally {
      await h.close().catch(() => undefined);
    }
  } catch (e) {
    await removeQuietly(fs, probe);
    throw unwritable(dir, e, 'write');
  }
  try {
    await fs.unlink(probe);
  } catch (e) {
    throw unwritable(dir, e, 'remove a probe file');
  }
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    const who = (st.mode & 0o007) !== 0 ? 'everyone' : 'its group';
    return `escrow directory ${dir} is accessible to ${who} (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}): chmod 700 ${dir}`;
  }
  return undefined;
}

/**
 * Writes a sealed escrow version into `dir`: every sealed file, then the sidecar, each create-only
 * (ERR_ESCROW_EXISTS when any already exists — nothing is ever replaced), fsynced, with the directory
 * fsynced at the end. On any failure, everything this call created is removed again, so no partial
 * or orphaned file is left under a final name. Returns the paths and SHA-256s.
 */
export async function writeSealedEscrow(dir: string, keyId: string, sealed: SealedEscrow, options: FileStoreOptions = {}): Promise<WrittenEscrow> {
  const fs = options.fs ?? nodeEscrowFs;
  if (sealed.keyId !== keyId || sealed.sidecar.manifest.keyId !== keyId) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `sealed escrow is for key ${sealed.keyId}, not ${keyId}`);
  }
  const sidecarName = sidecarFileName(keyId, sealed.escrowVersion);
  const outputs = [
    ...sealed.files.map((f) => {
      // Precondition: the bytes are the ones the sidecar vouches for, under a name of this version.
      const entry = sealed.sidecar.files.find((x) => x.name === f.name);
      const parsed = parseEscrowFileName(f.name);
      if (entry === undefined || entry.sha256 !== sha256Hex(f.bytes) || parsed?.sidecarName !== sidecarName || parsed.sidecar) {
        throw new KmsByokError('ERR_INTERNAL', `sealed file ${f.name} does not match its sidecar entry`);
      }
      return { name: f.name, bytes: f.bytes };
    }),
    { name: sidecarName, bytes: serializeSidecar(sealed.sidecar) },
  ];
  if (sealed.sidecar.files.length !== sealed.files.length) throw new KmsByokError('ERR_INTERNAL', 'sidecar lists files that were not sealed');
  for (const o of outputs) {
    if (await exists(fs, join(dir, o.name)).catch((e: unknown) => Promise.reject(unwritable(dir, e, 'inspect')))) {
      throw new KmsByokError('ERR_ESCROW_EXISTS', `escrow file ${join(dir, o.name)} already exists`, {
        hint: 'an escrow is never overwritten: seal the next version (v' + (sealed.escrowVersion + 1) + ') instead',
      });
    }
  }
  const created: string[] = [];
  try {
    for (const o of outputs) {
      const finalPath = join(dir, o.name);
      let tmp: string;
      try {
        tmp = await writeTemp(fs, dir, o.name, o.bytes);
      } catch (e) {
        throw unwritable(dir, e, `write ${o.name}`);
      }
      try {
        await publishCreateOnly(fs, tmp, finalPath, o.bytes);
      } catch (e) {
        if (errCode(e) === 'EEXIST') {
          throw new KmsByokError('ERR_ESCROW_EXISTS', `escrow file ${finalPath} already exists`, {
            hint: 'another process wrote this escrow version at the same time: inspect it before continuing',
          });
        }
        throw unwritable(dir, e, `create ${o.name}`);
      } finally {
        await removeQuietly(fs, tmp);
      }
      created.push(finalPath);
    }
    try {
      await fsyncDir(fs, dir);
    } catch (e) {
      throw unwritable(dir, e, 'sync the directory');
    }
  } catch (e) {
    // Roll back in reverse: the sidecar (written last) goes first, so no complete-looking version remains.
    for (const p of created.reverse()) await removeQuietly(fs, p);
    await fsyncDir(fs, dir).catch(() => undefined);
    throw e;
  }
  const main = sealed.files.find((f) => f.role !== 'share' && f.role !== 'component' && f.role !== 'passphrase') ?? sealed.files.find((f) => f.role === 'passphrase');
  return {
    path: main === undefined ? join(dir, sidecarName) : join(dir, main.name),
    sidecarPath: join(dir, sidecarName),
    files: sealed.files.map((f) => {
      const out: WrittenEscrow['files'][number] = { path: join(dir, f.name), sha256: f.sha256, role: f.role };
      if (f.holder !== undefined) out.holder = f.holder.label ?? f.holder.recipient;
      return out;
    }),
  };
}

function sidecarPathOf(path: string): string {
  const parsed = parseEscrowFileName(basename(path));
  if (parsed === undefined) {
    throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `${path} is not an escrow file name (<keyId>.v<N>.age or .age.json)`, {
      hint: 'give an escrow file such as 1234abcd-12ab-34cd-56ef-1234567890ab.v1.age',
    });
  }
  return join(dirname(path), parsed.sidecarName);
}

/**
 * A read-only secret a service manager hands to an unprivileged process: owned by root, group root
 * or our own group, readable by that group only (no group write, nothing for others). This is what
 * systemd's LoadCredential= (an ACL, shown as group bits) and a Kubernetes secret volume with
 * fsGroup (group = our gid, mode 0440) look like; refusing them would break every printed schedule.
 */
function handedOverByRoot(st: { mode: number; uid?: number; gid?: number }): boolean {
  const euid = typeof process.geteuid === 'function' ? process.geteuid() : undefined;
  const egid = typeof process.getegid === 'function' ? process.getegid() : undefined;
  if (euid === undefined || euid === 0 || st.uid !== 0) return false;
  return (st.mode & 0o026) === 0 && (st.gid === 0 || st.gid === egid);
}

/**
 * Reads a file the caller named (identity, passphrase): ERR_FILE_READ (exit 2) when missing or
 * unreadable; ERR_INSECURE_FILE (exit 2) when group or others may read or write it, unless
 * `onInsecure` takes the warning instead. `-` (stdin) has no mode to check.
 */
async function readInputFile(fs: EscrowFs, path: string, what: string, onInsecure?: (warning: string) => void): Promise<Uint8Array> {
  if (path !== '-' && process.platform !== 'win32') {
    const st = await fs.stat(path).catch(() => undefined);
    if (st !== undefined && (st.mode & 0o066) !== 0 && !handedOverByRoot(st)) {
      const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
      const message = `${what} ${path} is ${(st.mode & 0o006) !== 0 ? 'readable or writable by everyone' : 'readable or writable by its group'} (mode ${mode}): it holds a secret`;
      if (onInsecure === undefined) throw new KmsByokError('ERR_INSECURE_FILE', message, { hint: `chmod 600 ${path}` });
      onInsecure(`${message}: chmod 600 ${path}`);
    }
  }
  try {
    return await fs.readFile(path);
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', errCode(e) === 'ENOENT' ? `${what} ${path} does not exist` : `cannot read ${what} ${path} (${describe(e)})`, {
      hint: 'check the path',
      cause: e,
    });
  }
}

/**
 * Reads an escrow's sidecar. `named` is the path the caller gave: when neither it nor the sidecar
 * exists, the caller named a file that is not there (ERR_FILE_READ, a usage error); a named file
 * without its sidecar is an incomplete escrow, and a sidecar the store found itself and then lost is
 * ERR_ESCROW_NOT_FOUND.
 */
async function readSidecarFile(fs: EscrowFs, sidecarPath: string, named: string | undefined): Promise<Uint8Array> {
  try {
    return await fs.readFile(sidecarPath);
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw unreadable(sidecarPath, e);
    if (named !== undefined && !(await exists(fs, named).catch(() => true))) {
      throw new KmsByokError('ERR_FILE_READ', `${named} does not exist`, { hint: 'check the path: escrow files are named <key-id>.v<N>.age (and .age.json)' });
    }
    throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `${sidecarPath} does not exist`, { hint: 'the sidecar (.age.json) must be beside the escrow file: copy it there' });
  }
}

/** An escrow file or directory that exists but cannot be read or listed (exit 1). */
function unreadable(path: string, e: unknown, what = 'read'): KmsByokError {
  return new KmsByokError('ERR_ESCROW_UNREADABLE', `cannot ${what} ${path} (${describe(e)})`, {
    hint: 'check that the escrow directory is a directory you may read (and its files too)',
    cause: e,
  });
}

/**
 * Reads an escrow version: `path` is any of its files (`.age`, `.passphrase.age`, `.share-<i>.age`…)
 * or its sidecar (`.age.json`). Reads the sidecar (ERR_FILE_READ when neither `path` nor the sidecar
 * exists, ERR_ESCROW_NOT_FOUND when only the sidecar is missing) and every sealed file it lists that is present; files held elsewhere (a custodian's share) are listed in
 * `missing`. Hashes are checked when the escrow is opened, not here.
 */
export async function readEscrow(path: string, options: FileStoreOptions & { found?: boolean } = {}): Promise<LoadedEscrow & { sidecarPath: string; missing: string[] }> {
  const fs = options.fs ?? nodeEscrowFs;
  const sidecarPath = sidecarPathOf(path);
  // `found`: the path came from listing the escrow directory, not from the user (see readSidecarFile).
  const sidecar = parseSidecar(await readSidecarFile(fs, sidecarPath, options.found ? undefined : path));
  const dir = dirname(sidecarPath);
  if (basename(sidecarPath) !== sidecarFileName(sidecar.manifest.keyId, sidecar.manifest.escrowVersion)) {
    throw new KmsByokError('ERR_ESCROW_MISMATCH', `${sidecarPath} describes ${sidecarFileName(sidecar.manifest.keyId, sidecar.manifest.escrowVersion)}`, {
      hint: 'escrow files must keep their names: rename it back',
    });
  }
  const files: LoadedEscrow['files'] = [];
  const missing: string[] = [];
  for (const f of sidecar.files) {
    try {
      files.push({ name: f.name, bytes: await fs.readFile(join(dir, f.name)) });
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw unreadable(join(dir, f.name), e);
      missing.push(f.name);
    }
  }
  return { sidecar, files, sidecarPath, missing };
}

/**
 * Replaces a sidecar atomically with `update(current)`: the update may only add facts learned after
 * sealing (see `assertSidecarUpdate`: ERR_ESCROW_MISMATCH otherwise). Written to a temp file (wx,
 * 0600), fsynced, renamed over the sidecar, directory fsynced. Sealed files are never touched.
 */
export async function updateSidecar(
  path: string,
  update: (current: EscrowSidecar) => EscrowSidecar,
  options: FileStoreOptions = {},
): Promise<EscrowSidecar> {
  const fs = options.fs ?? nodeEscrowFs;
  const sidecarPath = sidecarPathOf(path);
  const dir = dirname(sidecarPath);
  if (options.fs === undefined && (await isSymlink(sidecarPath))) throw unsafePath(sidecarPath, 'the sidecar');
  const current = parseSidecar(await readSidecarFile(fs, sidecarPath, undefined));
  const next = update(current);
  (await vaultRules()).assertSidecarUpdate(current, next);
  const bytes = serializeSidecar(next);
  parseSidecar(bytes);
  let tmp: string;
  try {
    tmp = await writeTemp(fs, dir, basename(sidecarPath), bytes);
  } catch (e) {
    throw unwritable(dir, e, 'write the sidecar');
  }
  try {
    await fs.rename(tmp, sidecarPath);
  } catch (e) {
    await removeQuietly(fs, tmp);
    throw unwritable(dir, e, 'replace the sidecar');
  }
  try {
    await fsyncDir(fs, dir);
  } catch (e) {
    throw unwritable(dir, e, 'sync the directory');
  }
  return next;
}

/** Escrow versions of `keyId` in `dir` (those with a sidecar), oldest first. */
export async function listVersions(dir: string, keyId: string, options: FileStoreOptions = {}): Promise<{ escrowVersion: number; sidecarPath: string }[]> {
  const fs = options.fs ?? nodeEscrowFs;
  sidecarFileName(keyId, 1); // validates keyId
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return [];
    throw unreadable(dir, e, 'list');
  }
  const versions: { escrowVersion: number; sidecarPath: string }[] = [];
  for (const name of names) {
    // Cheap filter first: a fleet's escrow directory holds thousands of other keys' files.
    if (!name.startsWith(keyId)) continue;
    const p = parseEscrowFileName(name);
    if (p !== undefined && p.sidecar && p.keyId === keyId) versions.push({ escrowVersion: p.escrowVersion, sidecarPath: join(dir, name) });
  }
  return versions.sort((a, b) => a.escrowVersion - b.escrowVersion);
}

/**
 * The version number the next escrow of `keyId` in `dir` must use: one more than the highest version
 * any escrow file of that key carries — complete or not, so sealed files orphaned by a crash before
 * their sidecar was written are never collided with (they are left for a human to inspect).
 */
export async function nextEscrowVersion(dir: string, keyId: string, options: FileStoreOptions = {}): Promise<number> {
  const fs = options.fs ?? nodeEscrowFs;
  sidecarFileName(keyId, 1); // validates keyId
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return 1;
    throw unreadable(dir, e, 'list');
  }
  let highest = 0;
  for (const name of names) {
    if (!name.startsWith(keyId) && !name.startsWith(`.${keyId}`)) continue;
    const p = parseEscrowFileName(name) ?? parseEscrowFileName(name.replace(/^\.(.*)\.[0-9a-f]{12}\.tmp$/, '$1'));
    if (p !== undefined && p.keyId === keyId) highest = Math.max(highest, p.escrowVersion);
  }
  return highest + 1;
}

/**
 * The latest complete escrow version of every key in `dir`, from one listing: for runs over many
 * keys of one directory, where listing it once per key would cost O(keys²). A snapshot: a version
 * written after it is not in it (fleet runs write none; a ceremony that does uses
 * {@link findLatestVersion}).
 */
export async function indexLatestVersions(dir: string, options: FileStoreOptions = {}): Promise<Map<string, { escrowVersion: number; sidecarPath: string }>> {
  const fs = options.fs ?? nodeEscrowFs;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return new Map();
    throw unreadable(dir, e, 'list');
  }
  const latest = new Map<string, { escrowVersion: number; sidecarPath: string }>();
  for (const name of names) {
    const p = parseEscrowFileName(name);
    if (p === undefined || !p.sidecar) continue;
    const seen = latest.get(p.keyId);
    if (!seen || seen.escrowVersion < p.escrowVersion) latest.set(p.keyId, { escrowVersion: p.escrowVersion, sidecarPath: join(dir, name) });
  }
  return latest;
}

/** The latest escrow version of `keyId` in `dir`, or undefined when there is none. */
export async function findLatestVersion(dir: string, keyId: string, options: FileStoreOptions = {}): Promise<{ escrowVersion: number; sidecarPath: string } | undefined> {
  const all = await listVersions(dir, keyId, options);
  return all[all.length - 1];
}

/**
 * Reads an age identity file as age-keygen writes it (`#` comments, `AGE-SECRET-KEY-1…` or
 * `AGE-SECRET-KEY-PQ-1…` lines). ERR_IDENTITY when it holds none or an invalid one; ERR_FILE_READ
 * when it does not exist or cannot be read.
 */
export async function readIdentityFile(path: string, options: InputFileOptions = {}): Promise<string[]> {
  const fs = options.fs ?? nodeEscrowFs;
  const bytes = await readInputFile(fs, path, 'identity file', options.onInsecure);
  try {
    const { parseIdentities } = await import('./seal.js');
    return await parseIdentities(new TextDecoder().decode(bytes), path);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Reads a passphrase file: its bytes, minus ONE trailing newline (`\n` or `\r\n`).
 * ERR_EMPTY_PASSPHRASE when nothing is left.
 */
export async function readPassphraseFile(path: string, options: InputFileOptions = {}): Promise<SecretBytes> {
  const fs = options.fs ?? nodeEscrowFs;
  const bytes = await readInputFile(fs, path, 'passphrase file', options.onInsecure);
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) {
    end--;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
  }
  const secret = SecretBytes.copyOf(bytes.subarray(0, end));
  bytes.fill(0);
  if (secret.length === 0) {
    secret.dispose();
    throw new KmsByokError('ERR_EMPTY_PASSPHRASE', `passphrase file ${path} is empty`, { hint: 'write the passphrase into the file (one trailing newline is ignored)' });
  }
  return secret;
}

/**
 * The escrow vault a ceremony writes to (`OnboardDeps['escrow']`), over a directory: proves `dir`
 * writable first (creating it 0700), then writes each sealed version create-only and records KMS's
 * facts in its sidecar. Returns the vault and a warning when the directory is group/world-readable.
 */
export async function openFileVault(
  dir: string,
  options: FileStoreOptions = {},
): Promise<{ vault: { write(sealed: SealedEscrow): Promise<WrittenEscrow>; recordImport(written: WrittenEscrow, fact: ImportFact): Promise<void> }; warning?: string }> {
  const warning = await assertEscrowDirWritable(dir, options);
  const vault = {
    write: (sealed: SealedEscrow) => writeSealedEscrow(dir, sealed.keyId, sealed, options),
    recordImport: async (written: WrittenEscrow, fact: ImportFact) => {
      const { recordImport } = await vaultRules();
      await updateSidecar(written.sidecarPath, (sc) => recordImport(sc, fact), options);
    },
  };
  return warning === undefined ? { vault } : { vault, warning };
}
