/**
 * The air-gapped ceremony in three steps, each a function over ports (docs/air-gapped.md):
 *
 * 1. online  — {@link runExportParameters}: CreateKey (+ alias) and GetParametersForImport; the result
 *    is a parameters bundle (wrapping public key, import token, ParametersValidTo, key facts). Stops.
 * 2. offline — {@link runWrap}: generates (or takes) the material, seals and durably writes the escrow,
 *    wraps the material with the bundle's public key; the result is an import bundle. No KMS port:
 *    this step cannot reach AWS.
 * 3. online  — {@link runImportBundle}: checks the bundle is for this key and still valid, imports,
 *    and verifies what can be verified without the material.
 *
 * Bundles are versioned JSON with a SHA-256 fingerprint over their canonical form; both machines show
 * it so operators can compare. Parsing is strict: unknown fields, bad types or a wrong fingerprint are
 * refused (ERR_BUNDLE_FORMAT / ERR_BUNDLE_TAMPERED).
 */
import { constants, createHash, createHmac, createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { KmsByokError } from '../core/errors.js';
import { isAccountId, isRegion, parseKeyArn } from '../core/aws-ids.js';
import { bytesEqual, fromBase64, toBase64 } from '../core/bytes.js';
import type { SecretBytes } from '../core/secret.js';
import {
  KEY_SPECS,
  KEY_USAGES,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  type ExpirationModel,
  type KeySpec,
  type KeyUsage,
  type WrappingAlgorithm,
  type WrappingKeySpec,
} from '../core/aws-names.js';
import type { KeyInfo, KmsPort, MacAlgorithm } from '../kms/port.js';
import { generateKeyMaterial } from '../material/generate.js';
import { checkValue, publicKeyFromMaterial } from '../material/check-value.js';
import { assertKeyUsageAllowed, assertWrappingAllowed, importableKeySpecInfo } from '../material/key-specs.js';
import { assertMaterialMatchesSpec } from '../material/parse.js';
import { parseWrappingPublicKey, wrapKeyMaterial } from '../wrapping/index.js';
import { ANCHOR_RE, anchorDescription, anchorFingerprint, sealEscrow, type EscrowSealing, type ImportFact, type SealedEscrow } from '../escrow/index.js';
import { readAnchors, writeAnchors } from '../ceremony/anchor.js';
import type { CeremonyDeps, WrittenEscrow } from '../ceremony/ports.js';
import { resolveValidTo, type ExpiryChoice } from '../ceremony/onboard.js';
import { retryWhileNotFound } from '../ceremony/retry.js';
import { SIGNING } from '../ceremony/prove.js';
import { ImportSession, type Imported } from '../ceremony/import-session.js';
import { ensureAlias, obtainKey } from '../ceremony/create-key.js';
import { NO_JOURNAL, type JournalPort } from '../ceremony/shared.js';
import { randomUUID } from 'node:crypto';

export const PARAMETERS_FORMAT = 'kms-byok-parameters';
export const IMPORT_FORMAT = 'kms-byok-import';
export const BUNDLE_VERSION = 1;

/** The key a bundle is for, as KMS described it at step 1. */
export interface BundleKey {
  keyArn: string;
  keyId: string;
  region: string;
  accountId: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  multiRegion: boolean;
  alias?: string;
}

/** The expiry chosen at step 1, applied at step 3. */
export type BundleExpiry =
  | { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }
  | { ExpirationModel: 'KEY_MATERIAL_EXPIRES'; ValidTo: string }
  | { ExpirationModel: 'KEY_MATERIAL_EXPIRES'; ExpiresInSeconds: number };

/** Step 1's output. */
export interface ParametersBundle {
  format: typeof PARAMETERS_FORMAT;
  version: 1;
  createdAt: string;
  key: BundleKey;
  WrappingAlgorithm: WrappingAlgorithm;
  WrappingKeySpec: WrappingKeySpec;
  /** DER SubjectPublicKeyInfo of the wrapping key, base64. */
  PublicKey: string;
  ImportToken: string;
  ParametersValidTo: string;
  expiry: BundleExpiry;
  /** SHA-256 (hex) of the canonical JSON of every other field. */
  sha256: string;
}

/** What step 3 can check without the material. */
export type BundleProof =
  | { method: 'encrypt-decrypt' }
  | { method: 'generate-mac'; MacAlgorithm: MacAlgorithm; message: string; mac: string }
  | { method: 'public-key'; PublicKey: string };

/** Step 2's output. */
export interface ImportBundle {
  format: typeof IMPORT_FORMAT;
  version: 1;
  createdAt: string;
  /** Fingerprint of the parameters bundle this was wrapped for. */
  parametersSha256: string;
  key: BundleKey;
  WrappingAlgorithm: WrappingAlgorithm;
  WrappingKeySpec: WrappingKeySpec;
  ImportToken: string;
  ParametersValidTo: string;
  expiry: BundleExpiry;
  EncryptedKeyMaterial: string;
  checkValue: string;
  proof: BundleProof;
  /**
   * The material's escrow anchor, computed offline by `wrap` (docs/escrow-format.md, "Anchors"):
   * `import` tags the key with it before the import. Absent in bundles of builds before anchors.
   */
  anchor?: string;
  /** Where the escrow was written on the offline machine (file names; the directory is not trusted). */
  escrow: { escrowVersion: number; file: string; sidecar: string; files: { name: string; sha256: string }[] };
  sha256: string;
}

export type Bundle = ParametersBundle | ImportBundle;

// ---------------------------------------------------------------------------------------------
// Canonical form, fingerprint, strict parsing.

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The fingerprint of a bundle: SHA-256 of the canonical JSON of every field but `sha256`. */
export function bundleFingerprint(b: Omit<Bundle, 'sha256'> & { sha256?: string }): string {
  const { sha256: _ignored, ...body } = b;
  return sha256Hex(JSON.stringify(body));
}

/** Serializes a bundle (2-space JSON, trailing newline). */
export function serializeBundle(b: Bundle): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(b, null, 2)}\n`);
}

function formatError(what: string, source: string): KmsByokError {
  return new KmsByokError('ERR_BUNDLE_FORMAT', `${source} is not a valid kms-byok bundle: ${what}`, {
    hint: 'use the file written by kms-byok onboard --export-parameters (step 1) or kms-byok wrap (step 2), unmodified',
  });
}

type Json = Record<string, unknown>;

function obj(v: unknown, what: string, source: string, keys: readonly string[], optional: readonly string[] = []): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw formatError(`${what} is not an object`, source);
  const o = v as Json;
  for (const k of Object.keys(o)) if (!keys.includes(k) && !optional.includes(k)) throw formatError(`unknown field ${what}.${k}`, source);
  for (const k of keys) if (!(k in o)) throw formatError(`missing field ${what}.${k}`, source);
  return o;
}

function str(o: Json, k: string, source: string, pattern?: { test(s: string): boolean }): string {
  const v = o[k];
  if (typeof v !== 'string' || (pattern && !pattern.test(v))) throw formatError(`field ${k} is not valid`, source);
  return v;
}

function oneOf<T extends string>(o: Json, k: string, values: readonly T[], source: string): T {
  const v = o[k];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw formatError(`field ${k} is not one of ${values.join(', ')}`, source);
  return v as T;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function parseKey(v: unknown, source: string): BundleKey {
  const o = obj(v, 'key', source, ['keyArn', 'keyId', 'region', 'accountId', 'keySpec', 'keyUsage', 'multiRegion'], ['alias']);
  if (typeof o.multiRegion !== 'boolean') throw formatError('field multiRegion is not a boolean', source);
  const key: BundleKey = {
    keyArn: str(o, 'keyArn', source, { test: (s) => parseKeyArn(s) !== undefined }),
    keyId: str(o, 'keyId', source, /^[A-Za-z0-9-]{1,128}$/),
    region: str(o, 'region', source, { test: isRegion }),
    accountId: str(o, 'accountId', source, { test: isAccountId }),
    keySpec: oneOf(o, 'keySpec', KEY_SPECS, source),
    keyUsage: oneOf(o, 'keyUsage', KEY_USAGES, source),
    multiRegion: o.multiRegion,
  };
  if (o.alias !== undefined) key.alias = str(o, 'alias', source, /^alias\/[a-zA-Z0-9/_-]{1,250}$/);
  if (!key.keyArn.endsWith(`:key/${key.keyId}`) || !key.keyArn.includes(`:${key.region}:${key.accountId}:`)) throw formatError('key ARN, id, Region and account disagree', source);
  return key;
}

function parseExpiry(v: unknown, source: string): BundleExpiry {
  const o = v as Json;
  if (typeof o === 'object' && o !== null && o.ExpirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    obj(v, 'expiry', source, ['ExpirationModel']);
    return { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' };
  }
  if (typeof o === 'object' && o !== null && 'ValidTo' in o) {
    obj(v, 'expiry', source, ['ExpirationModel', 'ValidTo']);
    return { ExpirationModel: oneOf(o, 'ExpirationModel', ['KEY_MATERIAL_EXPIRES'] as const, source), ValidTo: str(o, 'ValidTo', source, ISO) };
  }
  const e = obj(v, 'expiry', source, ['ExpirationModel', 'ExpiresInSeconds']);
  if (!Number.isSafeInteger(e.ExpiresInSeconds) || (e.ExpiresInSeconds as number) <= 0) throw formatError('field ExpiresInSeconds is not valid', source);
  return { ExpirationModel: oneOf(e, 'ExpirationModel', ['KEY_MATERIAL_EXPIRES'] as const, source), ExpiresInSeconds: e.ExpiresInSeconds as number };
}

function parseProof(v: unknown, source: string): BundleProof {
  const method = (v as Json | null)?.method;
  if (method === 'encrypt-decrypt') {
    obj(v, 'proof', source, ['method']);
    return { method };
  }
  if (method === 'generate-mac') {
    const o = obj(v, 'proof', source, ['method', 'MacAlgorithm', 'message', 'mac']);
    return { method, MacAlgorithm: oneOf(o, 'MacAlgorithm', ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const, source), message: str(o, 'message', source, B64), mac: str(o, 'mac', source, B64) };
  }
  const o = obj(v, 'proof', source, ['method', 'PublicKey']);
  if (o.method !== 'public-key') throw formatError('field proof.method is not valid', source);
  return { method: 'public-key', PublicKey: str(o, 'PublicKey', source, B64) };
}

/**
 * Parses a bundle strictly and checks its fingerprint.
 *
 * @throws KmsByokError ERR_BUNDLE_FORMAT (not JSON, wrong format/version, bad or unknown fields),
 *   ERR_BUNDLE_TAMPERED (the fingerprint does not match the content).
 */
export function parseBundle(bytes: Uint8Array, source: string): Bundle {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw formatError('not JSON', source);
  }
  const format = (v as Json | null)?.format;
  const version = (v as Json | null)?.version;
  if (format !== PARAMETERS_FORMAT && format !== IMPORT_FORMAT) throw formatError(`format is not ${PARAMETERS_FORMAT} or ${IMPORT_FORMAT}`, source);
  if (version !== BUNDLE_VERSION) throw formatError(`version ${String(version)} is not supported (this kms-byok reads version ${BUNDLE_VERSION})`, source);
  const common = ['format', 'version', 'createdAt', 'key', 'WrappingAlgorithm', 'WrappingKeySpec', 'ImportToken', 'ParametersValidTo', 'expiry', 'sha256'];
  let bundle: Bundle;
  if (format === PARAMETERS_FORMAT) {
    const o = obj(v, 'bundle', source, [...common, 'PublicKey']);
    bundle = {
      format,
      version: 1,
      createdAt: str(o, 'createdAt', source, ISO),
      key: parseKey(o.key, source),
      WrappingAlgorithm: oneOf(o, 'WrappingAlgorithm', WRAPPING_ALGORITHMS, source),
      WrappingKeySpec: oneOf(o, 'WrappingKeySpec', WRAPPING_KEY_SPECS, source),
      PublicKey: str(o, 'PublicKey', source, B64),
      ImportToken: str(o, 'ImportToken', source, B64),
      ParametersValidTo: str(o, 'ParametersValidTo', source, ISO),
      expiry: parseExpiry(o.expiry, source),
      sha256: str(o, 'sha256', source, HEX64),
    };
  } else {
    const o = obj(v, 'bundle', source, [...common, 'parametersSha256', 'EncryptedKeyMaterial', 'checkValue', 'proof', 'escrow'], ['anchor']);
    const e = obj(o.escrow, 'escrow', source, ['escrowVersion', 'file', 'sidecar', 'files']);
    if (!Number.isSafeInteger(e.escrowVersion) || (e.escrowVersion as number) < 1 || !Array.isArray(e.files)) throw formatError('field escrow is not valid', source);
    bundle = {
      format,
      version: 1,
      createdAt: str(o, 'createdAt', source, ISO),
      parametersSha256: str(o, 'parametersSha256', source, HEX64),
      key: parseKey(o.key, source),
      WrappingAlgorithm: oneOf(o, 'WrappingAlgorithm', WRAPPING_ALGORITHMS, source),
      WrappingKeySpec: oneOf(o, 'WrappingKeySpec', WRAPPING_KEY_SPECS, source),
      ImportToken: str(o, 'ImportToken', source, B64),
      ParametersValidTo: str(o, 'ParametersValidTo', source, ISO),
      expiry: parseExpiry(o.expiry, source),
      EncryptedKeyMaterial: str(o, 'EncryptedKeyMaterial', source, B64),
      checkValue: str(o, 'checkValue', source, /^[a-z0-9-]+:[0-9A-F]+$/),
      proof: parseProof(o.proof, source),
      ...(o.anchor !== undefined ? { anchor: str(o, 'anchor', source, ANCHOR_RE) } : {}),
      escrow: {
        escrowVersion: e.escrowVersion as number,
        file: str(e, 'file', source, /^[^/\\]+$/),
        sidecar: str(e, 'sidecar', source, /^[^/\\]+$/),
        files: (e.files as unknown[]).map((f) => {
          const fo = obj(f, 'escrow.files[]', source, ['name', 'sha256']);
          return { name: str(fo, 'name', source, /^[^/\\]+$/), sha256: str(fo, 'sha256', source, HEX64) };
        }),
      },
      sha256: str(o, 'sha256', source, HEX64),
    };
  }
  const actual = bundleFingerprint(bundle);
  if (actual !== bundle.sha256) {
    throw new KmsByokError('ERR_BUNDLE_TAMPERED', `${source} was modified after it was written: its content does not match its fingerprint`, {
      hint: 'do not use it: copy the bundle again from the machine that wrote it, and compare the fingerprint both machines show',
    });
  }
  return bundle;
}

/** The bundle of the expected kind, or ERR_BUNDLE_FORMAT naming the step that writes it. */
export function expectKind<F extends Bundle['format']>(b: Bundle, format: F, source: string): Extract<Bundle, { format: F }> {
  if (b.format !== format) {
    throw new KmsByokError('ERR_BUNDLE_FORMAT', `${source} is a ${b.format === PARAMETERS_FORMAT ? 'parameters bundle (step 1)' : 'import bundle (step 2)'}, not a${format === PARAMETERS_FORMAT ? ' parameters bundle (step 1)' : 'n import bundle (step 2)'}`, {
      hint: format === PARAMETERS_FORMAT ? 'kms-byok wrap takes the file onboard --export-parameters wrote' : 'kms-byok import takes the file kms-byok wrap wrote',
    });
  }
  return b as Extract<Bundle, { format: F }>;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function toExpiryChoice(e: BundleExpiry): ExpiryChoice {
  if (e.ExpirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') return e;
  if ('ValidTo' in e) return { ExpirationModel: 'KEY_MATERIAL_EXPIRES', validTo: new Date(e.ValidTo) };
  return { ExpirationModel: 'KEY_MATERIAL_EXPIRES', expiresInMs: e.ExpiresInSeconds * 1000 };
}

function fromExpiryChoice(e: ExpiryChoice): BundleExpiry {
  if (e.ExpirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') return e;
  if ('validTo' in e) return { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: isoSeconds(e.validTo) };
  return { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ExpiresInSeconds: Math.ceil(e.expiresInMs / 1000) };
}

/** Refuses parameters whose import token has expired (by ParametersValidTo), with the next step. */
export function assertParametersValid(b: { ParametersValidTo: string; key: BundleKey }, now: Date, source: string): void {
  if (new Date(b.ParametersValidTo).getTime() > now.getTime()) return;
  throw new KmsByokError('ERR_BUNDLE_EXPIRED', `the import token in ${source} expired at ${b.ParametersValidTo} (ParametersValidTo)`, {
    hint:
      `import tokens are valid 24 hours: on the online machine fetch fresh parameters for the same key with ` +
      `kms-byok onboard --export-parameters FILE --key-id ${b.key.keyId} (no new key is created), then run kms-byok wrap again offline`,
  });
}

// ---------------------------------------------------------------------------------------------
// Step 1: online, create the key and export the import parameters.

export interface ExportParametersOptions {
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  alias?: string;
  description?: string;
  wrapping: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec };
  expiry: ExpiryChoice;
  /** Fetch fresh parameters for this existing EXTERNAL key in PendingImport instead of creating one. */
  existingKeyId?: string;
}

/** Creates the key (+ alias), fetches import parameters, and returns the parameters bundle. */
export async function runExportParameters(options: ExportParametersOptions, deps: CeremonyDeps & { journal?: JournalPort }): Promise<ParametersBundle> {
  const { kms } = deps;
  // Precondition: every local check before the first KMS call that creates anything.
  assertKeyUsageAllowed(options.keySpec, options.keyUsage);
  assertWrappingAllowed(options.keySpec, options.wrapping.WrappingAlgorithm, options.wrapping.WrappingKeySpec);
  resolveValidTo(options.expiry, deps.now());
  let key: KeyInfo;
  if (options.existingKeyId !== undefined) {
    key = await kms.describeKey(options.existingKeyId);
    if (key.Origin !== 'EXTERNAL' || key.KeyState !== 'PendingImport') {
      throw new KmsByokError('ERR_KMS_INVALID_STATE', `key ${key.KeyId} is ${key.KeyState} with origin ${key.Origin}; fresh parameters are only for an EXTERNAL key in PendingImport`, {
        hint: 'give the key that step 1 created and that has no material yet',
      });
    }
    if (key.KeySpec !== options.keySpec || key.KeyUsage !== options.keyUsage) {
      throw new KmsByokError('ERR_INVALID_COMBINATION', `key ${key.KeyId} is ${key.KeySpec}/${key.KeyUsage}, not ${options.keySpec}/${options.keyUsage}`, {
        hint: `pass --key-spec ${key.KeySpec} --key-usage ${key.KeyUsage}`,
      });
    }
    deps.progress(`found key ${key.KeyId} (${key.KeySpec}, origin ${key.Origin}, ${key.KeyState})`);
  } else {
    // Journalled like onboard: re-running the same step 1 after a lost CreateKey answer or an
    // interruption finds the key it created (src/ceremony/create-key.ts) instead of making a second.
    const journal = deps.journal ?? NO_JOURNAL;
    const ceremonyId = journal.resumed.ceremonyId ?? randomUUID();
    if (!journal.resumed.ceremonyId) await journal.step('started', { ceremonyId });
    const finish = 're-run the same command to finish it';
    key = await obtainKey(
      kms,
      { KeySpec: options.keySpec, KeyUsage: options.keyUsage, ...(options.description ? { Description: options.description } : {}) },
      { journal, ceremonyId, ...(options.alias ? { alias: options.alias } : {}), finish, keyIdFact: 'keyId', keyArnFact: 'keyArn' },
      deps,
    );
    if (options.alias) {
      const done = await ensureAlias(kms, options.alias, key.KeyId, deps.sleep);
      if (done === 'created') deps.progress(`created alias ${options.alias}`);
      await journal.step('alias', { alias: options.alias });
    }
  }
  const params = await retryWhileNotFound(() => kms.getParametersForImport(key.KeyId, options.wrapping), deps.sleep);
  parseWrappingPublicKey(params.PublicKey, params.WrappingKeySpec);
  deps.progress(`got import parameters (${params.WrappingAlgorithm}, ${params.WrappingKeySpec}, valid until ${params.ParametersValidTo.toISOString()})`);
  const body: Omit<ParametersBundle, 'sha256'> = {
    format: PARAMETERS_FORMAT,
    version: 1,
    createdAt: isoSeconds(deps.now()),
    key: {
      keyArn: key.Arn,
      keyId: key.KeyId,
      region: key.Region,
      accountId: key.AccountId,
      keySpec: key.KeySpec,
      keyUsage: key.KeyUsage,
      multiRegion: key.MultiRegion ?? false,
      ...(options.alias && options.existingKeyId === undefined ? { alias: options.alias } : {}),
    },
    WrappingAlgorithm: params.WrappingAlgorithm,
    WrappingKeySpec: params.WrappingKeySpec,
    PublicKey: toBase64(params.PublicKey),
    ImportToken: toBase64(params.ImportToken),
    ParametersValidTo: isoSeconds(params.ParametersValidTo),
    expiry: fromExpiryChoice(options.expiry),
  };
  return { ...body, sha256: bundleFingerprint(body) };
}

// ---------------------------------------------------------------------------------------------
// Step 2: offline, generate/seal/wrap.

export interface WrapOptions {
  /** Existing material; owned (and disposed) by the ceremony. Generated when absent. */
  material?: SecretBytes;
  /** How to seal the new escrow; unused (may be absent) with `existing`. */
  sealing?: EscrowSealing;
  createdBy: string;
  /** The escrow version to write (1, or the next one when this key already has escrows). */
  escrowVersion: number;
  /**
   * The escrow that already holds `material` (a re-wrap straight from the escrow, or a re-run after
   * the escrow was written): nothing new is sealed, the bundle names this one.
   */
  existing?: WrittenEscrow;
}

export interface WrapDeps {
  escrow: { write(sealed: SealedEscrow): Promise<WrittenEscrow> };
  now(): Date;
  progress(step: string): void;
}

const MAC_ALGORITHM: Record<string, MacAlgorithm> = { sha224: 'HMAC_SHA_224', sha256: 'HMAC_SHA_256', sha384: 'HMAC_SHA_384', sha512: 'HMAC_SHA_512' };

/** Seals the material in a durable escrow, wraps it for the bundle's key, and returns the import bundle. */
export async function runWrap(parameters: ParametersBundle, options: WrapOptions, deps: WrapDeps): Promise<ImportBundle> {
  const { key } = parameters;
  const now = deps.now();
  const material = options.material ?? generateKeyMaterial(key.keySpec);
  try {
    // Precondition: a token that is still valid and an expiry KMS will accept, before anything is sealed.
    assertParametersValid(parameters, now, 'the parameters bundle');
    const expiry = toExpiryChoice(parameters.expiry);
    if ('validTo' in expiry) resolveValidTo(expiry, now);
    assertMaterialMatchesSpec(material, key.keySpec);
    const kcv = checkValue(material, key.keySpec);
    deps.progress(`${options.material ? 'read' : 'generated'} ${key.keySpec} key material (check value ${kcv})`);
    const wrappingKey = fromBase64(parameters.PublicKey);
    parseWrappingPublicKey(wrappingKey, parameters.WrappingKeySpec);
    const encrypted = wrapKeyMaterial(
      material,
      { PublicKey: wrappingKey, WrappingAlgorithm: parameters.WrappingAlgorithm, WrappingKeySpec: parameters.WrappingKeySpec },
      key.keySpec,
    );
    const created = isoSeconds(now);
    let written: WrittenEscrow;
    if (options.existing) {
      written = options.existing;
      deps.progress(`material taken from escrow ${written.path} (nothing new is sealed)`);
    } else {
      if (!options.sealing) throw new KmsByokError('ERR_MISSING_INPUT', 'no sealing for the escrow', { hint: 'give --recipient or --passphrase-file' });
      const sealed = await sealEscrow(
        {
          key: { keyArn: key.keyArn, keyId: key.keyId, account: key.accountId, region: key.region, keySpec: key.keySpec, keyUsage: key.keyUsage, multiRegion: key.multiRegion },
          escrowVersion: options.escrowVersion,
          created,
          createdBy: options.createdBy,
          materials: [{ index: 1, checkValue: kcv, material, createdAt: created }],
        },
        options.sealing,
        { computeCheckValue: checkValue },
      );
      written = await deps.escrow.write(sealed);
      deps.progress(`material sealed in escrow ${written.path}`);
    }
    const proof = recordedProof(material, key.keySpec);
    deps.progress(`wrapped the material with ${parameters.WrappingAlgorithm} (${parameters.WrappingKeySpec})`);
    const base = (p: string) => p.split(/[\\/]/).pop()!;
    const body: Omit<ImportBundle, 'sha256'> = {
      format: IMPORT_FORMAT,
      version: 1,
      createdAt: created,
      parametersSha256: parameters.sha256,
      key,
      WrappingAlgorithm: parameters.WrappingAlgorithm,
      WrappingKeySpec: parameters.WrappingKeySpec,
      ImportToken: parameters.ImportToken,
      ParametersValidTo: parameters.ParametersValidTo,
      expiry: parameters.expiry,
      EncryptedKeyMaterial: toBase64(encrypted),
      checkValue: kcv,
      proof,
      anchor: anchorFingerprint(material, key.keyId, 1),
      escrow: {
        escrowVersion: options.escrowVersion,
        file: base(written.path),
        sidecar: base(written.sidecarPath),
        files: written.files.map((f) => ({ name: base(f.path), sha256: f.sha256 })),
      },
    };
    return { ...body, sha256: bundleFingerprint(body) };
  } finally {
    material.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Step 3: online, import and verify without the material.

export interface ImportBundleOptions {
  /** The key the operator means (id, ARN or alias): the bundle must be for it. */
  expectKey?: string;
}

export interface ImportBundleDeps extends CeremonyDeps {
  /** Records the import in the escrow sidecar when it is reachable; returns where, or undefined. */
  recordImport(fact: ImportFact): Promise<string | undefined>;
}

export interface ImportBundleResult {
  keyId: string;
  keyArn: string;
  alias?: string;
  keyState: string;
  expirationModel: ExpirationModel;
  validTo?: string;
  keyMaterialId?: string;
  checkValue: string;
  bundleSha256: string;
  verified: { enabled: boolean; method: string; summary: string };
  /** The sidecar the import was recorded in, when reachable. */
  sidecar?: string;
  /** The facts to record by hand when the sidecar was not reachable. */
  unrecorded?: ImportFact;
}


function wrongKey(message: string, hint: string): KmsByokError {
  return new KmsByokError('ERR_BUNDLE_WRONG_KEY', message, { hint });
}

/**
 * What can later prove, without the material, that KMS holds it: nothing extra for symmetric keys
 * (a re-import under the KeyMaterialId does), a MAC over a random message for HMAC keys, the public
 * key for asymmetric keys. Not secret.
 */
export function recordedProof(material: SecretBytes, keySpec: KeySpec): BundleProof {
  const shape = importableKeySpecInfo(keySpec).material;
  if (shape.kind === 'symmetric') return { method: 'encrypt-decrypt' };
  if (shape.kind === 'hmac') {
    const message = randomBytes(32);
    const mac = material.use((m) => createHmac(shape.hash, m).update(message).digest());
    return { method: 'generate-mac', MacAlgorithm: MAC_ALGORITHM[shape.hash]!, message: toBase64(message), mac: toBase64(mac) };
  }
  return { method: 'public-key', PublicKey: toBase64(publicKeyFromMaterial(material, keySpec)) };
}

/** Proves what can be proven without the material: the checks recorded offline in the bundle. */
export async function proveWithoutMaterial(kms: KmsPort, b: { key: Pick<BundleKey, 'keyId' | 'keySpec' | 'keyUsage'>; proof: BundleProof }): Promise<{ method: string; summary: string }> {
  const fail = (what: string) =>
    new KmsByokError('ERR_VERIFY_FAILED', `key ${b.key.keyId}: ${what}`, { hint: 'KMS does not hold the escrowed material: do not use this key; compare check values with the custodians' });
  const p = b.proof;
  if (p.method === 'encrypt-decrypt') {
    const probe = randomBytes(32);
    const back = await kms.decrypt(b.key.keyId, await kms.encrypt(b.key.keyId, probe));
    if (!bytesEqual(back, probe)) throw fail('Encrypt/Decrypt round trip returned other bytes');
    return { method: 'encrypt-decrypt', summary: 'Encrypt/Decrypt round trip ok' };
  }
  if (p.method === 'generate-mac') {
    const mac = await kms.generateMac(b.key.keyId, fromBase64(p.message), p.MacAlgorithm);
    if (!bytesEqual(mac, fromBase64(p.mac))) throw fail(`GenerateMac (${p.MacAlgorithm}) differs from the MAC computed offline with the escrowed material`);
    return { method: 'generate-mac', summary: `GenerateMac ${p.MacAlgorithm} equals the MAC computed offline` };
  }
  const spki = fromBase64(p.PublicKey);
  if (!bytesEqual(await kms.getPublicKey(b.key.keyId), spki)) throw fail('GetPublicKey differs from the public key recorded offline');
  const signing = SIGNING[b.key.keySpec];
  if (b.key.keyUsage !== 'SIGN_VERIFY' || !signing) return { method: 'public-key', summary: 'GetPublicKey equals the public key recorded offline' };
  const message = randomBytes(32);
  const signature = await kms.sign(b.key.keyId, message, signing.algorithm);
  const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const ok = verifySignature(signing.hash, message, signing.pss ? { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : { key: publicKey, dsaEncoding: 'der' }, signature);
  if (!ok) throw fail(`a ${signing.algorithm} signature from KMS does not verify with the public key recorded offline`);
  return { method: 'public-key+sign', summary: `GetPublicKey equals the public key recorded offline; ${signing.algorithm} signature verifies` };
}

/** Step 3: checks the bundle against the key, imports, records, verifies. */
export async function runImportBundle(b: ImportBundle, options: ImportBundleOptions, deps: ImportBundleDeps): Promise<ImportBundleResult> {
  const { kms } = deps;
  const now = deps.now();
  assertParametersValid(b, now, 'the import bundle');
  const expiry = toExpiryChoice(b.expiry);
  // The expiry is checked as KMS will check it before any KMS call (a ValidTo can pass between the steps).
  const validTo = resolveValidTo(expiry, now);
  const next = `this bundle is for key ${b.key.keyArn}`;
  if (options.expectKey !== undefined) {
    const meant = await kms.describeKey(options.expectKey);
    if (meant.Arn !== b.key.keyArn) throw wrongKey(`the bundle is for key ${b.key.keyId}, not ${options.expectKey} (${meant.KeyId})`, `${next}: use the bundle wrapped for ${meant.KeyId}, or drop --key-id to import into ${b.key.keyId}`);
  }
  const key = await kms.describeKey(b.key.keyArn);
  if (key.Arn !== b.key.keyArn || key.AccountId !== b.key.accountId || key.Region !== b.key.region) {
    throw wrongKey(`the target answered for ${key.Arn}, but the bundle is for ${b.key.keyArn}`, 'point the command at the account and Region of step 1 (--region, --profile)');
  }
  if (key.Origin !== 'EXTERNAL' || key.KeySpec !== b.key.keySpec || key.KeyUsage !== b.key.keyUsage) {
    throw wrongKey(`key ${key.KeyId} is ${key.KeySpec}/${key.KeyUsage} with origin ${key.Origin}; the bundle is for ${b.key.keySpec}/${b.key.keyUsage} EXTERNAL`, `${next}; re-run step 1 for the key you mean`);
  }
  if (key.KeyState !== 'PendingImport' && key.KeyState !== 'Enabled') {
    throw new KmsByokError('ERR_KMS_INVALID_STATE', `key ${key.KeyId} is ${key.KeyState}, expected PendingImport`, { hint: 'run kms-byok status for the key' });
  }
  // One import session (src/ceremony/import-session.ts): a lost answer is settled by asking KMS. A key
  // that already holds material (an interrupted earlier `import` of this bundle) is finished by KMS
  // accepting the same wrapped material again, which it does only for the very same material.
  const session = new ImportSession(kms, key, deps, { WrappingAlgorithm: b.WrappingAlgorithm, WrappingKeySpec: b.WrappingKeySpec });
  const wrapped = {
    EncryptedKeyMaterial: fromBase64(b.EncryptedKeyMaterial),
    ImportToken: fromBase64(b.ImportToken),
    ParametersValidTo: new Date(b.ParametersValidTo),
    WrappingAlgorithm: b.WrappingAlgorithm,
    WrappingKeySpec: b.WrappingKeySpec,
  };
  const already = key.KeyState === 'Enabled' ? (await session.materials()).find((m) => m.ImportState === 'IMPORTED') : undefined;
  // The anchor wrap computed offline, on the key before its first import (a key without material accepts any).
  if (b.anchor) await writeAnchors(kms, key.KeyId, new Map([[1, b.anchor]]), deps.progress, b.escrow.file);
  let imported: Imported;
  try {
    imported = await session.importMaterial(
      { wrapped },
      already
        ? { ...(already.KeyMaterialId && key.KeySpec === 'SYMMETRIC_DEFAULT' ? { ImportType: 'EXISTING_KEY_MATERIAL' as const, KeyMaterialId: already.KeyMaterialId } : {}), expiry: { ExpirationModel: expiry.ExpirationModel, ...(validTo ? { ValidTo: validTo } : {}) } }
        : { expiry: { ExpirationModel: expiry.ExpirationModel, ...(validTo ? { ValidTo: validTo } : {}) }, ...(b.anchor && key.KeySpec === 'SYMMETRIC_DEFAULT' ? { description: anchorDescription(b.anchor) } : {}) },
    );
  } catch (e) {
    if (already && e instanceof KmsByokError && e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL') {
      throw new KmsByokError('ERR_ESCROW_MISSING_MATERIAL', `key ${key.KeyId} already holds other material than this bundle's`, {
        hint: 'this bundle is not what the key holds: find the escrow of the material it holds (kms-byok status)',
        cause: e,
      });
    }
    throw e;
  }
  deps.progress(`${already ? 'KMS already held this material; accepted it again' : 'imported key material'}${imported.keyMaterialId ? ` ${imported.keyMaterialId}` : ''}${validTo ? `, ValidTo ${validTo.toISOString()}` : ', no expiry'}`);
  const fact: ImportFact = {
    materialIndex: 1,
    importedAt: isoSeconds(deps.now()),
    region: key.Region,
    expirationModel: expiry.ExpirationModel,
    ...(validTo ? { validTo: isoSeconds(validTo) } : {}),
    ...(imported.keyMaterialId ? { keyMaterialId: imported.keyMaterialId } : {}),
    wrappingAlgorithm: b.WrappingAlgorithm,
    wrappingKeySpec: b.WrappingKeySpec,
  };
  const sidecar = await deps.recordImport(fact);
  if (sidecar) deps.progress(`recorded the import in the escrow sidecar ${sidecar}`);
  const described = await retryWhileNotFound(() => kms.describeKey(key.KeyId), deps.sleep);
  if (described.KeyState !== 'Enabled') {
    throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId} is ${described.KeyState} after the import, expected Enabled`, { hint: 'run kms-byok status for the key' });
  }
  const proof = await proveWithoutMaterial(kms, b);
  deps.progress(`verified: key Enabled, ${proof.summary}`);
  const result: ImportBundleResult = {
    keyId: key.KeyId,
    keyArn: key.Arn,
    keyState: described.KeyState,
    expirationModel: expiry.ExpirationModel,
    checkValue: b.checkValue,
    bundleSha256: b.sha256,
    verified: { enabled: true, ...proof },
  };
  if (b.key.alias) result.alias = b.key.alias;
  if (validTo) result.validTo = validTo.toISOString();
  if (imported.keyMaterialId) result.keyMaterialId = imported.keyMaterialId;
  if (sidecar) result.sidecar = sidecar;
  else result.unrecorded = fact;
  return result;
}

/**
 * `import --record-only` records nothing KMS has not proven: the key's anchor (when the bundle
 * carries one) must be the bundle's, and KMS must hold the bundle's material — symmetric keys: KMS
 * accepts the bundle's wrapped copy again as EXISTING_KEY_MATERIAL under the CurrentKeyMaterialId
 * (keeping KMS's expiry; needs the bundle's import token to be valid); other specs: the checks
 * recorded offline (GenerateMac, GetPublicKey).
 */
async function proveBundleHeld(kms: KmsPort, b: ImportBundle, key: KeyInfo, now: Date): Promise<void> {
  if (b.anchor) {
    const tag = (await readAnchors(kms, key.KeyId)).get(1);
    if (tag !== b.anchor) {
      throw new KmsByokError(tag === undefined ? 'ERR_ESCROW_NOT_ANCHORED' : 'ERR_ESCROW_ANCHOR_MISMATCH', `key ${key.KeyId} ${tag === undefined ? 'has no anchor tag kms-byok:material-1' : `vouches for ${tag}`}, but the bundle's material has fingerprint ${b.anchor}`, {
        hint: 'the key holds material that is not this bundle\'s: nothing was recorded; find out who imported it (CloudTrail ImportKeyMaterial events)',
      });
    }
  }
  if (key.KeySpec !== 'SYMMETRIC_DEFAULT') {
    await proveWithoutMaterial(kms, b);
    return;
  }
  if (new Date(b.ParametersValidTo).getTime() <= now.getTime() + 60_000 || !key.CurrentKeyMaterialId) {
    throw new KmsByokError('ERR_KMS_IMPORT_TOKEN_EXPIRED', `cannot prove key ${key.KeyId} holds this bundle's material: ${key.CurrentKeyMaterialId ? `its import token expired at ${b.ParametersValidTo}` : 'KMS names no CurrentKeyMaterialId'}`, {
      hint: `nothing was recorded; prove and record it from the escrow instead: kms-byok verify ${key.KeyId} --escrow-dir DIR --identity FILE`,
    });
  }
  const session = new ImportSession(kms, key, { now: () => now, progress: () => {} }, { WrappingAlgorithm: b.WrappingAlgorithm, WrappingKeySpec: b.WrappingKeySpec });
  const expires = key.ExpirationModel !== 'KEY_MATERIAL_DOES_NOT_EXPIRE' && key.ValidTo !== undefined;
  try {
    await session.importMaterial(
      { wrapped: { EncryptedKeyMaterial: fromBase64(b.EncryptedKeyMaterial), ImportToken: fromBase64(b.ImportToken), ParametersValidTo: new Date(b.ParametersValidTo), WrappingAlgorithm: b.WrappingAlgorithm, WrappingKeySpec: b.WrappingKeySpec } },
      { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: key.CurrentKeyMaterialId, expiry: expires ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: key.ValidTo! } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } },
    );
  } catch (e) {
    if (e instanceof KmsByokError && e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL') {
      throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId} does not hold this bundle's material (KMS refused it under ${key.CurrentKeyMaterialId})`, {
        hint: 'nothing was recorded; find the escrow of the material the key holds (kms-byok status)',
        cause: e,
      });
    }
    throw e;
  }
}

