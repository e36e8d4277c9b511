/**
 * Response validation: every field kms-byok relies on is checked before it crosses the port, so a
 * malformed or unexpected KMS answer is an ERR_KMS_BAD_RESPONSE, never a crash deeper in a ceremony.
 */
import { KmsByokError } from '../core/errors.js';
import { parseKeyArn } from '../core/aws-ids.js';
import { KEY_SPECS, KEY_USAGES, type KeySpec, type KeyState, type KeyUsage, type Origin } from '../core/aws-names.js';
import type { KeyInfo, KeyMaterialInfo, Tag } from './port.js';

export function badResponse(operation: string, what: string): KmsByokError {
  return new KmsByokError('ERR_KMS_BAD_RESPONSE', `${operation}: unexpected response: ${what}`, {
    hint: 'the endpoint did not answer as AWS KMS does: check --endpoint-url',
  });
}

export function requireString(operation: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw badResponse(operation, `${field} missing`);
  return v;
}

export function requireBytes(operation: string, field: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length === 0) throw badResponse(operation, `${field} missing`);
  return v;
}

export function requireDate(operation: string, field: string, v: unknown): Date {
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw badResponse(operation, `${field} missing`);
  return v;
}

export function optionalDate(v: unknown): Date | undefined {
  return v instanceof Date && !Number.isNaN(v.getTime()) ? v : undefined;
}

const KEY_STATES: readonly KeyState[] = [
  'Creating', 'Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'PendingReplicaDeletion', 'Unavailable', 'Updating',
];
const ORIGINS: readonly Origin[] = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'];

function oneOf<T extends string>(operation: string, field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw badResponse(operation, `${field} "${String(v)}"`);
  return v as T;
}

/** Validates SDK `KeyMetadata` into the port's KeyInfo. */
export function toKeyInfo(operation: string, md: Record<string, unknown> | undefined): KeyInfo {
  if (!md) throw badResponse(operation, 'KeyMetadata missing');
  const arn = requireString(operation, 'Arn', md.Arn);
  const parsed = parseKeyArn(arn);
  if (!parsed) throw badResponse(operation, `Arn "${arn}"`);
  const info: KeyInfo = {
    KeyId: requireString(operation, 'KeyId', md.KeyId),
    Arn: arn,
    KeyState: oneOf(operation, 'KeyState', md.KeyState, KEY_STATES),
    KeySpec: oneOf<KeySpec>(operation, 'KeySpec', md.KeySpec ?? 'SYMMETRIC_DEFAULT', KEY_SPECS),
    KeyUsage: oneOf<KeyUsage>(operation, 'KeyUsage', md.KeyUsage ?? 'ENCRYPT_DECRYPT', KEY_USAGES),
    Origin: oneOf(operation, 'Origin', md.Origin, ORIGINS),
    Enabled: md.Enabled === true,
    AccountId: parsed.accountId,
    Region: parsed.region,
  };
  const creation = optionalDate(md.CreationDate);
  if (creation) info.CreationDate = creation;
  if (typeof md.Description === 'string' && md.Description) info.Description = md.Description;
  const validTo = optionalDate(md.ValidTo);
  if (validTo) info.ValidTo = validTo;
  if (md.ExpirationModel === 'KEY_MATERIAL_EXPIRES' || md.ExpirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    info.ExpirationModel = md.ExpirationModel;
  }
  if (typeof md.CurrentKeyMaterialId === 'string') info.CurrentKeyMaterialId = md.CurrentKeyMaterialId;
  const deletion = optionalDate(md.DeletionDate);
  if (deletion) info.DeletionDate = deletion;
  if (typeof md.MultiRegion === 'boolean') info.MultiRegion = md.MultiRegion;
  const mrc = md.MultiRegionConfiguration as
    | { MultiRegionKeyType?: unknown; PrimaryKey?: { Region?: unknown }; ReplicaKeys?: { Region?: unknown }[] }
    | undefined;
  if (mrc && typeof mrc === 'object') {
    if (mrc.MultiRegionKeyType === 'PRIMARY' || mrc.MultiRegionKeyType === 'REPLICA') info.MultiRegionKeyType = mrc.MultiRegionKeyType;
    if (typeof mrc.PrimaryKey?.Region === 'string') info.PrimaryRegion = mrc.PrimaryKey.Region;
    if (Array.isArray(mrc.ReplicaKeys)) {
      info.ReplicaRegions = mrc.ReplicaKeys.map((r) => r.Region).filter((r): r is string => typeof r === 'string');
    }
  }
  return info;
}

