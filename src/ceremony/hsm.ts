/**
 * Ceremonies with HSM custody (`--custody pkcs11`, docs/hsm.md): the material is generated, checked
 * and wrapped inside a PKCS#11 token (the `TokenCustody` port); the product holds only a reference.
 *
 * The custody record (docs/hsm.md, "The custody record") plays the escrow's part: token serial and
 * label, object label and id, check values — nothing secret. Like the escrow, it is written durably
 * BEFORE `ImportKeyMaterial` (onboard and rotate), and later facts (KeyMaterialId, ValidTo history)
 * are added by replacing it atomically.
 *
 * Proof that KMS holds the token's material: symmetric keys — KMS accepts a re-import of the token's
 * wrapped key as EXISTING_KEY_MATERIAL under the recorded KeyMaterialId (KMS accepts only the same
 * material there) and an Encrypt/Decrypt round trip; HMAC keys — KMS GenerateMac equals the token's
 * HMAC of a random message; RSA/EC key pairs — KMS GetPublicKey equals the token's public key.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { KmsByokError } from '../core/errors.js';
import type { KeySpec, KeyUsage, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import type { KeyInfo, KeyMaterialInfo, MacAlgorithm } from '../kms/port.js';
import { assertKeyUsageAllowed, assertWrappingAllowed, chooseWrapping, importableKeySpecInfo } from '../material/key-specs.js';
import { bytesEqual } from '../core/bytes.js';
import type { CeremonyDeps, TokenCustody, TokenKeyRef } from './ports.js';
import { ImportSession, type ImportSource } from './import-session.js';
import { retryWhileNotFound } from './retry.js';
import { NO_JOURNAL, type JournalPort } from './shared.js';
import { ensureAlias, obtainKey } from './create-key.js';
import { resolveValidTo, withHint, type ExpiryChoice, type OnboardDeps } from './onboard.js';
import { anchorFingerprint, assertSealingValid, sealEscrow, type EscrowSealing } from '../escrow/index.js';
import { checkValue } from '../material/check-value.js';
import { writeAnchors } from './anchor.js';
import { signatureProof } from './prove.js';
import type { WrittenEscrow } from './ports.js';

export const HSM_RECORD_FORMAT = 'kms-byok-hsm-custody';

export interface HsmImportFact {
  importedAt: string;
  region: string;
  expirationModel: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  validTo?: string;
  wrappingAlgorithm: WrappingAlgorithm;
  wrappingKeySpec: WrappingKeySpec;
}

export interface HsmMaterial extends TokenKeyRef {
  index: number;
  createdAt: string;
  keyMaterialId?: string;
  /** The wrapping chosen when the material was generated (used until an import records one). */
  wrapping?: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec };
  imports: HsmImportFact[];
}

/** The custody record of a key whose material lives in a token. Nothing in it is secret. */
export interface HsmRecord {
  format: typeof HSM_RECORD_FORMAT;
  version: 1;
  custody: 'pkcs11';
  key: { keyArn: string; keyId: string; account: string; region: string; keySpec: KeySpec; keyUsage: KeyUsage };
  createdBy: string;
  created: string;
  /** True when the material was also sealed in an age escrow (plaintext existed outside the token once). */
  alsoEscrowed?: boolean;
  /** `--also-escrow` (docs/hsm.md, "Also an age escrow"): where, when, and the statement of what it cost. */
  alsoEscrow?: { escrow: string; sidecar: string; sealedAt: string; statement: string };
  materials: HsmMaterial[];
}

export interface HsmRecordStore {
  /** Durably writes a new record, create-only; resolves only once it is on disk. Returns its path. */
  create(record: HsmRecord): Promise<string>;
  /** Replaces the record atomically. */
  replace(path: string, record: HsmRecord): Promise<void>;
  /** The record of `keyId`, when one exists (a resumed onboard finds the one its interrupted run wrote). */
  existing(keyId: string): Promise<{ path: string; record: HsmRecord } | undefined>;
}

export interface HsmDeps extends CeremonyDeps {
  custody: TokenCustody;
  records: HsmRecordStore;
  /** The escrow vault, for `--also-escrow` only. */
  escrow?: Pick<OnboardDeps['escrow'], 'write' | 'recordImport' | 'latest'>;
  /** The onboard journal (docs/hsm.md, "Interrupted onboards"; default: none). */
  journal?: JournalPort;
  /** The command line that re-runs this onboard, for hints. */
  resumeCommand?: string;
}

/** What `--also-escrow` costs, as the notice, the transcript and the custody record state it. */
export const ALSO_ESCROW_STATEMENT =
  'the plaintext of the token key existed outside the HSM once: in this process\'s memory, unwrapped from a wrap made inside the token under an ephemeral key of this process, while it was sealed into the age escrow (then zeroed)';

export interface HsmOnboardOptions {
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  alias?: string;
  description?: string;
  policy?: string;
  wrapping: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec };
  expiry: ExpiryChoice;
  createdBy: string;
  /** The token object's label (default: the KMS key id). */
  objectLabel?: string;
  /** `--also-escrow`: also seal the material in an age escrow, durable before the import. */
  alsoEscrow?: { sealing: EscrowSealing };
}

export interface HsmResult {
  keyId: string;
  keyArn: string;
  alias?: string;
  keySpec: KeySpec;
  keyState: string;
  custody: 'pkcs11';
  token: string;
  object: string;
  checkValues: string[];
  keyMaterialId?: string;
  validTo?: string;
  expirationModel: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  wrappingAlgorithm: WrappingAlgorithm;
  wrappingKeySpec: WrappingKeySpec;
  record: string;
  verified: string;
  rotated?: { previous?: string; current: string };
  /** `--also-escrow`: the sealed escrow file. */
  escrow?: string;
}

