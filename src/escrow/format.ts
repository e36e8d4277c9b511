/**
 * Escrow format v1: the JSON documents inside and beside the sealed files, their strict parsers, and
 * the file naming. Pure (no fs, no process). The format is a promise kept for decades: a v1 file
 * written today must open with every later build. See `docs/escrow-format.md`, which this file
 * implements exactly; change both together, and never change v1 — add a version 2 instead.
 */
import { createHash } from 'node:crypto';
import { ANCHOR_RE } from './anchor.js';
import { KEY_SPECS, KEY_USAGES, WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS } from '../core/aws-names.js';
import type { ExpirationModel, KeySpec, KeyUsage, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import { KmsByokError } from '../core/errors.js';
import { isAccountId, isRegion, parseKeyArn } from '../core/aws-ids.js';
import { SecretBytes } from '../core/secret.js';

/** The escrow format version this build writes and reads. */
export const ESCROW_FORMAT_VERSION = 1;
/** `format` of the payload JSON sealed inside an escrow file. */
export const PAYLOAD_FORMAT = 'kms-byok-escrow';
/** `format` of the sidecar JSON (`<escrow file>.json`). */
export const SIDECAR_FORMAT = 'kms-byok-escrow-sidecar';
/** `format` of an m-of-n share document (sealed to one custodian). */
export const SHARE_FORMAT = 'kms-byok-escrow-share';
/** `format` of an XOR component document (sealed to one custodian). */
export const COMPONENT_FORMAT = 'kms-byok-escrow-component';
/** Label of the check value an XOR component carries: leftmost 3 bytes of SHA-256(component), upper-case hex. */
export const COMPONENT_CHECK_METHOD = 'sha256-kcv';

/** How a custodian's recipient string encrypts: classic X25519 (`age1…`) or ML-KEM-768+X25519 (`age1pq1…`). */
export type RecipientKind = 'x25519' | 'pq-hybrid';

/** One custodian, named by the public age recipient they hold the identity for. */
export interface CustodianRecipient {
  recipient: string;
  kind: RecipientKind;
  /** Who holds it (a person or role), for humans; not secret. */
  label?: string;
}

/** Who can open the escrow, as recorded in the manifest. */
export interface EscrowCustodians {
  recipients: CustodianRecipient[];
  /** True when a passphrase-sealed copy exists. */
  passphrase: boolean;
  /** m-of-n: any `threshold` of the recipients' share files open the escrow. */
  threshold?: number;
  /** Split knowledge: each recipient holds one full-length XOR component; all are needed. */
  split?: 'xor';
  /** m-of-n only: the age recipient of the identity the payload is sealed to (the split secret). */
  payloadRecipient?: string;
}

/** The AWS facts about the key an escrow belongs to (AWS's spelling in the JSON). */
export interface EscrowKeyFacts {
  keyArn: string;
  keyId: string;
  account: string;
  region: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  multiRegion: boolean;
}

/** The non-secret manifest: repeated verbatim in the sealed payload and in the sidecar. */
export interface EscrowManifest extends EscrowKeyFacts {
  formatVersion: 1;
  /** Random id of this sealing (32 lower-case hex); shares and components carry it. */
  escrowId: string;
  /** 1 for the first escrow of a key, +1 for each later version (rotation, reseal). */
  escrowVersion: number;
  custodians: EscrowCustodians;
  /** ISO-8601 UTC, e.g. `2026-01-02T03:04:05Z`. */
  created: string;
  /** `operator@host`, as given by the caller. */
  createdBy: string;
}

/** One key material held by the escrow. `material` is secret: dispose it when done. */
export interface EscrowMaterial {
  /** 1-based, in import order. */
  index: number;
  /** Labelled check value, e.g. `cmac-aes:1A2B3C`. */
  checkValue: string;
  material: SecretBytes;
  /** The KeyMaterialId, when known at sealing time (64 lower-case hex). */
  keyMaterialId?: string;
  description?: string;
  /** ISO-8601 UTC. */
  createdAt: string;
}

/** The decrypted escrow: manifest plus every material. */
export interface EscrowPayload {
  manifest: EscrowManifest;
  materials: EscrowMaterial[];
}

/** Role of a sealed file in an escrow version. */
export type SealedFileRole = 'recipients' | 'passphrase' | 'threshold-payload' | 'share' | 'component' | 'renewal';

/** A sealed file as listed by the sidecar. */
export interface SidecarFile {
  /** Base name in the escrow directory. */
  name: string;
  role: SealedFileRole;
  /** SHA-256 of the file's bytes, lower-case hex. */
  sha256: string;
  /** Share/component/renewal files: the one custodian (or scheduler) it is sealed to. */
  holder?: { recipient: string; label?: string };
  /** Share/component/renewal files: 1-based number. */
  index?: number;
  /**
   * Share files (written since check values were recorded; absent in older sidecars): the share's
   * `sha256-kcv` ({@link componentCheckValue} over the Shamir share), the value `escrow hand-over`
   * prints and the host checks each handed-over share against before combining
   * (docs/escrow-format.md, "Share check values").
   */
  checkValue?: string;
}

/** Facts about the first import of a material, learned after sealing. */
export interface ImportRecord {
  importedAt: string;
  region: string;
  keyMaterialId?: string;
  wrappingAlgorithm?: WrappingAlgorithm;
  wrappingKeySpec?: WrappingKeySpec;
}

/** One (re-)import's expiry, learned after sealing. */
export interface ValidToRecord {
  recordedAt: string;
  region: string;
  expirationModel: ExpirationModel;
  /** Absent when expirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE. */
  validTo?: string;
}

/** Non-secret facts about one material, kept in the sidecar. */
export interface SidecarMaterial {
  index: number;
  checkValue: string;
  keyMaterialId?: string;
  firstImport?: ImportRecord;
  validTo: ValidToRecord[];
  /** XOR split only: each component's own check value, by custodian. */
  components?: { index: number; holder: { recipient: string; label?: string }; checkValue: string }[];
  /**
   * Sidecar version 2: the material's anchor fingerprint (`src/escrow/anchor.ts`), which the ceremony
   * writes as the key's tag `kms-byok:material-<index>` before the material's first import.
   */
  anchor?: string;
}

/** The sidecar: `<escrow file>.json`, non-secret, replaceable (atomically) as facts arrive. */
export interface EscrowSidecar {
  format: typeof SIDECAR_FORMAT;
  /**
   * 1: no anchors (written before anchors existed); 2: every material names its anchor; 3: as 2, and
   * the version has renewal seals (`role: "renewal"` files, docs/escrow-format.md "Renewal seals").
   */
  version: 1 | 2 | 3;
  manifest: EscrowManifest;
  files: SidecarFile[];
  materials: SidecarMaterial[];
  /** ISO-8601 UTC of the last change. */
  updated: string;
}

/** An m-of-n share document (the plaintext of a share file). */
export interface ShareDocument {
  escrowId: string;
  keyId: string;
  keyArn: string;
  escrowVersion: number;
  payloadFile: string;
  payloadRecipient: string;
  threshold: number;
  shares: number;
  shareIndex: number;
  holder: { recipient: string; label?: string };
  /** Secret: a Shamir share of the payload identity string. */
  share: SecretBytes;
}

/** An XOR component document (the plaintext of a component file). */
export interface ComponentDocument {
  escrowId: string;
  manifest: EscrowManifest;
  componentIndex: number;
  components: number;
  holder: { recipient: string; label?: string };
  materials: {
    index: number;
    checkValue: string;
    componentCheckValue: string;
    /** Secret: this custodian's component of the material. */
    component: SecretBytes;
    keyMaterialId?: string;
    description?: string;
    createdAt: string;
  }[];
}

// ---------------------------------------------------------------------------------------------
// File naming
// ---------------------------------------------------------------------------------------------

const KEY_ID_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

/** Refuses a key id that is not a KMS key id (UUID or `mrk-…`): it becomes part of file names. */
export function assertKeyId(keyId: string): void {
  if (!KEY_ID_RE.test(keyId)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `not a KMS key id: ${JSON.stringify(keyId.slice(0, 80))}`, {
      hint: 'give the key id (a UUID, or mrk-… for a multi-Region key), not an ARN or alias',
    });
  }
}

