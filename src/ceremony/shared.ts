/**
 * What the lifecycle ceremonies (reimport, restore, rotate, revoke) share: their ports, how a key
 * reference is resolved and checked, how an escrow is matched to the materials KMS lists, and the one
 * import routine (fresh parameters → wrap → ImportKeyMaterial, refetching an expired token).
 *
 * Straight-line code over ports: the escrow store, the journal and the clock are injected by the CLI.
 */
import { KmsByokError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import type { ExpirationModel, KeySpec, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import type { ImportParameters, KeyInfo, KeyMaterialInfo, KmsPort } from '../kms/port.js';
import type { ImportSession } from './import-session.js';
import { assertWrappingAllowed, chooseWrapping } from '../material/key-specs.js';
import type { EscrowMaterial, EscrowPayload, EscrowSealing, EscrowSidecar, ImportFact, SealedEscrow } from '../escrow/index.js';
import type { CeremonyDeps, WrittenEscrow } from './ports.js';
import { resolveValidTo, type ExpiryChoice } from './onboard.js';
import { proveAndDescribe, type Proof } from './prove.js';
import { isSymmetric, knownIds, type EscrowRef } from './escrow-facts.js';

export { isSymmetric, materialsOf, knownIds, recordedValidTo, type EscrowRef } from './escrow-facts.js';

/** The escrow store as the lifecycle ceremonies see it (implemented over escrow/file-store by the CLI). */
export interface LifecycleEscrow {
  /** The latest complete escrow version of `keyId`, or undefined. */
  latest(keyId: string): Promise<EscrowRef | undefined>;
  /** Opens an escrow version with the operator's identity or passphrase (all checks); caller disposes. */
  open(ref: EscrowRef): Promise<EscrowPayload>;
  /** The next free version number of `keyId`'s escrow. */
  nextVersion(keyId: string): Promise<number>;
  /** Durably writes a sealed version, create-only. */
  write(sealed: SealedEscrow): Promise<WrittenEscrow>;
  /** Records an import in a version's sidecar. */
  recordImport(sidecarPath: string, fact: ImportFact): Promise<void>;
  /** How to seal a new version for the same custodians (recipients from the manifest; passphrase if given). */
  sealingFor(sidecar: EscrowSidecar): EscrowSealing;
}

/** Journal of a ceremony: steps done and non-secret facts, written durably by the CLI before moving on. */
export interface JournalPort {
  /** Facts recorded by an interrupted earlier run of the same ceremony (empty for a fresh start). */
  readonly resumed: Readonly<Record<string, string>>;
  step(name: string, facts?: Record<string, string>): Promise<void>;
}

export interface LifecycleDeps extends CeremonyDeps {
  escrow: LifecycleEscrow;
  journal: JournalPort;
  /** Wrapping asked for on the command line; each part absent → the pair recorded at onboard ({@link wrappingOf}). */
  wrapping?: WrappingOverride;
}

/** A wrapping pair (or half of one) chosen by the operator over the recorded one. */
export interface WrappingOverride {
  WrappingAlgorithm?: WrappingAlgorithm;
  WrappingKeySpec?: WrappingKeySpec;
}

/** A journal that records nothing (library callers, tests). */
export const NO_JOURNAL: JournalPort = { resumed: {}, step: async () => {} };

/**
 * Describes the key and refuses the states no lifecycle ceremony can work with: not EXTERNAL, or
 * pending deletion (with the way out).
 */
export async function describeExternalKey(kms: KmsPort, keyRef: string): Promise<KeyInfo> {
  const key = await kms.describeKey(keyRef);
  if (key.Origin !== 'EXTERNAL') {
    throw new KmsByokError('ERR_KMS_UNSUPPORTED', `key ${key.KeyId} has origin ${key.Origin}, not EXTERNAL: it holds no imported material`, {
      hint: 'kms-byok manages keys with imported material (origin EXTERNAL) only',
    });
  }
  if (key.KeyState === 'PendingDeletion') {
    throw new KmsByokError('ERR_KMS_INVALID_STATE', `key ${key.KeyId} is pending deletion${key.DeletionDate ? ` (on ${key.DeletionDate.toISOString()})` : ''}`, {
      hint: `cancel the deletion first: aws kms cancel-key-deletion --key-id ${key.KeyId}, then re-run`,
    });
  }
  return key;
}

/** A KMS material paired with the escrow material that holds it. */
export interface Pairing {
  kms: KeyMaterialInfo;
  /** 1-based escrow material index. */
  index: number;
}

/**
 * Pairs every material KMS lists with an escrow material by KeyMaterialId. For keys whose materials
 * carry no id (non-symmetric), the single material pairs with the escrow's single material.
 * Materials KMS holds that the escrow does not are returned in `unknown`.
 */
export function pairMaterials(sidecar: EscrowSidecar, kmsMaterials: KeyMaterialInfo[]): { pairs: Pairing[]; unknown: KeyMaterialInfo[] } {
  const ids = knownIds(sidecar);
  const pairs: Pairing[] = [];
  const unknown: KeyMaterialInfo[] = [];
  for (const m of kmsMaterials) {
    if (m.KeyMaterialId === undefined) {
      if (sidecar.materials.length === 1) pairs.push({ kms: m, index: 1 });
      else unknown.push(m);
      continue;
    }
    const index = [...ids.entries()].find(([, id]) => id === m.KeyMaterialId)?.[0];
    if (index === undefined) unknown.push(m);
    else pairs.push({ kms: m, index });
  }
  return { pairs, unknown };
}

/** Checks the escrow belongs to the key (by key id: replicas of a multi-Region key share it). */
export function assertEscrowOfKey(sidecar: EscrowSidecar, key: { KeyId: string; Arn?: string }, path: string): void {
  if (sidecar.manifest.keyId !== key.KeyId) {
    throw new KmsByokError('ERR_ESCROW_WRONG_KEY', `escrow ${path} belongs to key ${sidecar.manifest.keyId}, not ${key.KeyId}`, {
      hint: 'give the escrow of this key (escrow/<key-id>.v<N>.age), or the key that escrow belongs to',
    });
  }
}

/** No escrow of the key where the ceremony looks: `problem` says which key and where. */
export function escrowNotFound(problem: string): KmsByokError {
  return new KmsByokError('ERR_ESCROW_NOT_FOUND', problem, { hint: 'pass --escrow-dir (where onboard wrote it) or --escrow FILE' });
}

/** Refuses to go on when KMS holds a material the escrow lacks (naming it). */
export function assertEscrowCovers(unknown: KeyMaterialInfo[], keyId: string, path: string): void {
  const first = unknown[0];
  if (first === undefined) return;
  throw new KmsByokError(
    'ERR_ESCROW_MISSING_MATERIAL',
    `escrow ${path} lacks key material ${first.KeyMaterialId ?? '(no id)'} of key ${keyId}${unknown.length > 1 ? ` and ${unknown.length - 1} more` : ''}`,
    { hint: 'a key is usable only with every material: use the latest escrow version of this key (kms-byok status shows which it is)' },
  );
}

/** Resolves an expiry choice to a whole-second ValidTo at `now`, checked as KMS checks it (onboard's check). */
export function resolveExpiry(expiry: ExpiryChoice, now: Date): { ExpirationModel: ExpirationModel; ValidTo?: Date } {
  const validTo = resolveValidTo(expiry, now);
  return validTo === undefined ? { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } : { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo };
}

/** ISO-8601 UTC without milliseconds, the escrow format's time form. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export { ImportSession, type Imported } from './import-session.js';

/**
 * The wrapping a key's materials are imported under: the operator's `override` where given, else the
 * pair recorded in the sidecar at onboard (so a later import passes the same key policy conditions,
 * `kms:WrappingAlgorithm` and `kms:WrappingKeySpec`), else the strongest valid pair. An override the
 * key spec cannot use is refused (ERR_WRAPPING_NOT_ALLOWED: found once the key is described, so exit 1).
 */
export function wrappingOf(sidecar: EscrowSidecar, keySpec: KeySpec, override: WrappingOverride = {}): { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec } {
  const base = recordedWrapping(sidecar, keySpec);
  if (override.WrappingAlgorithm === undefined && override.WrappingKeySpec === undefined) return base;
  const chosen = { WrappingAlgorithm: override.WrappingAlgorithm ?? base.WrappingAlgorithm, WrappingKeySpec: override.WrappingKeySpec ?? base.WrappingKeySpec };
  try {
    assertWrappingAllowed(keySpec, chosen.WrappingAlgorithm, chosen.WrappingKeySpec);
  } catch (e) {
    throw new KmsByokError('ERR_WRAPPING_NOT_ALLOWED', `${chosen.WrappingAlgorithm} with ${chosen.WrappingKeySpec} cannot wrap material of a ${keySpec} key`, {
      hint: `drop --wrapping-algorithm/--wrapping-key-spec to use the pair recorded at onboard (${base.WrappingAlgorithm}, ${base.WrappingKeySpec})${e instanceof KmsByokError && e.hint ? `; ${e.hint}` : ''}`,
      cause: e,
    });
  }
  return chosen;
}

function recordedWrapping(sidecar: EscrowSidecar, keySpec: KeySpec): { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec } {
  const recorded = sidecar.materials.map((m) => m.firstImport).find((f) => f?.wrappingAlgorithm !== undefined && f.wrappingKeySpec !== undefined);
  if (recorded) {
    try {
      assertWrappingAllowed(keySpec, recorded.wrappingAlgorithm as WrappingAlgorithm, recorded.wrappingKeySpec as WrappingKeySpec);
      return { WrappingAlgorithm: recorded.wrappingAlgorithm as WrappingAlgorithm, WrappingKeySpec: recorded.wrappingKeySpec as WrappingKeySpec };
    } catch {
      /* a sidecar naming a pair the spec cannot use: fall back to the default */
    }
  }
  const c = chooseWrapping(keySpec);
  return { WrappingAlgorithm: c.algorithm, WrappingKeySpec: c.wrappingKeySpec };
}

/** The import fact to record in the sidecar after a (re-)import. */
export function importFact(
  index: number,
  region: string,
  at: Date,
  expiry: { ExpirationModel: ExpirationModel; ValidTo?: Date },
  imported: { keyMaterialId?: string; params: Pick<ImportParameters, 'WrappingAlgorithm' | 'WrappingKeySpec'> },
): ImportFact {
  return {
    materialIndex: index,
    importedAt: isoSeconds(at),
    region,
    expirationModel: expiry.ExpirationModel,
    ...(expiry.ValidTo ? { validTo: isoSeconds(expiry.ValidTo) } : {}),
    ...(imported.keyMaterialId ? { keyMaterialId: imported.keyMaterialId } : {}),
    wrappingAlgorithm: imported.params.WrappingAlgorithm,
    wrappingKeySpec: imported.params.WrappingKeySpec,
  };
}

/** The escrow material with the given 1-based index (internal error when absent). */
export function materialAt(payload: EscrowPayload, index: number): EscrowMaterial {
  const m = payload.materials[index - 1];
  if (m === undefined) throw new KmsByokError('ERR_ESCROW_MISMATCH', `the escrow has no material ${index}`);
  return m;
}

/** Adds a hint to a KmsByokError (what exists, what to run next). */
export function withHint(e: unknown, hint: string): unknown {
  if (e instanceof KmsByokError) return new KmsByokError(e.code, e.message, { hint: e.hint ? `${e.hint}; ${hint}` : hint, cause: e.cause ?? e });
  return e;
}

/**
 * Verifies a key after import: Enabled, and KMS proves it holds `material` (Encrypt/Decrypt for
 * symmetric keys, GenerateMac for HMAC, GetPublicKey/Sign for asymmetric keys).
 */
export async function verifyKey(kms: KmsPort, key: KeyInfo, material: SecretBytes): Promise<{ key: KeyInfo; proof: Proof }> {
  return proveAndDescribe(kms, key.KeyId, key.KeySpec, key.KeyUsage, material);
}

/**
 * Resolves KMS materials the sidecar cannot name (an import whose KeyMaterialId was never recorded,
 * e.g. after a crash between ImportKeyMaterial and the sidecar update): each escrow material with no
 * recorded id is re-imported as EXISTING_KEY_MATERIAL under the unknown id — KMS accepts only the very
 * same material — and the id is recorded. Returns the materials still unknown (not in the escrow).
 */
export async function reconcileUnknown(
  kms: KmsPort,
  key: KeyInfo,
  ref: EscrowRef,
  payload: EscrowPayload,
  unknown: KeyMaterialInfo[],
  expiry: { ExpirationModel: ExpirationModel; ValidTo?: Date },
  session: ImportSession,
  deps: Pick<LifecycleDeps, 'escrow' | 'now' | 'progress'>,
): Promise<{ still: KeyMaterialInfo[]; resolved: Pairing[] }> {
  const ids = knownIds(ref.sidecar);
  const candidates = payload.materials.filter((m) => ids.get(m.index) === undefined);
  const still: KeyMaterialInfo[] = [];
  const resolved: Pairing[] = [];
  for (const u of unknown) {
    let found: number | undefined;
    if (u.KeyMaterialId !== undefined && isSymmetric(key.KeySpec)) {
      for (const c of candidates) {
        try {
          const imported = await session.importMaterial({ material: c.material }, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: u.KeyMaterialId, expiry });
          await deps.escrow.recordImport(ref.sidecarPath, importFact(c.index, key.Region, deps.now(), expiry, imported));
          deps.progress(`KMS confirmed escrow material ${c.index} is key material ${u.KeyMaterialId}; recorded it in the sidecar`);
          found = c.index;
          break;
        } catch (e) {
          if (e instanceof KmsByokError && e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL') continue;
          throw e;
        }
      }
    }
    if (found === undefined) still.push(u);
    else {
      resolved.push({ kms: u, index: found });
      candidates.splice(candidates.findIndex((c) => c.index === found), 1);
    }
  }
  return { still, resolved };
}

export type { WrittenEscrow };
