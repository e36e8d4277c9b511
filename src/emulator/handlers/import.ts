/**
 * Key material import: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.
 *
 * Contracts (AWS KMS API reference, "Importing key material" in the developer guide):
 * - Only EXTERNAL-origin keys (UnsupportedOperationException) not pending deletion
 *   (KMSInvalidStateException). RSAES_PKCS1_V1_5 and the China-only SM2 wrapping are refused
 *   (ValidationException).
 * - An import token is opaque bytes (`KBIT`, version 1, 32 random bytes) naming a server-side record
 *   that binds it to the key, the wrapping algorithm and the wrapping private key handed out with it,
 *   valid 24 hours (ParametersValidTo). Unknown, garbled or another key's token:
 *   InvalidImportTokenException; past ParametersValidTo: ExpiredImportTokenException; material that does
 *   not unwrap with the token's key pair and algorithm: InvalidCiphertextException.
 * - ExpirationModel defaults to KEY_MATERIAL_EXPIRES (ValidTo required, in the future, at most 365 days
 *   ahead by the emulator clock); KEY_MATERIAL_DOES_NOT_EXPIRE forbids ValidTo.
 * - ImportType (symmetric encryption keys only) defaults to NEW on the first import and EXISTING after.
 *   NEW material becomes CURRENT on the first import and PENDING_ROTATION later (on a multi-Region
 *   primary with replicas: PENDING_MULTI_REGION_IMPORT_AND_ROTATION until every replica has it).
 *   EXISTING material must be a material already associated with the key (IncorrectKeyMaterialException
 *   otherwise, or when a given KeyMaterialId does not match); re-importing it updates its expiry.
 * - Material that does not fit the key spec is IncorrectKeyMaterialException.
 * - DeleteImportedKeyMaterial deletes the given material (default: the current one) at once; the key goes
 *   to PendingImport unless it is PendingDeletion. Material pending rotation is removed entirely, since
 *   it is not permanently associated with the key.
 */
import { randomBytes } from 'node:crypto';
import { seconds, type Handler, type HandlerContext } from '../context.js';
import { fail } from '../errors.js';
import { blob, oneOf, str, timestamp, type Input } from '../input.js';
import { dropMaterial, requireExternal, requireNotPendingDeletion, settleState, tokenSweptAt } from '../lifecycle.js';
import { keyArn, relatedKeys } from '../lookup.js';
import { MaterialRejected, SPECS, checkImportedMaterial, keyMaterialId } from '../specs.js';
import type { KeyRecord, MaterialRecord, TokenRecord, WrappingAlgorithm, WrappingKeySpec } from '../state.js';
import { UnwrapFailure, unwrapKeyMaterial } from '../unwrap.js';
import { readKeyId } from './keys.js';

const ALGORITHMS = ['RSAES_PKCS1_V1_5', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256', 'SM2PKE'] as const;
const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'] as const;
const TOKEN_MAGIC = Buffer.from('KBIT', 'ascii');
const TOKEN_VERSION = 1;
const TOKEN_ID_BYTES = 32;
const DAY_MS = 86_400_000;
const MATERIAL_ID = /^[a-f0-9]{64}$/;
const MATERIAL_DESCRIPTION = /^[a-zA-Z0-9:/_\s.-]+$/;

function encodeToken(id: Buffer): Buffer {
  return Buffer.concat([TOKEN_MAGIC, Buffer.from([TOKEN_VERSION]), id]);
}

/** The token record an ImportToken names, checked against the key and the clock. */
function tokenFor(ctx: HandlerContext, key: KeyRecord, token: Buffer): TokenRecord {
  const wellFormed =
    token.length === TOKEN_MAGIC.length + 1 + TOKEN_ID_BYTES && token.subarray(0, 4).equals(TOKEN_MAGIC) && token[4] === TOKEN_VERSION;
  const tokenId = token.subarray(5).toString('hex');
  const record = wellFormed && Object.hasOwn(ctx.state.tokens, tokenId) ? ctx.state.tokens[tokenId] : undefined;
  if (!record) throw fail('InvalidImportTokenException', 'The import token is invalid.');
  if (record.keyId !== key.keyId || record.region !== key.region || (record.accountId !== undefined && record.accountId !== key.accountId)) {
    throw fail('InvalidImportTokenException', `The import token is not valid for ${keyArn(key)}.`);
  }
  if (record.parametersValidTo <= ctx.clock.now().getTime()) {
    throw fail('ExpiredImportTokenException', 'The import token has expired. Call GetParametersForImport for a new public key and import token.');
  }
  return record;
}

export const getParametersForImport: Handler = async (ctx, input) => {
  const algorithm = oneOf(input, 'WrappingAlgorithm', ALGORITHMS, true);
  const wrappingKeySpec = oneOf(input, 'WrappingKeySpec', WRAPPING_KEY_SPECS, true);
  const key = readKeyId(ctx, input);
  if (algorithm === 'RSAES_PKCS1_V1_5') {
    throw fail('ValidationException', 'The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported (since 2023-10-10). Use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.');
  }
  if (algorithm === 'SM2PKE' || wrappingKeySpec === 'SM2') {
    throw fail('ValidationException', 'The SM2 wrapping key spec and SM2PKE wrapping algorithm are supported only in China Regions.');
  }
  requireExternal(key);
  requireNotPendingDeletion(key);
  const pair = await ctx.pool.take(wrappingKeySpec);
  const id = randomBytes(TOKEN_ID_BYTES);
  const validTo = ctx.clock.now().getTime() + DAY_MS;
  ctx.state.tokens[id.toString('hex')] = {
    region: key.region,
    keyId: key.keyId,
    wrappingAlgorithm: algorithm as WrappingAlgorithm,
    wrappingKeySpec: wrappingKeySpec as WrappingKeySpec,
    privateKeyPem: pair.privateKeyPem,
    parametersValidTo: validTo,
    accountId: key.accountId,
  };
  ctx.due?.(tokenSweptAt(validTo));
  return {
    KeyId: keyArn(key),
    ImportToken: encodeToken(id).toString('base64'),
    PublicKey: pair.publicKeyDer.toString('base64'),
    ParametersValidTo: seconds(validTo),
  };
};

interface Expiry {
  expirationModel: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  validTo?: number;
}

function readExpiry(ctx: HandlerContext, input: Input): Expiry {
  const model = oneOf(input, 'ExpirationModel', ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] as const) ?? 'KEY_MATERIAL_EXPIRES';
  const validTo = timestamp(input, 'ValidTo');
  if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    if (validTo !== undefined) throw fail('ValidationException', 'ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.');
    return { expirationModel: model };
  }
  if (validTo === undefined) throw fail('ValidationException', 'A ValidTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES.');
  const now = ctx.clock.now().getTime();
  if (validTo <= now) throw fail('ValidationException', `ValidTo ${new Date(validTo).toISOString()} must be in the future.`);
  if (validTo > now + 365 * DAY_MS) throw fail('ValidationException', `ValidTo ${new Date(validTo).toISOString()} must be at most 365 days from now.`);
  return { expirationModel: model, validTo };
}

