/**
 * KeyMetadata as KMS returns it from CreateKey, DescribeKey and ReplicateKey.
 *
 * Contract: fields appear only where AWS documents them — ExpirationModel and ValidTo only for EXTERNAL
 * keys that hold imported material (ValidTo = the earliest expiry among the key's permanently associated
 * materials), DeletionDate only in PendingDeletion, CurrentKeyMaterialId only for symmetric encryption
 * keys, MultiRegionConfiguration only for multi-Region keys, and the algorithm list matching KeyUsage.
 */
import { seconds, type HandlerContext } from './context.js';
import { currentMaterial, permanentMaterials } from './lifecycle.js';
import { keyArn, relatedKeys } from './lookup.js';
import { algorithmsOf } from './specs.js';
import type { KeyRecord } from './state.js';

/** The MultiRegionConfiguration of a multi-Region key. */
export function multiRegionConfiguration(ctx: HandlerContext, key: KeyRecord): Record<string, unknown> {
  const related = relatedKeys(ctx, key.keyId).filter((k) => k.multiRegion);
  const primary = related.find((k) => k.multiRegionKeyType === 'PRIMARY');
  const entry = (k: KeyRecord) => ({ Arn: keyArn(k), Region: k.region });
  return {
    MultiRegionKeyType: key.multiRegionKeyType ?? 'PRIMARY',
    ...(primary ? { PrimaryKey: entry(primary) } : {}),
    ReplicaKeys: related.filter((k) => k.multiRegionKeyType === 'REPLICA').map(entry),
  };
}

/** The KeyMetadata structure of `key`. */
export function keyMetadata(ctx: HandlerContext, key: KeyRecord): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: keyArn(key),
    CreationDate: seconds(key.creationDate),
    Enabled: key.keyState === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.keyState,
  };
  if (key.keyState === 'PendingDeletion' && key.deletionDate !== undefined) meta.DeletionDate = seconds(key.deletionDate);
  if (key.origin === 'EXTERNAL') {
    const imported = permanentMaterials(key).filter((m) => m.importState === 'IMPORTED');
    if (imported.length > 0) {
      const expiring = imported.filter((m) => m.expirationModel === 'KEY_MATERIAL_EXPIRES' && m.validTo !== undefined);
      if (expiring.length > 0) meta.ValidTo = seconds(Math.min(...expiring.map((m) => m.validTo!)));
      meta.ExpirationModel = expiring.length > 0 ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE';
    }
  }
  meta.Origin = key.origin;
  meta.KeyManager = 'CUSTOMER';
  meta.CustomerMasterKeySpec = key.keySpec;
  meta.KeySpec = key.keySpec;
  Object.assign(meta, algorithmsOf(key.keySpec, key.keyUsage));
  meta.MultiRegion = key.multiRegion;
  if (key.multiRegion) meta.MultiRegionConfiguration = multiRegionConfiguration(ctx, key);
  if (key.keySpec === 'SYMMETRIC_DEFAULT') {
    const current = currentMaterial(key);
    if (current) meta.CurrentKeyMaterialId = current.keyMaterialId;
  }
  return meta;
}
