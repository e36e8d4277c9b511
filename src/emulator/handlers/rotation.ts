/**
 * Key material rotation: RotateKeyOnDemand and ListKeyRotations.
 *
 * Contracts (AWS KMS API reference, "Rotating key material on demand"):
 * - Only symmetric encryption keys rotate (UnsupportedOperationException otherwise); not replicas (rotate
 *   the primary). The key must be Enabled (DisabledException / KMSInvalidStateException). At most 25
 *   on-demand rotations per key (LimitExceededException).
 * - AWS_KMS keys get fresh material. EXTERNAL keys rotate to the imported material in PENDING_ROTATION
 *   (KMSInvalidStateException when there is none, or it is still waiting for replicas); a multi-Region
 *   primary rotates its replicas too. The old CURRENT becomes NON_CURRENT (decrypt only).
 * - ListKeyRotations lists completed rotations (ROTATIONS_ONLY, the default) or every material
 *   (ALL_KEY_MATERIAL), oldest first, with Limit/Marker paging. ImportState, ExpirationModel and ValidTo
 *   appear only for EXTERNAL keys.
 */
import { randomBytes } from 'node:crypto';
import { seconds, type Handler, type HandlerContext } from '../context.js';
import { fail } from '../errors.js';
import { oneOf } from '../input.js';
import { requireEnabled } from '../lifecycle.js';
import { keyArn, relatedKeys } from '../lookup.js';
import { SPECS, keyMaterialId } from '../specs.js';
import type { KeyRecord, MaterialRecord } from '../state.js';
import { pageOf, readKeyId } from './keys.js';

const MAX_ON_DEMAND_ROTATIONS = 25;

function requireRotatable(key: KeyRecord): void {
  if (SPECS[key.keySpec].kind !== 'symmetric') {
    throw fail('UnsupportedOperationException', `${keyArn(key)} is not a symmetric encryption KMS key; only those support key rotation.`);
  }
}

function rotate(key: KeyRecord, next: MaterialRecord, now: number): void {
  for (const m of key.materials) if (m.materialState === 'CURRENT') m.materialState = 'NON_CURRENT';
  next.materialState = 'CURRENT';
  next.rotationDate = now;
  next.rotationType = 'ON_DEMAND';
  key.onDemandRotations += 1;
}

export const rotateKeyOnDemand: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  requireRotatable(key);
  if (key.multiRegionKeyType === 'REPLICA') {
    throw fail('UnsupportedOperationException', `${keyArn(key)} is a multi-Region replica key. Rotate its primary key.`);
  }
  requireEnabled(key);
  if (key.onDemandRotations >= MAX_ON_DEMAND_ROTATIONS) {
    throw fail('LimitExceededException', `${keyArn(key)} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
  }
  const now = ctx.clock.now().getTime();
  if (key.origin === 'AWS_KMS') {
    const bytes = randomBytes(32);
    const next: MaterialRecord = { keyMaterialId: keyMaterialId(key.keyId, bytes), material: bytes.toString('base64'), importState: 'IMPORTED', materialState: 'PENDING_ROTATION' };
    key.materials.push(next);
    rotate(key, next, now);
    return { KeyId: keyArn(key) };
  }
  const waiting = key.materials.find((m) => m.materialState === 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION');
  if (waiting) {
    throw fail('KMSInvalidStateException', `Key material ${waiting.keyMaterialId} of ${keyArn(key)} must be imported into every replica key before rotation.`);
  }
  const next = key.materials.find((m) => m.materialState === 'PENDING_ROTATION' && m.importState === 'IMPORTED');
  if (!next) {
    throw fail('KMSInvalidStateException', `${keyArn(key)} has no imported key material in PENDING_ROTATION state. Import new key material first.`);
  }
  for (const k of relatedReplicas(ctx, key)) {
    const m = k.materials.find((x) => x.keyMaterialId === next.keyMaterialId);
    if (m) rotate(k, m, now);
  }
  rotate(key, next, now);
  return { KeyId: keyArn(key) };
};

function relatedReplicas(ctx: HandlerContext, key: KeyRecord): KeyRecord[] {
  return key.multiRegion ? relatedKeys(ctx, key.keyId).filter((k) => k.multiRegionKeyType === 'REPLICA') : [];
}

export const listKeyRotations: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  const include = oneOf(input, 'IncludeKeyMaterial', ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] as const) ?? 'ROTATIONS_ONLY';
  requireRotatable(key);
  const materials = include === 'ALL_KEY_MATERIAL' ? key.materials : key.materials.filter((m) => m.rotationDate !== undefined);
  const { page, more } = pageOf(materials, input);
  const external = key.origin === 'EXTERNAL';
  return {
    Rotations: page.map((m) => ({
      KeyId: key.keyId,
      KeyMaterialId: m.keyMaterialId,
      ...(external && m.description !== undefined ? { KeyMaterialDescription: m.description } : {}),
      ...(external ? { ImportState: m.importState } : {}),
      KeyMaterialState: m.materialState,
      ...(external && m.expirationModel ? { ExpirationModel: m.expirationModel } : {}),
      ...(external && m.validTo !== undefined && m.expirationModel === 'KEY_MATERIAL_EXPIRES' ? { ValidTo: seconds(m.validTo) } : {}),
      ...(m.rotationDate !== undefined ? { RotationDate: seconds(m.rotationDate), RotationType: m.rotationType ?? 'ON_DEMAND' } : {}),
    })),
    ...more,
  };
};