function applyExpiry(m: MaterialRecord, e: Expiry): void {
  m.expirationModel = e.expirationModel;
  if (e.validTo === undefined) delete m.validTo;
  else m.validTo = e.validTo;
}

/** Replicas of a multi-Region primary (other Regions, same key id). */
function replicasOf(ctx: HandlerContext, key: KeyRecord): KeyRecord[] {
  if (!key.multiRegion || key.multiRegionKeyType !== 'PRIMARY') return [];
  return relatedKeys(ctx, key.keyId).filter((k) => k.multiRegionKeyType === 'REPLICA');
}

function primaryOf(ctx: HandlerContext, key: KeyRecord): KeyRecord | undefined {
  return relatedKeys(ctx, key.keyId).find((k) => k.multiRegionKeyType === 'PRIMARY');
}

/** When every replica holds the primary's new material, it is ready for rotation everywhere. */
function promoteIfReplicated(ctx: HandlerContext, primary: KeyRecord, id: string): void {
  const pm = primary.materials.find((m) => m.keyMaterialId === id);
  if (!pm || pm.materialState !== 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION' || pm.importState !== 'IMPORTED') return;
  const replicas = replicasOf(ctx, primary);
  const all = replicas.every((r) => r.materials.some((m) => m.keyMaterialId === id && m.importState === 'IMPORTED'));
  if (!all) return;
  pm.materialState = 'PENDING_ROTATION';
  for (const r of replicas) for (const m of r.materials) if (m.keyMaterialId === id) m.materialState = 'PENDING_ROTATION';
}

export const importKeyMaterial: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  const token = blob(input, 'ImportToken', { required: true, max: 6144 });
  const encrypted = blob(input, 'EncryptedKeyMaterial', { required: true, max: 6144 });
  const expiry = readExpiry(ctx, input);
  const importType = oneOf(input, 'ImportType', ['NEW_KEY_MATERIAL', 'EXISTING_KEY_MATERIAL'] as const);
  const description = str(input, 'KeyMaterialDescription', { min: 0, max: 256, pattern: MATERIAL_DESCRIPTION });
  const givenId = str(input, 'KeyMaterialId', { min: 64, max: 64, pattern: MATERIAL_ID });
  const symmetric = SPECS[key.keySpec].kind === 'symmetric';
  if (!symmetric && (importType !== undefined || givenId !== undefined || description !== undefined)) {
    throw fail('ValidationException', 'ImportType, KeyMaterialId and KeyMaterialDescription can be used only with symmetric encryption KMS keys.');
  }
  if (importType === 'NEW_KEY_MATERIAL' && givenId !== undefined) {
    throw fail('ValidationException', 'KeyMaterialId cannot be specified when ImportType is NEW_KEY_MATERIAL.');
  }
  requireExternal(key);
  requireNotPendingDeletion(key);

  const record = tokenFor(ctx, key, token);
  let plaintext: Buffer;
  try {
    plaintext = unwrapKeyMaterial(record.wrappingAlgorithm, record.privateKeyPem, encrypted, ctx.unwrapEngine);
  } catch (e) {
    if (e instanceof UnwrapFailure) {
      throw fail('InvalidCiphertextException', `The encrypted key material could not be unwrapped with the wrapping key and ${record.wrappingAlgorithm} of this import token.`);
    }
    throw e;
  }
  let canonical: Buffer;
  try {
    canonical = checkImportedMaterial(key.keySpec, plaintext);
  } catch (e) {
    if (e instanceof MaterialRejected) throw fail('IncorrectKeyMaterialException', `The key material is not valid for ${key.keySpec}: ${e.message}.`);
    throw e;
  } finally {
    plaintext.fill(0);
  }
  const id = keyMaterialId(key.keyId, canonical);
  const type = importType ?? (key.materials.length === 0 ? 'NEW_KEY_MATERIAL' : 'EXISTING_KEY_MATERIAL');

  let material: MaterialRecord;
  if (type === 'NEW_KEY_MATERIAL') {
    if (key.multiRegionKeyType === 'REPLICA') {
      throw fail('UnsupportedOperationException', `${keyArn(key)} is a multi-Region replica key. Import new key material into its primary key, then the same material into each replica as EXISTING_KEY_MATERIAL.`);
    }
    if (key.materials.some((m) => m.keyMaterialId === id)) {
      throw fail('IncorrectKeyMaterialException', `This key material (${id}) is already associated with ${keyArn(key)}. Reimport it with ImportType EXISTING_KEY_MATERIAL.`);
    }
    const pending = key.materials.find((m) => m.materialState === 'PENDING_ROTATION' || m.materialState === 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION');
    if (pending) {
      throw fail('KMSInvalidStateException', `${keyArn(key)} already has key material ${pending.keyMaterialId} pending rotation. Rotate the key or delete that material first.`);
    }
    const replicas = replicasOf(ctx, key);
    const first = key.materials.length === 0;
    const state = first ? 'CURRENT' : replicas.length > 0 ? 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION' : 'PENDING_ROTATION';
    material = { keyMaterialId: id, importState: 'IMPORTED', materialState: state };
    if (description !== undefined) material.description = description;
    key.materials.push(material);
    // Replicas learn the new material's id now, so they can import the same bytes as EXISTING_KEY_MATERIAL.
    for (const r of replicas) {
      const entry: MaterialRecord = { keyMaterialId: id, importState: 'PENDING_IMPORT', materialState: state };
      if (description !== undefined) entry.description = description;
      r.materials.push(entry);
      settleState(r);
    }
  } else {
    if (givenId !== undefined && givenId !== id) {
      throw fail('IncorrectKeyMaterialException', `The key material ID ${givenId} does not match the imported key material.`);
    }
    const existing = key.materials.find((m) => m.keyMaterialId === id);
    if (!existing) {
      throw fail('IncorrectKeyMaterialException', `The key material is not the key material that was previously imported into ${keyArn(key)}.`);
    }
    material = existing;
    material.importState = 'IMPORTED';
    if (description !== undefined) material.description = description;
  }
  material.material = canonical.toString('base64');
  applyExpiry(material, expiry);
  if (expiry.validTo !== undefined) ctx.due?.(expiry.validTo);
  settleState(key);
  if (key.multiRegionKeyType === 'REPLICA') {
    const primary = primaryOf(ctx, key);
    if (primary) promoteIfReplicated(ctx, primary, id);
  } else if (key.multiRegionKeyType === 'PRIMARY') {
    promoteIfReplicated(ctx, key, id);
  }
  return symmetric ? { KeyId: keyArn(key), KeyMaterialId: id } : { KeyId: keyArn(key) };
};

export const deleteImportedKeyMaterial: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  const givenId = str(input, 'KeyMaterialId', { min: 64, max: 64, pattern: MATERIAL_ID });
  requireExternal(key);
  const target =
    givenId !== undefined ? key.materials.find((m) => m.keyMaterialId === givenId) : key.materials.find((m) => m.materialState === 'CURRENT');
  if (givenId !== undefined && !target) throw fail('NotFoundException', `Key material ${givenId} is not associated with ${keyArn(key)}.`);
  if (target) {
    if (target.materialState === 'PENDING_ROTATION' || target.materialState === 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION') {
      // Not permanently associated: forget it, here and (from a primary) in every replica.
      const keys = key.multiRegionKeyType === 'PRIMARY' ? [key, ...replicasOf(ctx, key)] : [key];
      for (const k of keys) k.materials = k.materials.filter((m) => m.keyMaterialId !== target.keyMaterialId);
    } else {
      dropMaterial(target);
    }
  }
  settleState(key);
  return { KeyId: keyArn(key), ...(target ? { KeyMaterialId: target.keyMaterialId } : {}) };
};