/** `<keyId>.v<version>`: the stem every file of one escrow version shares. */
export function escrowStem(keyId: string, escrowVersion: number): string {
  assertKeyId(keyId);
  if (!Number.isSafeInteger(escrowVersion) || escrowVersion < 1) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `escrow version must be a positive integer, got ${escrowVersion}`);
  }
  return `${keyId}.v${escrowVersion}`;
}

/**
 * File name of a sealed file: `<stem>.age` (the first payload file: recipients, passphrase when it is
 * the only sealing, or the m-of-n payload), `<stem>.passphrase.age` (passphrase copy beside a
 * recipients file), `<stem>.share-<i>.age`, `<stem>.component-<i>.age`.
 */
export function sealedFileName(keyId: string, escrowVersion: number, kind: 'main' | 'passphrase-copy' | 'share' | 'component' | 'renewal', index?: number): string {
  const stem = escrowStem(keyId, escrowVersion);
  switch (kind) {
    case 'main':
      return `${stem}.age`;
    case 'passphrase-copy':
      return `${stem}.passphrase.age`;
    case 'share':
    case 'component':
    case 'renewal':
      if (index === undefined || !Number.isSafeInteger(index) || index < 1) {
        throw new KmsByokError('ERR_INTERNAL', `${kind} file needs a positive index`);
      }
      return `${stem}.${kind}-${index}.age`;
  }
}

/** Sidecar name of an escrow version: `<keyId>.v<version>.age.json`. */
export function sidecarFileName(keyId: string, escrowVersion: number): string {
  return `${escrowStem(keyId, escrowVersion)}.age.json`;
}

const FILE_NAME_RE =
  /^((?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}))\.v([1-9][0-9]{0,8})(\.passphrase|\.share-[1-9][0-9]{0,2}|\.component-[1-9][0-9]{0,2}|\.renewal-[1-9][0-9]{0,2})?\.age(\.json)?$/;

