/**
 * Emulator state: keys, their materials, aliases and import tokens, per account and Region; the
 * declared organisation (accounts, roles) and the role sessions STS issued; plus the clock offset.
 *
 * Contracts:
 * - The state is plain JSON data (times are epoch milliseconds, bytes are base64), so
 *   {@link serialiseState} / {@link parseState} round-trip it exactly and the state file is readable.
 * - Key material bytes are held only while the material is imported (`material` present); a deleted or
 *   expired material keeps its `keyMaterialId` (which is how KMS recognises "the same material" on
 *   re-import) but not its bytes.
 * - The state file holds imported key material and wrapping private keys in the clear: it is for
 *   rehearsals only. It is never read or written through a symbolic link (refused with an Error), its
 *   first version is created exclusively ({@link createStateFile}, mode 0600, fails if anything is at
 *   the path), and {@link saveStateFile} replaces it atomically (temp file created 0600, fsync, rename,
 *   fsync of the directory), so a crash leaves the old or the new state, never a torn one.
 * - Accounts are kept apart: `regions` holds the emulator's own account (the one requests signed with
 *   an unknown access key act in, and the only one a state file from before accounts knew), `accounts`
 *   every other account's Regions. `accounts`, `directory` and `sessions` are optional, so a state
 *   file written before them still loads.
 */
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { LastUsage, TrailEvent } from './trail.js';

/** Key states the emulator uses (AWS's names). */
export type KeyState = 'Enabled' | 'Disabled' | 'PendingImport' | 'PendingDeletion';
/** Key material origins the emulator supports. */
export type Origin = 'AWS_KMS' | 'EXTERNAL';
/** Key specs the emulator supports (AWS's names). */
export type KeySpec =
  | 'SYMMETRIC_DEFAULT'
  | 'HMAC_224'
  | 'HMAC_256'
  | 'HMAC_384'
  | 'HMAC_512'
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_NIST_P521'
  | 'ECC_SECG_P256K1';
/** Key usages (AWS's names). */
export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT';
export type ExpirationModel = 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
export type ImportState = 'IMPORTED' | 'PENDING_IMPORT';
export type KeyMaterialState = 'CURRENT' | 'NON_CURRENT' | 'PENDING_ROTATION' | 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION';
export type WrappingAlgorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_1' | 'RSA_AES_KEY_WRAP_SHA_256';
export type WrappingKeySpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096';

/** One key material associated with a key. */
export interface MaterialRecord {
  /** 64 lowercase hex characters, derived from the key id and the material bytes. */
  keyMaterialId: string;
  /** base64 of the plaintext material (symmetric/HMAC: raw bytes; asymmetric: canonical PKCS#8 DER); only while imported. */
  material?: string;
  description?: string;
  importState: ImportState;
  materialState: KeyMaterialState;
  /** Present for EXTERNAL keys once imported. */
  expirationModel?: ExpirationModel;
  /** Epoch ms; present when `expirationModel` is KEY_MATERIAL_EXPIRES. */
  validTo?: number;
  /** Epoch ms when this material became current through a rotation. */
  rotationDate?: number;
  rotationType?: 'AUTOMATIC' | 'ON_DEMAND';
}

export interface Tag {
  TagKey: string;
  TagValue: string;
}

/** One KMS key in one Region. Multi-Region related keys share `keyId` across Regions. */
export interface KeyRecord {
  keyId: string;
  region: string;
  accountId: string;
  /** Epoch ms. */
  creationDate: number;
  description: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  origin: Origin;
  keyState: KeyState;
  /** Epoch ms; present only in PendingDeletion. */
  deletionDate?: number;
  pendingWindowInDays?: number;
  multiRegion: boolean;
  /** For multi-Region keys: whether this one is the primary or a replica. */
  multiRegionKeyType?: 'PRIMARY' | 'REPLICA';
  policy: string;
  tags: Tag[];
  /** Materials in association order; the first one is the key's original material. */
  materials: MaterialRecord[];
  /** Number of completed on-demand rotations (AWS allows 25). */
  onDemandRotations: number;
  /** The last successful cryptographic operation (GetKeyLastUsage; trail.ts). */
  lastUsage?: LastUsage;
}

export interface AliasRecord {
  aliasName: string;
  targetKeyId: string;
  /** Epoch ms. */
  creationDate: number;
  /** Epoch ms. */
  lastUpdatedDate: number;
}

/** What an import token stands for: it is bound to one key and to the wrapping key pair returned with it. */
export interface TokenRecord {
  region: string;
  keyId: string;
  wrappingAlgorithm: WrappingAlgorithm;
  wrappingKeySpec: WrappingKeySpec;
  /** PKCS#8 PEM of the wrapping private key. */
  privateKeyPem: string;
  /** Epoch ms. */
  parametersValidTo: number;
  /** The account of the key (absent in tokens issued before accounts were kept apart). */
  accountId?: string;
}

/** A role the emulator lets `AssumeRole` assume (declared by option, flag or control operation). */
export interface RoleRecord {
  /** `arn:aws:iam::<account>:role/<name>` */
  roleArn: string;
  accountId: string;
  /** When set, AssumeRole must pass exactly this ExternalId. */
  externalId?: string;
}

/** The organisation the emulator answers Organizations and STS from. */
export interface DirectoryState {
  /** The management account (Organizations answers only callers in it). */
  managementAccount: string;
  /** Member accounts (the management account included), in declaration order. */
  accounts: string[];
  roles: RoleRecord[];
}

/** Temporary credentials issued by AssumeRole, by access key id. */
export interface SessionRecord {
  accountId: string;
  roleArn: string;
  sessionName: string;
  /** `AROA…:<session name>` */
  assumedRoleId: string;
  /** Epoch ms. */
  expiration: number;
}