const MAC_ALGORITHM: Record<string, MacAlgorithm> = { sha224: 'HMAC_SHA_224', sha256: 'HMAC_SHA_256', sha384: 'HMAC_SHA_384', sha512: 'HMAC_SHA_512' };

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** CKA_ID of a material: the key id's 16 UUID bytes (a non-UUID id: its UTF-8) and the material index. */
export function objectIdFor(keyId: string, index: number): Uint8Array {
  const hex = keyId.replace(/-/g, '');
  const base = /^[0-9a-f]{32}$/i.test(hex) ? Buffer.from(hex, 'hex') : Buffer.from(keyId, 'utf8');
  return Uint8Array.from([...base, index]);
}

function source(custody: TokenCustody, m: Pick<TokenKeyRef, 'object'>, keySpec: KeySpec): ImportSource {
  return { wrapWith: (params) => custody.wrap(m, params, keySpec) };
}

function sameCheckValues(recorded: readonly string[], now: readonly string[]): boolean {
  const norm = (s: string) => s.toUpperCase();
  return recorded.length > 0 && recorded.every((r) => now.map(norm).includes(norm(r)));
}

/** The token key of a recorded material, found again and shown to be the recorded one by its check values. */
function findRecorded(custody: TokenCustody, record: HsmRecord, m: HsmMaterial): TokenKeyRef {
  const found = custody.find(m, record.key.keySpec);
  if (found.token.serial !== m.token.serial) {
    throw new KmsByokError('ERR_PKCS11_OBJECT_NOT_FOUND', `the custody record names token serial ${m.token.serial}, but --pkcs11-uri opened serial ${found.token.serial}`, {
      hint: `open the recorded token: --pkcs11-uri 'pkcs11:serial=${m.token.serial}'`,
    });
  }
  if (!sameCheckValues(m.checkValues, found.checkValues)) {
    throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `token key ${m.object.label} has check values ${found.checkValues.join(', ')}, the custody record ${m.checkValues.join(', ')}`, {
      hint: 'this is not the recorded material: do not import it; find the right token or key',
    });
  }
  return found;
}

/** Proof that KMS holds the token's material (see the module note). */
async function prove(deps: HsmDeps, key: Pick<KeyInfo, 'KeyId' | 'KeySpec'> & { KeyUsage?: KeyUsage }, m: Pick<TokenKeyRef, 'object'>, session: ImportSession, keyMaterialId: string | undefined): Promise<string> {
  const { kms, custody } = deps;
  const shape = importableKeySpecInfo(key.KeySpec).material;
  if (shape.kind === 'hmac') {
    const message = randomBytes(32);
    const alg = MAC_ALGORITHM[shape.hash]!;
    const fromKms = await kms.generateMac(key.KeyId, message, alg);
    if (!bytesEqual(fromKms, custody.mac(m, message, key.KeySpec))) {
      throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId}: KMS GenerateMac differs from the token's HMAC`, { hint: 'KMS does not hold the token\'s material: do not use this key' });
    }
    return `GenerateMac (${alg}) equals the token's HMAC`;
  }
  if (shape.kind === 'rsa' || shape.kind === 'ecc') {
    // KMS derives the public key from the private key it holds: equal to the token's, it is the token's pair.
    const fromKms = await kms.getPublicKey(key.KeyId);
    if (!bytesEqual(fromKms, custody.publicKeyOf(m, key.KeySpec))) {
      throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId}: KMS GetPublicKey differs from the token's public key`, { hint: 'KMS does not hold the token\'s private key: do not use this key' });
    }
    // A signing pair also signs: KMS's signature verifies with the token's public key (ceremony/prove.ts).
    const signed = key.KeyUsage === undefined ? undefined : await signatureProof(kms, key.KeyId, key.KeySpec, key.KeyUsage, fromKms);
    return signed === undefined ? "GetPublicKey equals the token's public key" : `GetPublicKey equals the token's public key; ${signed}`;
  }
  const probe = randomBytes(32);
  const back = await kms.decrypt(key.KeyId, await kms.encrypt(key.KeyId, probe));
  if (!bytesEqual(back, probe)) throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId}: Encrypt/Decrypt round trip returned other bytes`, { hint: 'do not use this key' });
  if (!keyMaterialId) return 'Encrypt/Decrypt round trip ok';
  const now = (await kms.listKeyRotations(key.KeyId)).find((x) => x.KeyMaterialId === keyMaterialId);
  await session.importMaterial(source(custody, m, key.KeySpec), {
    ImportType: 'EXISTING_KEY_MATERIAL',
    KeyMaterialId: keyMaterialId,
    expiry: now?.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && now.ValidTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: now.ValidTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
  });
  return `Encrypt/Decrypt round trip ok; KMS accepted the token's key again under KeyMaterialId ${keyMaterialId}`;
}

function importFact(key: KeyInfo, now: Date, expiry: { ExpirationModel: HsmImportFact['expirationModel']; ValidTo?: Date }, w: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec }): HsmImportFact {
  return {
    importedAt: isoSeconds(now),
    region: key.Region,
    expirationModel: expiry.ExpirationModel,
    ...(expiry.ValidTo ? { validTo: isoSeconds(expiry.ValidTo) } : {}),
    wrappingAlgorithm: w.WrappingAlgorithm,
    wrappingKeySpec: w.WrappingKeySpec,
  };
}