/** Parses any escrow file or sidecar name; undefined when it is not one. */
export function parseEscrowFileName(
  name: string,
): { keyId: string; escrowVersion: number; sidecar: boolean; sidecarName: string } | undefined {
  const m = FILE_NAME_RE.exec(name);
  if (m === null) return undefined;
  const keyId = m[1]!;
  const escrowVersion = Number(m[2]!);
  const sidecar = m[4] !== undefined;
  if (sidecar && m[3] !== undefined) return undefined;
  return { keyId, escrowVersion, sidecar, sidecarName: `${keyId}.v${escrowVersion}.age.json` };
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** SHA-256 of bytes as lower-case hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The check value of an XOR component: `sha256-kcv:` + leftmost 3 bytes of SHA-256, upper-case hex. */
export function componentCheckValue(component: SecretBytes): string {
  const digest = component.use((b) => createHash('sha256').update(b).digest());
  const out = `${COMPONENT_CHECK_METHOD}:${digest.subarray(0, 3).toString('hex').toUpperCase()}`;
  digest.fill(0);
  return out;
}

const CHECK_VALUE_RE = /^([a-z0-9][a-z0-9-]{0,31}):([0-9A-Fa-f]{2,128})$/;
/** A share file's recorded check value: `sha256-kcv:` + 3 bytes, upper-case hex. */
const SHARE_CHECK_RE = /^sha256-kcv:[0-9A-F]{6}$/;

/** The method label of a labelled check value (`cmac-aes:1A2B3C` → `cmac-aes`). */
export function checkValueMethod(checkValue: string): string {
  const m = CHECK_VALUE_RE.exec(checkValue);
  if (m === null) {
    throw new KmsByokError('ERR_ESCROW_FORMAT', `check value ${JSON.stringify(checkValue.slice(0, 80))} is not labelled (method:HEX)`);
  }
  return m[1]!;
}

const ISO_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** True for an ISO-8601 UTC timestamp with `Z` that names a real instant. */
export function isIsoUtc(value: string): boolean {
  return ISO_UTC_RE.test(value) && !Number.isNaN(Date.parse(value));
}

/** Strict base64 (standard alphabet, padded), as written by the format. */
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes strict base64 into fresh bytes; undefined when not strict base64. */
export function decodeStrictBase64(text: string): Uint8Array | undefined {
  if (!BASE64_RE.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  const out = new Uint8Array(buf.length);
  out.set(buf);
  buf.fill(0);
  return out;
}

function base64Of(secret: SecretBytes): string {
  return secret.use((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'));
}

/** Encodes a JSON document as UTF-8 bytes (pretty, 2-space indent, final newline). */
function encodeJson(doc: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Strict reader
// ---------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Walks untrusted JSON, failing with the document name and the JSON path of the first problem. */
class Reader {
  constructor(
    readonly doc: string,
    readonly code: 'ERR_ESCROW_FORMAT' = 'ERR_ESCROW_FORMAT',
  ) {}

  fail(path: string, what: string): never {
    throw new KmsByokError(this.code, `${this.doc}: ${path} ${what}`, {
      hint: 'the file is damaged or not written by kms-byok; open it with stock age (docs/disaster-recovery.md)',
    });
  }

  object(value: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, Json> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'must be an object');
    const obj = value as Record<string, Json>;
    for (const key of Object.keys(obj)) {
      if (!required.includes(key) && !optional.includes(key)) this.fail(`${path}.${key}`, 'is not a field of format v1');
    }
    for (const key of required) {
      if (!(key in obj)) this.fail(`${path}.${key}`, 'is missing');
    }
    return obj;
  }

  string(value: unknown, path: string, opts: { max?: number; re?: { test(s: string): boolean }; allowEmpty?: boolean } = {}): string {
    if (typeof value !== 'string') this.fail(path, 'must be a string');
    if (!opts.allowEmpty && value.length === 0) this.fail(path, 'must not be empty');
    if (value.length > (opts.max ?? 4096)) this.fail(path, 'is too long');
    if (opts.re !== undefined && !opts.re.test(value)) this.fail(path, 'has an invalid value');
    return value;
  }

  text(value: unknown, path: string, max = 256): string {
    const s = this.string(value, path, { max });
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(s)) this.fail(path, 'must not contain control characters');
    return s;
  }

  iso(value: unknown, path: string): string {
    const s = this.string(value, path, { max: 40 });
    if (!isIsoUtc(s)) this.fail(path, 'must be an ISO-8601 UTC time ending in Z');
    return s;
  }

  int(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      this.fail(path, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  bool(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') this.fail(path, 'must be true or false');
    return value;
  }

  array(value: unknown, path: string, min = 0, max = 1000): Json[] {
    if (!Array.isArray(value)) this.fail(path, 'must be an array');
    if (value.length < min || value.length > max) this.fail(path, `must have ${min} to ${max} entries`);
    return value as Json[];
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(path, `must be one of ${allowed.join(', ')}`);
    }
    return value as T;
  }
}

const HEX32_RE = /^[0-9a-f]{32}$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
/** Identifier shapes from the one parser (core/aws-ids), as the Reader's `re` option takes them. */
const ACCOUNT_RE = { test: isAccountId };
const REGION_RE = { test: isRegion };
const ARN_RE = { test: (s: string) => parseKeyArn(s) !== undefined };
const RECIPIENT_RE = /^age1[0-9a-z]{10,4000}$/;

function readHolder(r: Reader, value: unknown, path: string): { recipient: string; label?: string } {
  const o = r.object(value, path, ['recipient'], ['label']);
  const holder: { recipient: string; label?: string } = { recipient: r.string(o.recipient, `${path}.recipient`, { re: RECIPIENT_RE, max: 4100 }) };
  if (o.label !== undefined) holder.label = r.text(o.label, `${path}.label`, 128);
  return holder;
}

function readManifest(r: Reader, value: unknown, path: string): EscrowManifest {
  const o = r.object(value, path, [
    'formatVersion',
    'escrowId',
    'escrowVersion',
    'keyArn',
    'keyId',
    'account',
    'region',
    'keySpec',
    'keyUsage',
    'multiRegion',
    'custodians',
    'created',
    'createdBy',
  ]);
  if (o.formatVersion !== ESCROW_FORMAT_VERSION) r.fail(`${path}.formatVersion`, `must be ${ESCROW_FORMAT_VERSION}`);
  const keyId = r.string(o.keyId, `${path}.keyId`, { re: KEY_ID_RE });
  const keyArn = r.string(o.keyArn, `${path}.keyArn`, { re: ARN_RE, max: 2048 });
  const account = r.string(o.account, `${path}.account`, { re: ACCOUNT_RE });
  const region = r.string(o.region, `${path}.region`, { re: REGION_RE, max: 32 });
  const c = r.object(o.custodians, `${path}.custodians`, ['recipients', 'passphrase'], ['threshold', 'split', 'payloadRecipient']);
  const recipients = r.array(c.recipients, `${path}.custodians.recipients`, 0, 255).map((entry, i) => {
    const p = `${path}.custodians.recipients[${i}]`;
    const e = r.object(entry, p, ['recipient', 'kind'], ['label']);
    const rec: CustodianRecipient = {
      recipient: r.string(e.recipient, `${p}.recipient`, { re: RECIPIENT_RE, max: 4100 }),
      kind: r.oneOf(e.kind, `${p}.kind`, ['x25519', 'pq-hybrid'] as const),
    };
    if (e.label !== undefined) rec.label = r.text(e.label, `${p}.label`, 128);
    return rec;
  });
  const custodians: EscrowCustodians = { recipients, passphrase: r.bool(c.passphrase, `${path}.custodians.passphrase`) };
  if (c.threshold !== undefined) custodians.threshold = r.int(c.threshold, `${path}.custodians.threshold`, 2, 255);
  if (c.split !== undefined) custodians.split = r.oneOf(c.split, `${path}.custodians.split`, ['xor'] as const);
  if (c.payloadRecipient !== undefined) {
    custodians.payloadRecipient = r.string(c.payloadRecipient, `${path}.custodians.payloadRecipient`, { re: RECIPIENT_RE, max: 4100 });
  }
  if (recipients.length === 0 && !custodians.passphrase) r.fail(`${path}.custodians`, 'name no custodian');
  if ((custodians.threshold !== undefined) !== (custodians.payloadRecipient !== undefined)) {
    r.fail(`${path}.custodians`, 'must give threshold and payloadRecipient together');
  }
  if (custodians.threshold !== undefined && custodians.threshold > recipients.length) {
    r.fail(`${path}.custodians.threshold`, 'exceeds the number of recipients');
  }
  if (custodians.threshold !== undefined && custodians.split !== undefined) r.fail(`${path}.custodians`, 'cannot have both threshold and split');
  if ((custodians.threshold !== undefined || custodians.split !== undefined) && custodians.passphrase) {
    r.fail(`${path}.custodians.passphrase`, 'must be false for a split escrow');
  }
  if (custodians.split !== undefined && recipients.length < 2) r.fail(`${path}.custodians.recipients`, 'must list at least 2 custodians for an XOR split');
  if (new Set(recipients.map((x) => x.recipient)).size !== recipients.length) r.fail(`${path}.custodians.recipients`, 'list a recipient twice');
  return {
    formatVersion: 1,
    escrowId: r.string(o.escrowId, `${path}.escrowId`, { re: HEX32_RE }),
    escrowVersion: r.int(o.escrowVersion, `${path}.escrowVersion`, 1, 999_999_999),
    keyArn,
    keyId,
    account,
    region,
    keySpec: r.oneOf(o.keySpec, `${path}.keySpec`, KEY_SPECS),
    keyUsage: r.oneOf(o.keyUsage, `${path}.keyUsage`, KEY_USAGES),
    multiRegion: r.bool(o.multiRegion, `${path}.multiRegion`),
    custodians,
    created: r.iso(o.created, `${path}.created`),
    createdBy: r.text(o.createdBy, `${path}.createdBy`, 256),
  };
}

/** The manifest as the JSON object the format writes (fixed key order). */
export function manifestToJson(m: EscrowManifest): Record<string, unknown> {
  const custodians: Record<string, unknown> = {
    recipients: m.custodians.recipients.map((r) => ({
      recipient: r.recipient,
      kind: r.kind,
      ...(r.label === undefined ? {} : { label: r.label }),
    })),
    passphrase: m.custodians.passphrase,
  };
  if (m.custodians.threshold !== undefined) custodians.threshold = m.custodians.threshold;
  if (m.custodians.split !== undefined) custodians.split = m.custodians.split;
  if (m.custodians.payloadRecipient !== undefined) custodians.payloadRecipient = m.custodians.payloadRecipient;
  return {
    formatVersion: m.formatVersion,
    escrowId: m.escrowId,
    escrowVersion: m.escrowVersion,
    keyArn: m.keyArn,
    keyId: m.keyId,
    account: m.account,
    region: m.region,
    keySpec: m.keySpec,
    keyUsage: m.keyUsage,
    multiRegion: m.multiRegion,
    custodians,
    created: m.created,
    createdBy: m.createdBy,
  };
}

/** Validates a manifest built in memory (same rules as parsing one). */
export function validateManifest(m: EscrowManifest): EscrowManifest {
  return readManifest(new Reader('escrow manifest', 'ERR_ESCROW_FORMAT'), JSON.parse(JSON.stringify(manifestToJson(m))), 'manifest');
}

/**
 * The first field where two manifests differ (JSON path), or undefined when they are equal.
 * Compares the canonical JSON of every field, so any difference is found.
 */
export function manifestDifference(a: EscrowManifest, b: EscrowManifest): string | undefined {
  const ja = manifestToJson(a);
  const jb = manifestToJson(b);
  for (const key of Object.keys({ ...ja, ...jb })) {
    if (JSON.stringify(ja[key]) !== JSON.stringify(jb[key])) return `manifest.${key}`;
  }
  return undefined;
}

/** Reads `format` and `version` first, so a future version is refused by name, not as garbage. */
function readEnvelope(r: Reader, value: unknown, expectedFormat: string, versions: readonly number[] = [ESCROW_FORMAT_VERSION]): Record<string, Json> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) r.fail('document', 'must be a JSON object');
  const o = value as Record<string, Json>;
  if (o.format !== expectedFormat) {
    throw new KmsByokError('ERR_ESCROW_FORMAT', `${r.doc}: not a ${expectedFormat} document`, {
      hint: 'check that you gave the right file',
    });
  }
  if (typeof o.version !== 'number' || !versions.includes(o.version)) {
    const v = typeof o.version === 'number' || typeof o.version === 'string' ? String(o.version) : 'unknown';
    throw new KmsByokError(
      'ERR_ESCROW_VERSION',
      `${r.doc}: format version ${v.slice(0, 20)} is not supported: this build reads version ${versions.length === 1 ? versions[0] : `${versions.slice(0, -1).join(', ')} and ${versions[versions.length - 1]}`}`,
      { hint: 'use a newer kms-byok, or open the file with stock age as in docs/disaster-recovery.md' },
    );
  }
  return o;
}

function parseJsonBytes(r: Reader, bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    r.fail('document', 'is not UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    r.fail('document', 'is not JSON');
  }
}

// ---------------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------------

/**
 * Serializes the payload to UTF-8 JSON bytes. The result holds the materials in base64: the caller
 * seals it and then zeroes it. (The base64 text also passes through a JS string, which cannot be
 * zeroed; that copy lives until garbage collection.)
 */
export function serializePayload(payload: EscrowPayload): Uint8Array {
  const doc = {
    format: PAYLOAD_FORMAT,
    version: ESCROW_FORMAT_VERSION,
    manifest: manifestToJson(payload.manifest),
    materials: payload.materials.map((m) => ({
      index: m.index,
      checkValue: m.checkValue,
      material: base64Of(m.material),
      ...(m.keyMaterialId === undefined ? {} : { keyMaterialId: m.keyMaterialId }),
      ...(m.description === undefined ? {} : { description: m.description }),
      createdAt: m.createdAt,
    })),
  };
  return encodeJson(doc);
}

function readMaterialCommon(r: Reader, o: Record<string, Json>, p: string, expectedIndex: number) {
  const index = r.int(o.index, `${p}.index`, 1, 1000);
  if (index !== expectedIndex) r.fail(`${p}.index`, `must be ${expectedIndex} (materials are numbered 1, 2, … in order)`);
  const checkValue = r.string(o.checkValue, `${p}.checkValue`, { re: CHECK_VALUE_RE, max: 200 });
  const out: { index: number; checkValue: string; keyMaterialId?: string; description?: string; createdAt: string } = {
    index,
    checkValue,
    createdAt: r.iso(o.createdAt, `${p}.createdAt`),
  };
  if (o.keyMaterialId !== undefined) out.keyMaterialId = r.string(o.keyMaterialId, `${p}.keyMaterialId`, { re: HEX64_RE });
  if (o.description !== undefined) out.description = r.text(o.description, `${p}.description`, 256);
  return out;
}

/**
 * Parses decrypted payload bytes strictly. Material bytes go straight into SecretBytes; the
 * intermediate decode buffers are zeroed. Throws ERR_ESCROW_VERSION for another format version and
 * ERR_ESCROW_FORMAT for anything else that is not exactly format v1.
 */
export function parsePayload(bytes: Uint8Array): EscrowPayload {
  const r: Reader = new Reader('escrow payload');
  const o = readEnvelope(r, parseJsonBytes(r, bytes), PAYLOAD_FORMAT);
  r.object(o, 'payload', ['format', 'version', 'manifest', 'materials']);
  const manifest = readManifest(r, o.manifest, 'manifest');
  const materials: EscrowMaterial[] = [];
  try {
    r.array(o.materials, 'materials', 1, 1000).forEach((entry, i) => {
      const p = `materials[${i}]`;
      const e = r.object(entry, p, ['index', 'checkValue', 'material', 'createdAt'], ['keyMaterialId', 'description']);
      const common = readMaterialCommon(r, e, p, i + 1);
      const raw = decodeStrictBase64(r.string(e.material, `${p}.material`, { max: 16384 }));
      if (raw === undefined || raw.length === 0) r.fail(`${p}.material`, 'must be non-empty base64');
      materials.push({ ...common, material: SecretBytes.adopt(raw) });
    });
  } catch (e) {
    for (const m of materials) m.material.dispose();
    throw e;
  }
  return { manifest, materials };
}

// ---------------------------------------------------------------------------------------------
// Sidecar
// ---------------------------------------------------------------------------------------------

/** The sidecar as the JSON object the format writes (fixed key order). */
export function sidecarToJson(s: EscrowSidecar): Record<string, unknown> {
  return {
    format: SIDECAR_FORMAT,
    version: sidecarVersionOf(s),
    manifest: manifestToJson(s.manifest),
    files: s.files.map((f) => ({
      name: f.name,
      role: f.role,
      sha256: f.sha256,
      ...(f.holder === undefined ? {} : { holder: holderJson(f.holder) }),
      ...(f.index === undefined ? {} : { index: f.index }),
      ...(f.checkValue === undefined ? {} : { checkValue: f.checkValue }),
    })),
    materials: s.materials.map((m) => ({
      index: m.index,
      checkValue: m.checkValue,
      ...(m.keyMaterialId === undefined ? {} : { keyMaterialId: m.keyMaterialId }),
      ...(m.firstImport === undefined ? {} : { firstImport: importJson(m.firstImport) }),
      validTo: m.validTo.map((v) => ({
        recordedAt: v.recordedAt,
        region: v.region,
        expirationModel: v.expirationModel,
        ...(v.validTo === undefined ? {} : { validTo: v.validTo }),
      })),
      ...(m.components === undefined
        ? {}
        : { components: m.components.map((c) => ({ index: c.index, holder: holderJson(c.holder), checkValue: c.checkValue })) }),
      ...(m.anchor === undefined ? {} : { anchor: m.anchor }),
    })),
    updated: s.updated,
  };
}

/** The sidecar versions this build reads: 1 (no anchors), 2 (anchors) and 3 (renewal seals): docs/escrow-format.md. */
export const SIDECAR_VERSIONS = [1, 2, 3] as const;

/**
 * A sidecar is version 3 exactly when it lists a renewal seal, else version 2 exactly when its
 * materials name anchors (all of them, checked on parse), else 1. So an escrow without renewal seals
 * stays readable by builds that know version 2.
 */
export function sidecarVersionOf(s: Pick<EscrowSidecar, 'materials' | 'files'>): 1 | 2 | 3 {
  if (s.files.some((f) => f.role === 'renewal')) return 3;
  return s.materials.some((m) => m.anchor !== undefined) ? 2 : 1;
}

function holderJson(h: { recipient: string; label?: string }): Record<string, string> {
  return h.label === undefined ? { recipient: h.recipient } : { recipient: h.recipient, label: h.label };
}

function importJson(i: ImportRecord): Record<string, string> {
  const out: Record<string, string> = { importedAt: i.importedAt, region: i.region };
  if (i.keyMaterialId !== undefined) out.keyMaterialId = i.keyMaterialId;
  if (i.wrappingAlgorithm !== undefined) out.wrappingAlgorithm = i.wrappingAlgorithm;
  if (i.wrappingKeySpec !== undefined) out.wrappingKeySpec = i.wrappingKeySpec;
  return out;
}

/** Serializes a sidecar to UTF-8 JSON bytes. */
export function serializeSidecar(s: EscrowSidecar): Uint8Array {
  return encodeJson(sidecarToJson(s));
}

/** Parses sidecar bytes (or an already-parsed JSON value) strictly. */
export function parseSidecar(input: Uint8Array | unknown): EscrowSidecar {
  const r: Reader = new Reader('escrow sidecar');
  const value = input instanceof Uint8Array ? parseJsonBytes(r, input) : input;
  const o = readEnvelope(r, value, SIDECAR_FORMAT, SIDECAR_VERSIONS);
  const version = o.version as 1 | 2 | 3;
  r.object(o, 'sidecar', ['format', 'version', 'manifest', 'files', 'materials', 'updated']);
  const manifest = readManifest(r, o.manifest, 'manifest');
  const stem = `${manifest.keyId}.v${manifest.escrowVersion}`;
  const files = r.array(o.files, 'files', 1, 300).map((entry, i): SidecarFile => {
    const p = `files[${i}]`;
    const e = r.object(entry, p, ['name', 'role', 'sha256'], ['holder', 'index', 'checkValue']);
    const name = r.string(e.name, `${p}.name`, { max: 200 });
    const parsed = parseEscrowFileName(name);
    if (parsed === undefined || parsed.sidecar || !name.startsWith(`${stem}.`)) r.fail(`${p}.name`, `must be a file of ${stem}`);
    const f: SidecarFile = {
      name,
      role: r.oneOf(e.role, `${p}.role`, (version === 3 ? ['recipients', 'passphrase', 'threshold-payload', 'share', 'component', 'renewal'] : ['recipients', 'passphrase', 'threshold-payload', 'share', 'component']) as readonly SealedFileRole[]),
      sha256: r.string(e.sha256, `${p}.sha256`, { re: HEX64_RE }),
    };
    if (e.holder !== undefined) f.holder = readHolder(r, e.holder, `${p}.holder`);
    if (e.index !== undefined) f.index = r.int(e.index, `${p}.index`, 1, 255);
    if (e.checkValue !== undefined) {
      if (f.role !== 'share') r.fail(`${p}.checkValue`, 'is recorded for share files only');
      f.checkValue = r.string(e.checkValue, `${p}.checkValue`, { re: SHARE_CHECK_RE });
    }
    return f;
  });
  const names = new Set(files.map((f) => f.name));
  if (names.size !== files.length) r.fail('files', 'list a file twice');
  files.forEach((f, i) => {
    const renewalName = /\.renewal-[1-9][0-9]{0,2}\.age$/.test(f.name);
    if ((f.role === 'renewal') !== renewalName) r.fail(`files[${i}].name`, f.role === 'renewal' ? 'must be <stem>.renewal-<i>.age' : `is a renewal file name, but the role is ${f.role}`);
    if (f.role === 'renewal' && (f.holder === undefined || f.index === undefined)) r.fail(`files[${i}]`, 'a renewal seal names its holder and index');
  });
  if (version === 3 && !files.some((f) => f.role === 'renewal')) r.fail('version', 'is 3 but no renewal seal is listed');
  const materials = r.array(o.materials, 'materials', 1, 1000).map((entry, i): SidecarMaterial => {
    const p = `materials[${i}]`;
    const e = r.object(entry, p, version >= 2 ? ['index', 'checkValue', 'validTo', 'anchor'] : ['index', 'checkValue', 'validTo'], ['keyMaterialId', 'firstImport', 'components']);
    const index = r.int(e.index, `${p}.index`, 1, 1000);
    if (index !== i + 1) r.fail(`${p}.index`, `must be ${i + 1}`);
    const m: SidecarMaterial = {
      index,
      checkValue: r.string(e.checkValue, `${p}.checkValue`, { re: CHECK_VALUE_RE, max: 200 }),
      validTo: r.array(e.validTo, `${p}.validTo`, 0, 10000).map((v, j) => {
        const q = `${p}.validTo[${j}]`;
        const vo = r.object(v, q, ['recordedAt', 'region', 'expirationModel'], ['validTo']);
        const rec: ValidToRecord = {
          recordedAt: r.iso(vo.recordedAt, `${q}.recordedAt`),
          region: r.string(vo.region, `${q}.region`, { re: REGION_RE, max: 32 }),
          expirationModel: r.oneOf(vo.expirationModel, `${q}.expirationModel`, ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] as const),
        };
        if (vo.validTo !== undefined) rec.validTo = r.iso(vo.validTo, `${q}.validTo`);
        if ((rec.expirationModel === 'KEY_MATERIAL_EXPIRES') !== (rec.validTo !== undefined)) {
          r.fail(q, 'must give validTo exactly when expirationModel is KEY_MATERIAL_EXPIRES');
        }
        return rec;
      }),
    };
    if (e.keyMaterialId !== undefined) m.keyMaterialId = r.string(e.keyMaterialId, `${p}.keyMaterialId`, { re: HEX64_RE });
    if (version >= 2) m.anchor = r.string(e.anchor, `${p}.anchor`, { re: ANCHOR_RE });
    if (e.firstImport !== undefined) {
      const q = `${p}.firstImport`;
      const fo = r.object(e.firstImport, q, ['importedAt', 'region'], ['keyMaterialId', 'wrappingAlgorithm', 'wrappingKeySpec']);
      const fi: ImportRecord = { importedAt: r.iso(fo.importedAt, `${q}.importedAt`), region: r.string(fo.region, `${q}.region`, { re: REGION_RE, max: 32 }) };
      if (fo.keyMaterialId !== undefined) fi.keyMaterialId = r.string(fo.keyMaterialId, `${q}.keyMaterialId`, { re: HEX64_RE });
      if (fo.wrappingAlgorithm !== undefined) fi.wrappingAlgorithm = r.oneOf(fo.wrappingAlgorithm, `${q}.wrappingAlgorithm`, WRAPPING_ALGORITHMS);
      if (fo.wrappingKeySpec !== undefined) fi.wrappingKeySpec = r.oneOf(fo.wrappingKeySpec, `${q}.wrappingKeySpec`, WRAPPING_KEY_SPECS);
      m.firstImport = fi;
    }
    if (e.components !== undefined) {
      m.components = r.array(e.components, `${p}.components`, 2, 255).map((c, j) => {
        const q = `${p}.components[${j}]`;
        const co = r.object(c, q, ['index', 'holder', 'checkValue']);
        const idx = r.int(co.index, `${q}.index`, 1, 255);
        if (idx !== j + 1) r.fail(`${q}.index`, `must be ${j + 1}`);
        return { index: idx, holder: readHolder(r, co.holder, `${q}.holder`), checkValue: r.string(co.checkValue, `${q}.checkValue`, { re: CHECK_VALUE_RE, max: 200 }) };
      });
    }
    return m;
  });
  return { format: SIDECAR_FORMAT, version, manifest, files, materials, updated: r.iso(o.updated, 'updated') };
}

// ---------------------------------------------------------------------------------------------
// Share and component documents
// ---------------------------------------------------------------------------------------------

/** Serializes a share document (secret: seal it, then zero the bytes). */
export function serializeShare(d: ShareDocument): Uint8Array {
  return encodeJson({
    format: SHARE_FORMAT,
    version: ESCROW_FORMAT_VERSION,
    escrowId: d.escrowId,
    keyId: d.keyId,
    keyArn: d.keyArn,
    escrowVersion: d.escrowVersion,
    payloadFile: d.payloadFile,
    payloadRecipient: d.payloadRecipient,
    threshold: d.threshold,
    shares: d.shares,
    shareIndex: d.shareIndex,
    holder: holderJson(d.holder),
    share: base64Of(d.share),
  });
}

/** Parses a decrypted share document strictly. */
export function parseShare(bytes: Uint8Array): ShareDocument {
  const r: Reader = new Reader('escrow share');
  const o = readEnvelope(r, parseJsonBytes(r, bytes), SHARE_FORMAT);
  r.object(o, 'share', [
    'format',
    'version',
    'escrowId',
    'keyId',
    'keyArn',
    'escrowVersion',
    'payloadFile',
    'payloadRecipient',
    'threshold',
    'shares',
    'shareIndex',
    'holder',
    'share',
  ]);
  const shares = r.int(o.shares, 'shares', 2, 255);
  const fields = {
    escrowId: r.string(o.escrowId, 'escrowId', { re: HEX32_RE }),
    keyId: r.string(o.keyId, 'keyId', { re: KEY_ID_RE }),
    keyArn: r.string(o.keyArn, 'keyArn', { re: ARN_RE, max: 2048 }),
    escrowVersion: r.int(o.escrowVersion, 'escrowVersion', 1, 999_999_999),
    payloadFile: r.string(o.payloadFile, 'payloadFile', { max: 200 }),
    payloadRecipient: r.string(o.payloadRecipient, 'payloadRecipient', { re: RECIPIENT_RE, max: 4100 }),
    threshold: r.int(o.threshold, 'threshold', 2, shares),
    shares,
    shareIndex: r.int(o.shareIndex, 'shareIndex', 1, shares),
    holder: readHolder(r, o.holder, 'holder'),
  };
  // The secret is decoded last, so no validation failure can leave it behind un-zeroed.
  const raw = decodeStrictBase64(r.string(o.share, 'share', { max: 4096 }));
  if (raw === undefined || raw.length < 2) r.fail('share', 'must be base64 of at least 2 bytes');
  return { ...fields, share: SecretBytes.adopt(raw) };
}

/** Serializes a component document (secret: seal it, then zero the bytes). */
export function serializeComponent(d: ComponentDocument): Uint8Array {
  return encodeJson({
    format: COMPONENT_FORMAT,
    version: ESCROW_FORMAT_VERSION,
    escrowId: d.escrowId,
    manifest: manifestToJson(d.manifest),
    componentIndex: d.componentIndex,
    components: d.components,
    holder: holderJson(d.holder),
    materials: d.materials.map((m) => ({
      index: m.index,
      checkValue: m.checkValue,
      componentCheckValue: m.componentCheckValue,
      component: base64Of(m.component),
      ...(m.keyMaterialId === undefined ? {} : { keyMaterialId: m.keyMaterialId }),
      ...(m.description === undefined ? {} : { description: m.description }),
      createdAt: m.createdAt,
    })),
  });
}

/** Parses a decrypted component document strictly. */
export function parseComponent(bytes: Uint8Array): ComponentDocument {
  const r: Reader = new Reader('escrow component');
  const o = readEnvelope(r, parseJsonBytes(r, bytes), COMPONENT_FORMAT);
  r.object(o, 'component', ['format', 'version', 'escrowId', 'manifest', 'componentIndex', 'components', 'holder', 'materials']);
  const manifest = readManifest(r, o.manifest, 'manifest');
  const components = r.int(o.components, 'components', 2, 255);
  const escrowId = r.string(o.escrowId, 'escrowId', { re: HEX32_RE });
  const componentIndex = r.int(o.componentIndex, 'componentIndex', 1, components);
  const holder = readHolder(r, o.holder, 'holder');
  const materials: ComponentDocument['materials'] = [];
  try {
    r.array(o.materials, 'materials', 1, 1000).forEach((entry, i) => {
      const p = `materials[${i}]`;
      const e = r.object(entry, p, ['index', 'checkValue', 'componentCheckValue', 'component', 'createdAt'], ['keyMaterialId', 'description']);
      const common = readMaterialCommon(r, e, p, i + 1);
      const componentCheck = r.string(e.componentCheckValue, `${p}.componentCheckValue`, { re: CHECK_VALUE_RE, max: 200 });
      const raw = decodeStrictBase64(r.string(e.component, `${p}.component`, { max: 16384 }));
      if (raw === undefined || raw.length === 0) r.fail(`${p}.component`, 'must be non-empty base64');
      materials.push({ ...common, componentCheckValue: componentCheck, component: SecretBytes.adopt(raw) });
    });
  } catch (e) {
    for (const m of materials) m.component.dispose();
    throw e;
  }
  return { escrowId, manifest, componentIndex, components, holder, materials };
}
