/**
 * The facts of a key and its escrow that need no secret and no ceremony: which materials KMS lists,
 * which KeyMaterialIds and expiries the sidecar recorded. `status` needs only these, so they live
 * apart from the ceremonies' shared code (ceremony/shared.ts re-exports them): a status run loads no
 * ceremony, wrapping or vault code (docs/architecture.md, "The build").
 */
import type { KeySpec } from '../core/aws-names.js';
import type { KeyInfo, KeyMaterialInfo, KmsPort } from '../kms/port.js';
import type { EscrowSidecar } from '../escrow/index.js';

/** Symmetric keys accept ImportType / KeyMaterialId; other specs reject them. */
export function isSymmetric(spec: KeySpec): boolean {
  return spec === 'SYMMETRIC_DEFAULT';
}

/** The latest escrow version of a key, as far as can be known without a secret. */
export interface EscrowRef {
  /** Main sealed file (or the sidecar for XOR escrows). */
  path: string;
  sidecarPath: string;
  sidecar: EscrowSidecar;
  /** Sealed files listed by the sidecar that are missing or differ from their SHA-256. */
  damaged: string[];
}

/** Every material of the key: ListKeyRotations for symmetric keys, DescribeKey's facts otherwise. */
export async function materialsOf(kms: KmsPort, key: KeyInfo): Promise<KeyMaterialInfo[]> {
  if (isSymmetric(key.KeySpec)) return kms.listKeyRotations(key.KeyId);
  const one: KeyMaterialInfo = { ImportState: key.KeyState === 'PendingImport' ? 'PENDING_IMPORT' : 'IMPORTED', KeyMaterialState: 'CURRENT' };
  if (key.ExpirationModel) one.ExpirationModel = key.ExpirationModel;
  if (key.ValidTo) one.ValidTo = key.ValidTo;
  return [one];
}

/** The KeyMaterialId the sidecar knows for each escrow material index. */
export function knownIds(sidecar: EscrowSidecar): Map<number, string | undefined> {
  return new Map(sidecar.materials.map((m) => [m.index, m.keyMaterialId ?? m.firstImport?.keyMaterialId]));
}

/**
 * The expiry the sidecar last recorded for escrow material `index` in `region`: what KMS was told at
 * the last import. Used where KMS omits a ValidTo it should report, so the gap fails closed (treated
 * as expiring then) instead of reading as "never expires".
 */
export function recordedValidTo(sidecar: EscrowSidecar, index: number, region: string): Date | undefined {
  const records = sidecar.materials.find((m) => m.index === index)?.validTo.filter((v) => v.region === region) ?? [];
  const last = records[records.length - 1];
  return last?.expirationModel === 'KEY_MATERIAL_EXPIRES' && last.validTo ? new Date(last.validTo) : undefined;
}
