/**
 * The onboard ceremony: a new EXTERNAL key with locally generated material, sealed in an escrow
 * before anything is imported. Straight-line code over ports; every input was validated by the
 * caller (see `OnboardOptions`), and the escrow vault was proven writable before this runs.
 *
 * Order (design §7): alias free? → CreateKey → CreateAlias → GetParametersForImport → wrap →
 * seal + durably write escrow → ImportKeyMaterial → record KeyMaterialId/ValidTo in the sidecar →
 * verify (Enabled, Encrypt/Decrypt round trip).
 */
import { KmsByokError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import { assertValidTo } from '../core/time.js';
import type { KeySpec, KeyUsage, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import type { ImportParameters, KmsPort } from '../kms/port.js';
import { generateKeyMaterial } from '../material/generate.js';
import { checkValue } from '../material/check-value.js';
import { assertKeyUsageAllowed, assertWrappingAllowed } from '../material/key-specs.js';
import { assertMaterialMatchesSpec } from '../material/parse.js';
import { wrapKeyMaterial, parseWrappingPublicKey } from '../wrapping/index.js';
import { sealEscrow, type EscrowSealing, type ImportFact, type SealedEscrow } from '../escrow/index.js';
import type { CeremonyDeps, WrittenEscrow } from './ports.js';
import { retryWhileNotFound } from './retry.js';
import { proveKeyMaterial, type Proof } from './prove.js';
import { confirmKeyMaterialId } from './confirm.js';

export type ExpiryChoice =
  | { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }
  | { ExpirationModel: 'KEY_MATERIAL_EXPIRES'; validTo: Date }
  | { ExpirationModel: 'KEY_MATERIAL_EXPIRES'; expiresInMs: number };

export interface OnboardOptions {
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  alias?: string;
  description?: string;
  wrapping: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec };
  expiry: ExpiryChoice;
  sealing: EscrowSealing;
  /** "operator@host", recorded in the escrow manifest. */
  createdBy: string;
  /** Existing material to import instead of generating it; owned (and disposed) by the ceremony. */
  material?: SecretBytes;
  /** Key policy document (JSON) attached at CreateKey, e.g. one printed by `kms-byok policy`. */
  policy?: string;
}

export interface OnboardDeps extends CeremonyDeps {
  escrow: {
    /** Durably writes a new escrow version, create-only; resolves only once it is on disk. */
    write(sealed: SealedEscrow): Promise<WrittenEscrow>;
    /** Records facts KMS returned after the import in the escrow's sidecar. */
    recordImport(written: WrittenEscrow, fact: ImportFact): Promise<void>;
  };
}

export interface OnboardResult {
  keyId: string;
  keyArn: string;
  alias?: string;
  region: string;
  accountId: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  keyState: string;
  origin: string;
  expirationModel: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  validTo?: string;
  keyMaterialId?: string;
  checkValue: string;
  wrappingAlgorithm: WrappingAlgorithm;
  wrappingKeySpec: WrappingKeySpec;
  escrow: WrittenEscrow;
  /** How KMS was shown to hold the escrowed material. */
  verified: { enabled: boolean; method: Proof['method']; summary: string; keyMaterialIdConfirmed: boolean };
}

/** Resolves the expiry to an absolute `ValidTo` at the moment of import, and checks it as KMS will. */
export function resolveValidTo(expiry: ExpiryChoice, now: Date): Date | undefined {
  if (expiry.ExpirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') return undefined;
  // Whole seconds: what the escrow sidecar records is then exactly what KMS was sent.
  const ms = 'validTo' in expiry ? expiry.validTo.getTime() : now.getTime() + expiry.expiresInMs;
  const validTo = new Date(Math.floor(ms / 1000) * 1000);
  assertValidTo(validTo, now, 'validTo' in expiry ? '--valid-to' : '--expires-in');
  return validTo;
}

/** Checks the alias is free before anything is created, so a key is never left without its alias. */
export async function assertAliasFree(kms: KmsPort, alias: string): Promise<void> {
  try {
    const existing = await kms.describeKey(alias);
    throw new KmsByokError('ERR_KMS_ALREADY_EXISTS', `alias ${alias} already points at key ${existing.KeyId}`, {
      hint: 'choose another --alias; kms-byok never moves an existing alias during onboard',
    });
  } catch (e) {
    if (e instanceof KmsByokError && e.code === 'ERR_KMS_NOT_FOUND') return;
    throw e;
  }
}

/** Runs the whole ceremony. On failure the thrown error's hint says what exists and where the escrow is. */
export async function runOnboard(options: OnboardOptions, deps: OnboardDeps): Promise<OnboardResult> {
  const { kms } = deps;
  // Precondition: every local check happens before the first KMS call that creates anything.
  assertKeyUsageAllowed(options.keySpec, options.keyUsage);
  assertWrappingAllowed(options.keySpec, options.wrapping.WrappingAlgorithm, options.wrapping.WrappingKeySpec);
  resolveValidTo(options.expiry, deps.now());
  const material = options.material ?? generateKeyMaterial(options.keySpec);
  try {
    assertMaterialMatchesSpec(material, options.keySpec);
    const kcv = checkValue(material, options.keySpec);
    if (options.alias) await assertAliasFree(kms, options.alias);

    const key = await kms.createKey({
      KeySpec: options.keySpec,
      KeyUsage: options.keyUsage,
      ...(options.description ? { Description: options.description } : {}),
      ...(options.policy ? { Policy: options.policy } : {}),
      Tags: [{ TagKey: 'created-by', TagValue: 'kms-byok' }],
    });
    deps.progress(`created key ${key.KeyId} (${key.KeySpec}, origin ${key.Origin}, ${key.KeyState})`);
    const leftBehind = `key ${key.KeyId} exists in PendingImport with no material`;

    if (options.alias) {
      await retryWhileNotFound(() => kms.createAlias(options.alias!, key.KeyId), deps.sleep);
      deps.progress(`created alias ${options.alias}`);
    }

    let params: ImportParameters;
    try {
      params = await retryWhileNotFound(() => kms.getParametersForImport(key.KeyId, options.wrapping), deps.sleep);
      parseWrappingPublicKey(params.PublicKey, params.WrappingKeySpec);
    } catch (e) {
      throw withHint(e, `${leftBehind}; nothing was wrapped or imported`);
    }
    deps.progress(`got import parameters (${params.WrappingAlgorithm}, ${params.WrappingKeySpec}, valid until ${params.ParametersValidTo.toISOString()})`);
    const encrypted = wrapKeyMaterial(material, params, options.keySpec);

    let written: WrittenEscrow;
    try {
      const created = isoSeconds(deps.now());
      const sealed = await sealEscrow(
        {
          key: {
            keyArn: key.Arn,
            keyId: key.KeyId,
            account: key.AccountId,
            region: key.Region,
            keySpec: options.keySpec,
            keyUsage: options.keyUsage,
            multiRegion: key.MultiRegion ?? false,
          },
          escrowVersion: 1,
          created,
          createdBy: options.createdBy,
          materials: [{ index: 1, checkValue: kcv, material, createdAt: created }],
        },
        options.sealing,
        { computeCheckValue: checkValue },
      );
      written = await deps.escrow.write(sealed);
    } catch (e) {
      throw withHint(e, `${leftBehind}; nothing was imported. Fix the escrow problem, then schedule the empty key for deletion or re-run`);
    }
    deps.progress(`material sealed in escrow ${written.path}`);

    const validTo = resolveValidTo(options.expiry, deps.now());
    let imported: { KeyId: string; KeyMaterialId?: string };
    try {
      imported = await kms.importKeyMaterial({
        KeyId: key.KeyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: encrypted,
        ExpirationModel: options.expiry.ExpirationModel,
        ...(validTo ? { ValidTo: validTo } : {}),
      });
    } catch (e) {
      throw withHint(e, `${leftBehind}; the material is safe in the escrow ${written.path}: re-import it from there`);
    }
    deps.progress(`imported key material${imported.KeyMaterialId ? ` ${imported.KeyMaterialId}` : ''}${validTo ? `, ValidTo ${validTo.toISOString()}` : ', no expiry'}`);
    await deps.escrow.recordImport(written, {
      materialIndex: 1,
      importedAt: isoSeconds(deps.now()),
      region: key.Region,
      expirationModel: options.expiry.ExpirationModel,
      ...(validTo ? { validTo: isoSeconds(validTo) } : {}),
      ...(imported.KeyMaterialId ? { keyMaterialId: imported.KeyMaterialId } : {}),
      wrappingAlgorithm: params.WrappingAlgorithm,
      wrappingKeySpec: params.WrappingKeySpec,
    });

    const proof = await retryWhileNotFound(() => proveKeyMaterial(kms, key.KeyId, options.keySpec, options.keyUsage, material), deps.sleep);
    deps.progress(`verified: key Enabled, ${proof.summary}`);
    let keyMaterialIdConfirmed = false;
    if (imported.KeyMaterialId && options.keySpec === 'SYMMETRIC_DEFAULT') {
      await confirmKeyMaterialId(kms, { keyId: key.KeyId, keySpec: options.keySpec, material, keyMaterialId: imported.KeyMaterialId, wrapping: options.wrapping });
      keyMaterialIdConfirmed = true;
      deps.progress(`verified: KMS accepted a re-import of the escrowed material under KeyMaterialId ${imported.KeyMaterialId}`);
    }
    const described = await kms.describeKey(key.KeyId);
    const result: OnboardResult = {
      keyId: key.KeyId,
      keyArn: key.Arn,
      region: key.Region,
      accountId: key.AccountId,
      keySpec: options.keySpec,
      keyUsage: options.keyUsage,
      keyState: described.KeyState,
      origin: described.Origin,
      expirationModel: options.expiry.ExpirationModel,
      checkValue: kcv,
      wrappingAlgorithm: params.WrappingAlgorithm,
      wrappingKeySpec: params.WrappingKeySpec,
      escrow: written,
      verified: { enabled: described.KeyState === 'Enabled', method: proof.method, summary: proof.summary, keyMaterialIdConfirmed },
    };
    if (options.alias) result.alias = options.alias;
    if (validTo) result.validTo = validTo.toISOString();
    if (imported.KeyMaterialId) result.keyMaterialId = imported.KeyMaterialId;
    return result;
  } finally {
    material.dispose();
  }
}

/** ISO-8601 UTC without milliseconds, the escrow format's time form. */
function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function withHint(e: unknown, hint: string): unknown {
  if (e instanceof KmsByokError) return new KmsByokError(e.code, e.message, { hint: e.hint ? `${e.hint}; ${hint}` : hint, cause: e.cause ?? e });
  return e;
}