function resultOf(record: HsmRecord, path: string, key: KeyInfo, m: HsmMaterial, verified: string): HsmResult {
  const last = m.imports[m.imports.length - 1];
  return {
    keyId: key.KeyId,
    keyArn: key.Arn,
    keySpec: record.key.keySpec,
    keyState: key.KeyState,
    custody: 'pkcs11',
    token: `${m.token.label} (serial ${m.token.serial})`,
    object: m.uri,
    checkValues: m.checkValues,
    ...(m.keyMaterialId ? { keyMaterialId: m.keyMaterialId } : {}),
    ...(last?.validTo ? { validTo: last.validTo } : {}),
    expirationModel: last?.expirationModel ?? 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    wrappingAlgorithm: last?.wrappingAlgorithm ?? chooseWrapping(record.key.keySpec).algorithm,
    wrappingKeySpec: last?.wrappingKeySpec ?? chooseWrapping(record.key.keySpec).wrappingKeySpec,
    record: path,
    verified,
    ...(record.alsoEscrow ? { escrow: record.alsoEscrow.escrow } : {}),
  };
}

/**
 * Onboard with HSM custody: CreateKey (+ alias) → generate in the token → [--also-escrow: seal, durable]
 * → custody record durable → [anchor] → GetParametersForImport → wrap in the token → ImportKeyMaterial →
 * record the KeyMaterialId → prove. Every check that needs no KMS (usage, wrapping, the token's
 * mechanisms, a free label) comes first.
 *
 * Journalled like the software onboard (docs/hsm.md, "Interrupted onboards"): a re-run of the same
 * command resumes at the journalled key, finds the token key the interrupted run generated (by its
 * label and CKA_ID, which derive from the key id), its escrow and custody record, and asks KMS whether
 * the import happened — each found thing is said, never assumed.
 */