const MATERIAL_STATES = ['CURRENT', 'NON_CURRENT', 'PENDING_ROTATION', 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION'] as const;

/** Validates one `ListKeyRotations` entry into the port's KeyMaterialInfo. */
export function toKeyMaterialInfo(operation: string, r: Record<string, unknown>): KeyMaterialInfo {
  const info: KeyMaterialInfo = {};
  if (r.KeyMaterialId !== undefined) {
    if (typeof r.KeyMaterialId !== 'string' || !/^[0-9a-f]{64}$/.test(r.KeyMaterialId)) throw badResponse(operation, `KeyMaterialId "${String(r.KeyMaterialId)}"`);
    info.KeyMaterialId = r.KeyMaterialId;
  }
  if (typeof r.KeyMaterialDescription === 'string') info.KeyMaterialDescription = r.KeyMaterialDescription;
  if (r.ImportState !== undefined) info.ImportState = oneOf(operation, 'ImportState', r.ImportState, ['IMPORTED', 'PENDING_IMPORT'] as const);
  if (r.KeyMaterialState !== undefined) info.KeyMaterialState = oneOf(operation, 'KeyMaterialState', r.KeyMaterialState, MATERIAL_STATES);
  if (r.ExpirationModel !== undefined) info.ExpirationModel = oneOf(operation, 'ExpirationModel', r.ExpirationModel, ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] as const);
  const validTo = optionalDate(r.ValidTo);
  if (validTo) info.ValidTo = validTo;
  const rotated = optionalDate(r.RotationDate);
  if (rotated) info.RotationDate = rotated;
  if (r.RotationType === 'AUTOMATIC' || r.RotationType === 'ON_DEMAND') info.RotationType = r.RotationType;
  return info;
}

/** Validates one entry of a `Tags` list: TagKey 1–128 characters, TagValue 0–256 (AWS's Tag shape). */
export function toTag(operation: string, t: unknown): Tag {
  const o = (typeof t === 'object' && t !== null ? t : {}) as { TagKey?: unknown; TagValue?: unknown };
  if (typeof o.TagKey !== 'string' || o.TagKey.length < 1 || o.TagKey.length > 128) throw badResponse(operation, `TagKey "${String(o.TagKey)}"`);
  if (typeof o.TagValue !== 'string' || o.TagValue.length > 256) throw badResponse(operation, `TagValue of ${o.TagKey}`);
  return { TagKey: o.TagKey, TagValue: o.TagValue };
}

/** The most pages a paginated list call follows before calling the answer bad (a KMS that never stops). */
export const MAX_LIST_PAGES = 1000;

/**
 * The marker of the next page of a paginated answer, or undefined when it is the last one. A truncated
 * answer without a NextMarker, or a marker already seen (`seen`, updated here), is a bad response: following
 * it would loop for ever.
 */
export function nextMarker(operation: string, out: { NextMarker?: unknown; Truncated?: unknown }, seen: Set<string>): string | undefined {
  if (out.Truncated !== true) return undefined;
  if (typeof out.NextMarker !== 'string' || out.NextMarker.length === 0) throw badResponse(operation, 'Truncated without NextMarker');
  if (seen.has(out.NextMarker)) throw badResponse(operation, `NextMarker "${out.NextMarker}" repeated`);
  seen.add(out.NextMarker);
  return out.NextMarker;
}