export interface RegionState {
  /** Keys by key id, in creation order. */
  keys: Record<string, KeyRecord>;
  /** Aliases by alias name (`alias/…`). */
  aliases: Record<string, AliasRecord>;
}

/** Everything the emulator remembers. */
export interface EmulatorState {
  version: 1;
  /** Offset of the emulator clock from the base clock, in ms. */
  clockOffsetMs: number;
  /** The emulator's own account's Regions. */
  regions: Record<string, RegionState>;
  /** Every other account's Regions, by account id. */
  accounts?: Record<string, Record<string, RegionState>>;
  /** Import tokens by token id (hex). */
  tokens: Record<string, TokenRecord>;
  directory?: DirectoryState;
  sessions?: Record<string, SessionRecord>;
  /** CloudTrail events, oldest first (trail.ts; absent in state files written before it). */
  trail?: TrailEvent[];
}

/** A fresh, empty state. */
export function emptyState(): EmulatorState {
  return { version: 1, clockOffsetMs: 0, regions: {}, tokens: {} };
}

/**
 * The Regions of one account: `state.regions` for the emulator's own account (`account` undefined),
 * else that account's part of `state.accounts`, created on first use.
 */
export function accountRegions(state: EmulatorState, account?: string): Record<string, RegionState> {
  if (account === undefined) return state.regions;
  state.accounts ??= {};
  let a = Object.hasOwn(state.accounts, account) ? state.accounts[account] : undefined;
  if (!a) {
    a = {};
    state.accounts[account] = a;
  }
  return a;
}

/** The Region's part of the state (of the emulator's own account unless `account` is given), created on first use. */
export function regionState(state: EmulatorState, region: string, account?: string): RegionState {
  const regions = accountRegions(state, account);
  let r = Object.hasOwn(regions, region) ? regions[region] : undefined;
  if (!r) {
    r = { keys: {}, aliases: {} };
    regions[region] = r;
  }
  return r;
}

/** Every Region of every account. */
export function allRegionStates(state: EmulatorState): RegionState[] {
  return [...Object.values(state.regions), ...Object.values(state.accounts ?? {}).flatMap((a) => Object.values(a))];
}

/** The state as the JSON text of the state file. */
export function serialiseState(state: EmulatorState): string {
  return JSON.stringify(state, null, 1) + '\n';
}

/** Parses state file text; throws on anything that is not a version-1 emulator state. */
export function parseState(text: string): EmulatorState {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null) throw new Error('emulator state: not a JSON object');
  const o = raw as Partial<EmulatorState>;
  if (o.version !== 1) throw new Error(`emulator state: unsupported version ${String(o.version)}`);
  if (typeof o.clockOffsetMs !== 'number' || !Number.isFinite(o.clockOffsetMs)) throw new Error('emulator state: bad clockOffsetMs');
  if (typeof o.regions !== 'object' || o.regions === null) throw new Error('emulator state: bad regions');
  if (typeof o.tokens !== 'object' || o.tokens === null) throw new Error('emulator state: bad tokens');
  const checkRegions = (regions: Record<string, RegionState>, where: string): void => {
    for (const [name, r] of Object.entries(regions)) {
      if (typeof r !== 'object' || r === null || typeof r.keys !== 'object' || typeof r.aliases !== 'object') {
        throw new Error(`emulator state: bad region ${where}${name}`);
      }
    }
  };
  checkRegions(o.regions, '');
  if (o.accounts !== undefined) {
    if (typeof o.accounts !== 'object' || o.accounts === null) throw new Error('emulator state: bad accounts');
    for (const [account, regions] of Object.entries(o.accounts)) {
      if (!/^\d{12}$/.test(account) || typeof regions !== 'object' || regions === null) throw new Error(`emulator state: bad account ${account}`);
      checkRegions(regions, `${account}/`);
    }
  }
  if (o.directory !== undefined && (typeof o.directory !== 'object' || o.directory === null || !Array.isArray(o.directory.accounts) || !Array.isArray(o.directory.roles))) {
    throw new Error('emulator state: bad directory');
  }
  if (o.sessions !== undefined && (typeof o.sessions !== 'object' || o.sessions === null)) throw new Error('emulator state: bad sessions');
  return o as EmulatorState;
}

/** 0 where the platform has no O_NOFOLLOW (the lstat checks below still refuse links). */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Throws when something other than a regular file (a symbolic link above all) is at `path`; false when nothing is. */
function regularFileAt(path: string): boolean {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw e;
  }
  if (st.isSymbolicLink()) throw new Error(`emulator: the state file ${path} is a symbolic link: refusing to follow it`);
  if (!st.isFile()) throw new Error(`emulator: the state file ${path} is not a regular file`);
  return true;
}

/** Loads the state file when it exists; `undefined` when it does not. Never follows a symbolic link. */
export function loadStateFile(path: string): EmulatorState | undefined {
  if (!regularFileAt(path)) return undefined;
  const fd = openSync(path, constants.O_RDONLY | O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`emulator: the state file ${path} is not a regular file`);
    return parseState(readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
}

/** Creates the first version of the state file: exclusively (fails if anything, even a dangling link, is at `path`), mode 0600. */
export function createStateFile(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncDir(dirname(path));
}

function fsyncDir(dir: string): void {
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

/** Atomically replaces the regular file `path` with `text` (mode 0600); refuses a symbolic link at `path`. */
export function saveStateFile(path: string, text: string): void {
  // rename() replaces a link rather than following it; refusing it says that someone planted one.
  regularFileAt(path);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  fsyncDir(dir);
}