export async function runHsmOnboard(o: HsmOnboardOptions, deps: HsmDeps): Promise<HsmResult> {
  const { kms, custody } = deps;
  const journal = deps.journal ?? NO_JOURNAL;
  const resumed = journal.resumed;
  assertKeyUsageAllowed(o.keySpec, o.keyUsage);
  assertWrappingAllowed(o.keySpec, o.wrapping.WrappingAlgorithm, o.wrapping.WrappingKeySpec);
  resolveValidTo(o.expiry, deps.now());
  custody.assertCanWrap(o.keySpec, o.wrapping);
  if (o.alsoEscrow) assertSealingValid(o.alsoEscrow.sealing);
  // A resumed run may find its own key under that label: it is looked for below, not refused here.
  if (o.objectLabel !== undefined && !resumed.keyId) custody.assertLabelFree(o.objectLabel);

  const ceremonyId = resumed.ceremonyId ?? randomUUID();
  if (!resumed.ceremonyId) await journal.step('started', { ceremonyId, ...(deps.resumeCommand ? { command: deps.resumeCommand } : {}) });
  const finish = deps.resumeCommand ? `re-run the same command to finish it (${deps.resumeCommand})` : 're-run the same command to finish it';
  const key = await obtainKey(
    kms,
    { KeySpec: o.keySpec, KeyUsage: o.keyUsage, ...(o.description ? { Description: o.description } : {}), ...(o.policy ? { Policy: o.policy } : {}) },
    { journal, ceremonyId, ...(o.alias ? { alias: o.alias } : {}), finish, keyIdFact: 'keyId', keyArnFact: 'keyArn' },
    deps,
  );
  const exists = `key ${key.KeyId} exists`;
  if (o.alias) {
    const done = await ensureAlias(kms, o.alias, key.KeyId, deps.sleep).catch((e: unknown) => {
      throw withHint(e, `${exists}; ${finish}`);
    });
    if (done === 'created') deps.progress(`created alias ${o.alias}`);
    if (resumed.alias !== o.alias) await journal.step('alias', { alias: o.alias });
  }

  // The token key: the interrupted run's (found by label and CKA_ID), or a new one.
  const label = o.objectLabel ?? key.KeyId;
  const objectId = objectIdFor(key.KeyId, 1);
  let m: HsmMaterial;
  try {
    const earlier = resumed.keyId ? findOwn(custody, label, objectId, o.keySpec) : undefined;
    if (resumed.tokenKey && !earlier) {
      throw new KmsByokError('ERR_PKCS11_OBJECT_NOT_FOUND', `the interrupted onboard generated ${resumed.tokenKey}, but ${custody.description} no longer holds it`, {
        hint: `nothing of it was imported unless KMS says so (kms-byok status ${key.KeyId}); schedule the key for deletion and onboard afresh, or open the token that holds it`,
      });
    }
    if (earlier && resumed.checkValues && !sameCheckValues(resumed.checkValues.split(','), earlier.checkValues)) {
      throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `token key ${earlier.uri} has check values ${earlier.checkValues.join(', ')}, the journal ${resumed.checkValues}`, { hint: 'this is not the key the interrupted run generated: do not import it' });
    }
    const ref = earlier ?? custody.generate(label, objectId, o.keySpec);
    m = { index: 1, ...ref, createdAt: resumed.generatedAt ?? isoSeconds(deps.now()), wrapping: o.wrapping, imports: [] };
    if (earlier) deps.progress(`found the token key the interrupted run generated: ${m.uri} (${m.checkValues.join(', ')})`);
    else deps.progress(`generated ${o.keySpec} material in ${custody.description}: ${m.uri} (${m.checkValues.join(', ')})`);
  } catch (e) {
    throw withHint(e, `${exists} in PendingImport with no material`);
  }
  if (!resumed.tokenKey) await journal.step('generated', { tokenKey: m.uri, checkValues: m.checkValues.join(','), generatedAt: m.createdAt });

  const sealed = o.alsoEscrow ? await escrowOfRun(o, deps, key, m, exists, resumed) : undefined;
  if (sealed && !resumed.escrow) await journal.step('escrow sealed', { escrow: sealed.written.path, sidecar: sealed.written.sidecarPath, anchor: sealed.anchor, sealedAt: sealed.at });

  // The custody record is durable before anything is imported (the escrow's rule, docs/hsm.md).
  const alsoEscrowFact = sealed ? { alsoEscrowed: true, alsoEscrow: { escrow: sealed.written.path, sidecar: sealed.written.sidecarPath, sealedAt: sealed.at, statement: ALSO_ESCROW_STATEMENT } } : {};
  const existing = resumed.keyId ? await deps.records.existing(key.KeyId) : undefined;
  let record: HsmRecord;
  let path: string;
  if (existing) {
    const rm = existing.record.materials[0]!;
    if (existing.record.key.keyId !== key.KeyId || rm.object.id !== m.object.id || !sameCheckValues(rm.checkValues, m.checkValues)) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `custody record ${existing.path} does not name the token key ${m.uri} of this onboard`, { hint: 'move it aside (it holds no secret) and re-run' });
    }
    ({ record, path } = existing);
    m = rm;
    deps.progress(`found the custody record the interrupted run wrote: ${path}`);
  } else {
    record = {
      format: HSM_RECORD_FORMAT,
      version: 1,
      custody: 'pkcs11',
      key: { keyArn: key.Arn, keyId: key.KeyId, account: key.AccountId, region: key.Region, keySpec: o.keySpec, keyUsage: o.keyUsage },
      createdBy: o.createdBy,
      created: isoSeconds(deps.now()),
      ...alsoEscrowFact,
      materials: [m],
    };
    path = await deps.records.create(record).catch((e: unknown) => {
      throw withHint(e, `${exists}; the token key ${m.uri} was generated but ${noImport(resumed)}; ${finish}`);
    });
    deps.progress(`custody record written: ${path}`);
  }
  if (!resumed.record) await journal.step('recorded', { record: path });
  const afterRecord = `${exists}; the material is in the token (${m.uri})${sealed ? ` and the escrow ${sealed.written.path}` : ''}; ${finish}`;
  if (sealed) {
    // The escrow's anchor, before the import, as the software onboard writes it (docs/escrow-format.md, "Anchors").
    await retryWhileNotFound(() => writeAnchors(kms, key.KeyId, new Map([[1, sealed.anchor]]), deps.progress, sealed.written.path), deps.sleep).catch((e: unknown) => {
      throw withHint(e, afterRecord);
    });
  }

  // The import: KMS is asked whether the interrupted run's happened (its answer may have been lost).
  const session = new ImportSession(kms, key, deps, o.wrapping);
  const validTo = resolveValidTo(o.expiry, deps.now());
  const requested = validTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES' as const, ValidTo: validTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const };
  const symmetric = o.keySpec === 'SYMMETRIC_DEFAULT';
  let imported;
  let expiry: { ExpirationModel: HsmImportFact['expirationModel']; ValidTo?: Date } = requested;
  let already: KeyMaterialInfo | undefined;
  try {
    already = resumed.keyId ? (await retryWhileNotFound(() => session.materials(), deps.sleep)).find((x) => x.ImportState === 'IMPORTED') : undefined;
    if (already) {
      expiry = already.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && already.ValidTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: already.ValidTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' };
      // KMS confirms it holds the token's material by accepting it again (symmetric: under its KeyMaterialId).
      imported = await session.importMaterial(source(custody, m, o.keySpec), {
        ...(symmetric && already.KeyMaterialId ? { ImportType: 'EXISTING_KEY_MATERIAL' as const, KeyMaterialId: already.KeyMaterialId } : {}),
        expiry,
      });
      deps.progress(`KMS already held the token's material (imported by the interrupted run)${imported.keyMaterialId ? ` ${imported.keyMaterialId}` : ''}; it accepted it again`);
    } else {
      imported = await retryWhileNotFound(() => session.importMaterial(source(custody, m, o.keySpec), { expiry: requested }), deps.sleep);
      deps.progress(`imported key material${imported.keyMaterialId ? ` ${imported.keyMaterialId}` : ''} wrapped inside the token (${imported.params.WrappingAlgorithm})`);
    }
  } catch (e) {
    throw withHint(e, `${exists} in PendingImport unless the import happened; the material stays in the token (${m.uri})${sealed ? ` and the escrow ${sealed.written.path}` : ''}; ${finish} (or kms-byok restore ${key.KeyId} --custody pkcs11 … with the same expiry flag)`);
  }
  await journal.step('imported', imported.keyMaterialId ? { keyMaterialId: imported.keyMaterialId } : {});
  if (imported.keyMaterialId) m.keyMaterialId = imported.keyMaterialId;
  if (!already || m.imports.length === 0) m.imports.push(importFact(key, deps.now(), expiry, imported.params));
  await deps.records.replace(path, record);
  if (sealed) {
    const ref = deps.escrow!.latest ? await deps.escrow!.latest(key.KeyId) : undefined;
    if (!ref || ref.sidecar.materials[0]?.firstImport === undefined) {
      const fact = m.imports[m.imports.length - 1]!;
      await deps.escrow!.recordImport(sealed.written, {
        materialIndex: 1,
        importedAt: fact.importedAt,
        region: fact.region,
        expirationModel: fact.expirationModel,
        ...(fact.validTo ? { validTo: fact.validTo } : {}),
        ...(m.keyMaterialId ? { keyMaterialId: m.keyMaterialId } : {}),
        wrappingAlgorithm: fact.wrappingAlgorithm,
        wrappingKeySpec: fact.wrappingKeySpec,
      });
    }
  }
  const verified = await prove(deps, key, m, session, imported.keyMaterialId);
  deps.progress(`verified: ${verified}`);
  await journal.step('verified', {});
  const described = await kms.describeKey(key.KeyId);
  return { ...resultOf(record, path, described, m, verified), ...(o.alias ? { alias: o.alias } : {}) };
}

/**
 * What can be said of imports when a run stops before its own import: a fresh run imported nothing;
 * a resumed one only knows that it did not — whether the interrupted run did is for KMS to say.
 */