/**
 * After an import whose escrow sidecar was not reachable: the facts to record, read back from KMS
 * (CurrentKeyMaterialId, ExpirationModel, ValidTo) once KMS has proven it holds the bundle's
 * material ({@link proveBundleHeld}). Nothing new is imported.
 */
export async function importedFacts(kms: KmsPort, b: ImportBundle, now: Date): Promise<ImportFact> {
  const key = await kms.describeKey(b.key.keyArn);
  if (key.Arn !== b.key.keyArn) throw wrongKey(`the target answered for ${key.Arn}, but the bundle is for ${b.key.keyArn}`, 'point the command at the account and Region of step 1');
  if (key.KeyState !== 'Enabled') {
    throw new KmsByokError('ERR_KMS_INVALID_STATE', `key ${key.KeyId} is ${key.KeyState}: there is no import to record`, { hint: 'run kms-byok import --bundle FILE without --record-only to import it' });
  }
  const expirationModel = key.ExpirationModel ?? (key.ValidTo ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE');
  await proveBundleHeld(kms, b, key, now);
  return {
    materialIndex: 1,
    importedAt: isoSeconds(now),
    region: key.Region,
    expirationModel,
    ...(key.ValidTo && expirationModel === 'KEY_MATERIAL_EXPIRES' ? { validTo: isoSeconds(key.ValidTo) } : {}),
    ...(key.CurrentKeyMaterialId ? { keyMaterialId: key.CurrentKeyMaterialId } : {}),
    wrappingAlgorithm: b.WrappingAlgorithm,
    wrappingKeySpec: b.WrappingKeySpec,
  };
}