function noImport(resumed: Readonly<Record<string, string>>): string {
  return resumed.keyId ? `this run imported nothing (whether the interrupted run did, KMS says: kms-byok status ${resumed.keyId})` : 'nothing was imported';
}

/** The token key this onboard generates (its label and CKA_ID), when the token holds it. */
function findOwn(custody: TokenCustody, label: string, id: Uint8Array, keySpec: KeySpec): TokenKeyRef | undefined {
  try {
    return custody.find({ object: { label, id: Buffer.from(id).toString('hex') } }, keySpec);
  } catch (e) {
    if (e instanceof KmsByokError && e.code === 'ERR_PKCS11_OBJECT_NOT_FOUND') return undefined;
    throw e;
  }
}

/**
 * The `--also-escrow` escrow of this onboard: the one the journal names (still on disk, whole, holding
 * the token's material by its check value), the one an interrupted run wrote before journalling it,
 * or a new one ({@link alsoEscrow}).
 */
async function escrowOfRun(o: HsmOnboardOptions, deps: HsmDeps, key: KeyInfo, m: HsmMaterial, exists: string, resumed: Readonly<Record<string, string>>): Promise<{ written: WrittenEscrow; anchor: string; at: string }> {
  const ref = resumed.keyId && deps.escrow?.latest ? await deps.escrow.latest(key.KeyId) : undefined;
  if (ref) {
    const sm = ref.sidecar.materials;
    if (ref.damaged.length > 0 || sm.length !== 1 || !sameCheckValues([sm[0]!.checkValue], m.checkValues) || sm[0]!.anchor === undefined || (resumed.escrow !== undefined && resumed.escrow !== ref.path)) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `the escrow ${ref.path} of key ${key.KeyId} is not a whole escrow of the token key ${m.uri}: ${noImport(resumed)}`, {
        hint: 'restore the escrow from a custodian\'s copy and re-run, or move it aside to seal a new one (the token still holds the material)',
      });
    }
    deps.progress(`found the escrow the interrupted run sealed: ${ref.path}`);
    return { written: { path: ref.path, sidecarPath: ref.sidecarPath, files: [] }, anchor: sm[0]!.anchor, at: resumed.sealedAt ?? ref.sidecar.manifest.created };
  }
  if (resumed.escrow) throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `the escrow the interrupted onboard of ${key.KeyId} sealed (${resumed.escrow}) is missing: ${noImport(resumed)}`, { hint: 'restore it from a custodian\'s copy, then re-run' });
  return alsoEscrow(o, deps, key, m, exists);
}

/**
 * `--also-escrow` (docs/hsm.md, "Also an age escrow"): the token key leaves the token by wrapping
 * (`TokenCustody.exportByWrapping`), is checked against the token's own check values, sealed, and the
 * escrow is durable before this returns — before the custody record and before any import. The
 * plaintext is zeroed here, whatever happens.
 */
async function alsoEscrow(o: HsmOnboardOptions, deps: HsmDeps, key: KeyInfo, m: HsmMaterial, exists: string): Promise<{ written: WrittenEscrow; anchor: string; at: string }> {
  if (!deps.escrow) throw new KmsByokError('ERR_INTERNAL', '--also-escrow without an escrow vault');
  const stop = `${exists}; the material is in the token (${m.uri}); nothing was imported`;
  deps.progress(`--also-escrow: ${ALSO_ESCROW_STATEMENT.replace(' existed ', ' exists ').replace('was sealed', 'is sealed').replace(' (then zeroed)', '')}`);
  let material;
  try {
    material = deps.custody.exportByWrapping(m, o.keySpec);
  } catch (e) {
    throw withHint(e, stop);
  }
  try {
    const kcv = checkValue(material, o.keySpec);
    if (!sameCheckValues([kcv], m.checkValues)) {
      throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `the material unwrapped from ${m.uri} has check value ${kcv}, the token reports ${m.checkValues.join(', ')}`, {
        hint: `nothing was sealed or imported; ${stop}`,
      });
    }
    const anchor = anchorFingerprint(material, key.KeyId, 1);
    const at = isoSeconds(deps.now());
    const written = await sealEscrow(
      {
        key: { keyArn: key.Arn, keyId: key.KeyId, account: key.AccountId, region: key.Region, keySpec: o.keySpec, keyUsage: o.keyUsage, multiRegion: key.MultiRegion ?? false },
        escrowVersion: 1,
        created: at,
        createdBy: o.createdBy,
        materials: [{ index: 1, checkValue: kcv, material, createdAt: at, description: `generated in PKCS#11 token ${m.token.label} (serial ${m.token.serial}); its plaintext was outside the HSM once, while this escrow was sealed`.slice(0, 256) }],
      },
      o.alsoEscrow!.sealing,
      { computeCheckValue: checkValue },
    ).then((sealed) => deps.escrow!.write(sealed)).catch((e: unknown) => {
      throw withHint(e, stop);
    });
    deps.progress(`material sealed in escrow ${written.path} (plaintext zeroed)`);
    return { written, anchor, at };
  } finally {
    material.dispose();
  }
}

/** The escrow store a rotation with `--also-escrow` seals its new version into (the CLI's lifecycle store). */
export type RotateEscrow = Pick<import('./shared.js').LifecycleEscrow, 'latest' | 'nextVersion' | 'write' | 'recordImport'> & {
  /** The custodians of the new version: the flags', else the previous version's (undefined: none). */
  sealingFor(sidecar: import('../escrow/index.js').EscrowSidecar | undefined): EscrowSealing;
};

/**
 * `rotate --in-place --also-escrow`: a new escrow version holding every material of the record, each
 * leaving the token by wrapping (as at onboard, docs/hsm.md "Also an age escrow"), checked against its
 * recorded check value, zeroed after sealing; durable before the new material's import.
 */
async function sealAllMaterials(deps: HsmDeps, store: RotateEscrow, key: KeyInfo, record: HsmRecord, sealing: EscrowSealing, previous: Awaited<ReturnType<RotateEscrow['latest']>>): Promise<{ written: WrittenEscrow; anchors: Map<number, string> }> {
  deps.progress(`--also-escrow: ${ALSO_ESCROW_STATEMENT.replace(' existed ', ' exists ').replace('was sealed', 'is sealed').replace(' (then zeroed)', '')} — for each of the ${record.materials.length} materials`);
  const materials: { index: number; checkValue: string; material: import('../core/secret.js').SecretBytes; createdAt: string; keyMaterialId?: string }[] = [];
  const anchors = new Map<number, string>();
  try {
    for (const r of record.materials) {
      const material = deps.custody.exportByWrapping(r, record.key.keySpec);
      const entry = { index: r.index, checkValue: '', material, createdAt: r.createdAt, ...(r.keyMaterialId ? { keyMaterialId: r.keyMaterialId } : {}) };
      materials.push(entry);
      entry.checkValue = checkValue(material, record.key.keySpec);
      if (!sameCheckValues([entry.checkValue], r.checkValues)) {
        throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `the material unwrapped from ${r.uri} does not have the token's check value ${r.checkValues.join(', ')}`, { hint: 'nothing was sealed or imported' });
      }
      anchors.set(r.index, anchorFingerprint(material, key.KeyId, r.index));
    }
    const version = Math.max(await store.nextVersion(key.KeyId), (previous?.sidecar.manifest.escrowVersion ?? 0) + 1);
    const at = isoSeconds(deps.now());
    const sealed = await sealEscrow(
      {
        key: { keyArn: key.Arn, keyId: key.KeyId, account: key.AccountId, region: key.Region, keySpec: record.key.keySpec, keyUsage: record.key.keyUsage, multiRegion: key.MultiRegion ?? false },
        escrowVersion: version,
        created: at,
        createdBy: record.createdBy,
        materials,
      },
      sealing,
      { computeCheckValue: checkValue },
    );
    const written = await store.write(sealed);
    deps.progress(`every material sealed in escrow version ${version}: ${written.path} (plaintext zeroed; older versions kept)`);
    return { written, anchors };
  } finally {
    for (const x of materials) x.material.dispose();
  }
}

export interface HsmReimportOptions {
  key: KeyInfo;
  record: HsmRecord;
  recordPath: string;
  expiry: ExpiryChoice;
  /** restore: only materials KMS lacks (PENDING_IMPORT, or a key without any); reimport: every material. */
  mode: 'reimport' | 'restore';
}

function assertRecordOfKey(record: HsmRecord, key: KeyInfo, path: string): void {
  if (record.key.keyId !== key.KeyId) {
    throw new KmsByokError('ERR_ESCROW_WRONG_KEY', `custody record ${path} is of key ${record.key.keyId}, not ${key.KeyId}`, { hint: 'pass the record of this key' });
  }
}

function wrappingOf(record: HsmRecord, m: HsmMaterial) {
  const last = m.imports[m.imports.length - 1];
  if (last) return { WrappingAlgorithm: last.wrappingAlgorithm, WrappingKeySpec: last.wrappingKeySpec };
  if (m.wrapping) return m.wrapping;
  const c = chooseWrapping(record.key.keySpec);
  return { WrappingAlgorithm: c.algorithm, WrappingKeySpec: c.wrappingKeySpec };
}

/** Re-import (or restore) the recorded material(s) from the token, wrapped inside it. */
export async function runHsmReimport(o: HsmReimportOptions, deps: HsmDeps): Promise<HsmResult> {
  const { kms, custody } = deps;
  const { key, record } = o;
  assertRecordOfKey(record, key, o.recordPath);
  resolveValidTo(o.expiry, deps.now());
  const symmetric = key.KeySpec === 'SYMMETRIC_DEFAULT';
  // Local proof first: every material is in the token with its recorded check values.
  const refs = record.materials.map((m) => ({ m, ref: findRecorded(custody, record, m) }));
  for (const { m } of refs) custody.assertCanWrap(record.key.keySpec, wrappingOf(record, m));
  const listed: KeyMaterialInfo[] = symmetric ? await kms.listKeyRotations(key.KeyId) : [];
  const validTo = resolveValidTo(o.expiry, deps.now());
  const expiry = validTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES' as const, ValidTo: validTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const };
  let last: HsmMaterial = record.materials[record.materials.length - 1]!;
  let session: ImportSession | undefined;
  let touched = 0;
  for (const { m } of refs) {
    const inKms = m.keyMaterialId ? listed.find((x) => x.KeyMaterialId === m.keyMaterialId) : undefined;
    const wanted = o.mode === 'reimport' || key.KeyState === 'PendingImport' || inKms?.ImportState === 'PENDING_IMPORT';
    if (!wanted) continue;
    session = new ImportSession(kms, key, deps, wrappingOf(record, m));
    const imported = await session.importMaterial(source(custody, m, key.KeySpec), {
      ...(symmetric && m.keyMaterialId ? { ImportType: 'EXISTING_KEY_MATERIAL' as const, KeyMaterialId: m.keyMaterialId } : {}),
      expiry,
    });
    if (imported.keyMaterialId && !m.keyMaterialId) m.keyMaterialId = imported.keyMaterialId;
    m.imports.push(importFact(key, deps.now(), expiry, imported.params));
    await deps.records.replace(o.recordPath, record);
    deps.progress(`${o.mode === 'restore' ? 'restored' : 're-imported'} material ${m.index}${m.keyMaterialId ? ` (${m.keyMaterialId})` : ''} from ${m.uri}: ${validTo ? `ValidTo ${validTo.toISOString()}` : 'no expiry'}`);
    last = m;
    touched++;
  }
  if (touched === 0) deps.progress(`key ${key.KeyId} holds every recorded material: nothing to ${o.mode}`);
  const described = await kms.describeKey(key.KeyId);
  const current = record.materials.find((m) => m.keyMaterialId !== undefined && m.keyMaterialId === described.CurrentKeyMaterialId) ?? last;
  const verified = await prove(deps, described, current, session ?? new ImportSession(kms, key, deps, wrappingOf(record, current)), current.keyMaterialId);
  deps.progress(`verified: ${verified}`);
  return resultOf(record, o.recordPath, await kms.describeKey(key.KeyId), current, verified);
}

/** Verify: the token holds the recorded material(s), and KMS holds what the token holds. */
export async function runHsmVerify(o: { key: KeyInfo; record: HsmRecord; recordPath: string }, deps: HsmDeps): Promise<HsmResult> {
  const { kms, custody } = deps;
  assertRecordOfKey(o.record, o.key, o.recordPath);
  const listed = o.key.KeySpec === 'SYMMETRIC_DEFAULT' ? await kms.listKeyRotations(o.key.KeyId) : [];
  let verified = '';
  let current = o.record.materials[o.record.materials.length - 1]!;
  for (const m of o.record.materials) {
    findRecorded(custody, o.record, m);
    deps.progress(`token holds material ${m.index} (${m.uri}) with the recorded check values ${m.checkValues.join(', ')}`);
    const inKms = m.keyMaterialId ? listed.find((x) => x.KeyMaterialId === m.keyMaterialId) : undefined;
    if (o.key.KeySpec === 'SYMMETRIC_DEFAULT' && inKms?.ImportState !== 'IMPORTED') continue;
    if (m.keyMaterialId === o.key.CurrentKeyMaterialId) current = m;
    const session = new ImportSession(kms, o.key, deps, wrappingOf(o.record, m));
    const wanted = m.keyMaterialId === o.key.CurrentKeyMaterialId || o.key.KeySpec !== 'SYMMETRIC_DEFAULT';
    if (wanted) verified = await prove(deps, o.key, m, session, m.keyMaterialId);
    else {
      await session.importMaterial(source(custody, m, o.key.KeySpec), {
        ImportType: 'EXISTING_KEY_MATERIAL',
        KeyMaterialId: m.keyMaterialId!,
        expiry: inKms?.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && inKms.ValidTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: inKms.ValidTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
      });
    }
    deps.progress(`KMS holds material ${m.index}${m.keyMaterialId ? ` (${m.keyMaterialId})` : ''}: accepted the token's key again`);
  }
  if (!verified) {
    throw new KmsByokError('ERR_VERIFY_FAILED', `key ${o.key.KeyId} holds none of the recorded materials`, { hint: `restore it: kms-byok restore ${o.key.KeyId} --custody pkcs11 …` });
  }
  return resultOf(o.record, o.recordPath, o.key, current, verified);
}

/**
 * The token key of a rotation's new material `<key-id>/<index>` (docs/hsm.md, "Interrupted rotations"):
 * the one an interrupted run of this rotation generated (found by label and CKA_ID) when the custody
 * record does not list it and KMS holds no material the record does not list — the record is durable
 * before any import, so that key's material was never imported — else a newly generated one. Never a
 * second key for the same material index.
 */
async function newMaterialRef(deps: HsmDeps, key: KeyInfo, record: HsmRecord, index: number): Promise<TokenKeyRef> {
  const { custody } = deps;
  const label = `${key.KeyId}/${index}`;
  const id = objectIdFor(key.KeyId, index);
  const earlier = findOwn(custody, label, id, key.KeySpec);
  if (!earlier) {
    try {
      const ref = custody.generate(label, id, key.KeySpec);
      deps.progress(`generated new material ${index} in ${custody.description}: ${ref.uri} (${ref.checkValues.join(', ')})`);
      return ref;
    } catch (e) {
      if (!(e instanceof KmsByokError && e.code === 'ERR_PKCS11_OBJECT_EXISTS')) throw e;
      throw new KmsByokError('ERR_PKCS11_OBJECT_EXISTS', `${custody.description} holds an object labelled ${JSON.stringify(label)} that kms-byok did not generate for material ${index} of this key (its CKA_ID is not ${Buffer.from(id).toString('hex')}): nothing was generated or imported`, {
        hint: 'a rotation names its token key <key-id>/<n>: inspect that object with the vendor tool and remove or relabel it if it is unused, then re-run',
      });
    }
  }
  await assertKmsHoldsOnlyRecorded(deps, key, record, earlier.uri);
  deps.progress(`found the token key an interrupted rotation generated and never imported (KMS holds only the recorded materials): ${earlier.uri} (${earlier.checkValues.join(', ')}); using it`);
  return earlier;
}

/** Before an interrupted rotation's token key is used: KMS (ListKeyRotations) holds no material the record does not list. */
async function assertKmsHoldsOnlyRecorded(deps: HsmDeps, key: KeyInfo, record: HsmRecord, uri: string): Promise<void> {
  const recorded = new Set(record.materials.map((x) => x.keyMaterialId).filter((x): x is string => x !== undefined));
  const unrecorded = (await deps.kms.listKeyRotations(key.KeyId)).filter((x) => x.KeyMaterialId !== undefined && !recorded.has(x.KeyMaterialId));
  if (unrecorded.length > 0) {
    throw new KmsByokError('ERR_ESCROW_MISMATCH', `${deps.custody.description} holds ${uri} from an interrupted rotation, but KMS holds material ${unrecorded.map((x) => x.KeyMaterialId).join(', ')} that the custody record does not list`, {
      hint: `nothing was generated or imported now; compare the record with kms-byok status ${key.KeyId} before rotating again`,
    });
  }
}

/**
 * Rotate in place with HSM custody (symmetric keys): new material generated in the token → custody
 * record durable → ImportKeyMaterial NEW_KEY_MATERIAL → RotateKeyOnDemand → prove.
 */
export async function runHsmRotateInPlace(
  o: { key: KeyInfo; record: HsmRecord; recordPath: string; expiry: ExpiryChoice; /** `--also-escrow` */ alsoEscrow?: boolean },
  deps: HsmDeps & { rotateEscrow?: RotateEscrow },
): Promise<HsmResult> {
  const { kms, custody } = deps;
  const { key, record } = o;
  assertRecordOfKey(record, key, o.recordPath);
  if (key.KeySpec !== 'SYMMETRIC_DEFAULT') {
    throw new KmsByokError('ERR_ROTATE_UNSUPPORTED', `key ${key.KeyId} is ${key.KeySpec}: KMS rotates in place only symmetric encryption keys`, { hint: 'rotate with --new-key' });
  }
  resolveValidTo(o.expiry, deps.now());
  // A material recorded by an interrupted rotation and never imported is this rotation's new material.
  const last = record.materials[record.materials.length - 1]!;
  const pending = record.materials.length > 1 && last.keyMaterialId === undefined && last.imports.length === 0 ? last : undefined;
  const previous = pending ? record.materials[record.materials.length - 2]! : last;
  findRecorded(custody, record, previous);
  const wrapping = wrappingOf(record, previous);
  custody.assertCanWrap(key.KeySpec, wrapping);
  // --also-escrow: the custodians are known (and a passphrase at hand) before anything is generated.
  let sealing: EscrowSealing | undefined;
  let previousEscrow: Awaited<ReturnType<RotateEscrow['latest']>>;
  if (o.alsoEscrow) {
    if (!deps.rotateEscrow) throw new KmsByokError('ERR_INTERNAL', '--also-escrow without an escrow store');
    for (const r of record.materials) findRecorded(custody, record, r);
    previousEscrow = await deps.rotateEscrow.latest(key.KeyId);
    sealing = deps.rotateEscrow.sealingFor(previousEscrow?.sidecar);
    assertSealingValid(sealing);
  }
  let m: HsmMaterial;
  if (pending) {
    findRecorded(custody, record, pending);
    await assertKmsHoldsOnlyRecorded(deps, key, record, pending.uri);
    m = pending;
    deps.progress(`found material ${m.index} (${m.uri}) that an interrupted rotation recorded and never imported (KMS holds only the recorded materials): importing it`);
  } else {
    const index = Math.max(...record.materials.map((x) => x.index)) + 1;
    const ref = await newMaterialRef(deps, key, record, index);
    m = { index, ...ref, createdAt: isoSeconds(deps.now()), wrapping, imports: [] };
    record.materials.push(m);
  }
  const index = m.index;
  let sealed: { written: WrittenEscrow; anchors: Map<number, string> } | undefined;
  if (sealing) {
    sealed = await sealAllMaterials(deps, deps.rotateEscrow!, key, record, sealing, previousEscrow);
    record.alsoEscrowed = true;
    record.alsoEscrow = { escrow: sealed.written.path, sidecar: sealed.written.sidecarPath, sealedAt: isoSeconds(deps.now()), statement: ALSO_ESCROW_STATEMENT };
  }
  await deps.records.replace(o.recordPath, record);
  deps.progress(`custody record updated: ${o.recordPath}`);
  if (sealed) {
    await retryWhileNotFound(() => writeAnchors(kms, key.KeyId, sealed.anchors, deps.progress, sealed.written.path), deps.sleep);
  } else if (record.alsoEscrow) {
    deps.progress(`note: the age escrow ${record.alsoEscrow.escrow} does not hold material ${index}: it stays in the token alone (add --also-escrow to seal a new escrow version; docs/hsm.md, "Also an age escrow")`);
  }
  const validTo = resolveValidTo(o.expiry, deps.now());
  const expiry = validTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES' as const, ValidTo: validTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const };
  const session = new ImportSession(kms, key, deps, wrapping);
  const imported = await session.importMaterial(source(custody, m, key.KeySpec), { ImportType: 'NEW_KEY_MATERIAL', expiry });
  m.keyMaterialId = imported.keyMaterialId!;
  m.imports.push(importFact(key, deps.now(), expiry, imported.params));
  await deps.records.replace(o.recordPath, record);
  deps.progress(`imported new key material ${m.keyMaterialId} (NEW_KEY_MATERIAL) wrapped inside the token`);
  if (sealed) {
    const fact = m.imports[m.imports.length - 1]!;
    await deps.rotateEscrow!.recordImport(sealed.written.sidecarPath, {
      materialIndex: index,
      importedAt: fact.importedAt,
      region: fact.region,
      expirationModel: fact.expirationModel,
      ...(fact.validTo ? { validTo: fact.validTo } : {}),
      keyMaterialId: m.keyMaterialId,
      wrappingAlgorithm: fact.wrappingAlgorithm,
      wrappingKeySpec: fact.wrappingKeySpec,
    });
  }
  await kms.rotateKeyOnDemand(key.KeyId);
  deps.progress(`RotateKeyOnDemand: ${m.keyMaterialId} is now CURRENT${previous.keyMaterialId ? `, ${previous.keyMaterialId} NON_CURRENT (decrypt only)` : ''}`);
  const described = await kms.describeKey(key.KeyId);
  const verified = await prove(deps, described, m, session, m.keyMaterialId);
  deps.progress(`verified: ${verified}`);
  return { ...resultOf(record, o.recordPath, described, m, verified), rotated: { ...(previous.keyMaterialId ? { previous: previous.keyMaterialId } : {}), current: m.keyMaterialId } };
}
