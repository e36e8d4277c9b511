/**
 * Key lifecycle operations: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription, EnableKey,
 * DisableKey, ScheduleKeyDeletion, CancelKeyDeletion.
 *
 * Contracts (AWS KMS API reference and "Key states of AWS KMS keys"):
 * - CreateKey: KeySpec defaults to SYMMETRIC_DEFAULT and KeyUsage to ENCRYPT_DECRYPT for it; other specs
 *   need a KeyUsage the spec allows. Origin EXTERNAL creates a key without material in PendingImport;
 *   AWS_KMS generates material and the key is Enabled. Multi-Region keys get an `mrk-` key id.
 * - EnableKey/DisableKey fail with KMSInvalidStateException on keys pending import or deletion.
 * - ScheduleKeyDeletion: window 7–30 days (default 30) → PendingDeletion with DeletionDate; the sweep
 *   deletes the key when the date passes. CancelKeyDeletion → Disabled (PendingImport when the key lacks
 *   imported material, since a Disabled key must be able to be enabled).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { seconds, type Handler, type HandlerContext } from '../context.js';
import { fail } from '../errors.js';
import { bool, int, oneOf, str, tags as readTags, type Input } from '../input.js';
import { hasAllMaterial, requireNotPendingDeletion } from '../lifecycle.js';
import { keyArn, regionOf, resolveKey } from '../lookup.js';
import { readPolicy } from './policy.js';
import { keyMetadata } from '../metadata.js';
import { ALL_AWS_KEY_SPECS, SPECS, generateMaterial, keyMaterialId } from '../specs.js';
import { type KeyRecord, type KeySpec, type KeyUsage, type Tag } from '../state.js';

const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'ENCAPSULATE_DECAPSULATE'] as const;
const ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;
const CMK_SPECS = ALL_AWS_KEY_SPECS.filter((s) => !s.startsWith('ML_') && s !== 'ECC_NIST_EDWARDS25519');

/** AWS's default key policy: the account root may do everything. */
export function defaultPolicy(accountId: string): string {
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: 'kms:*', Resource: '*' },
      ],
    },
    null,
    2,
  );
}

/** Reads and checks Tags: unique keys, no `aws:` prefix. */
export function readTagList(input: Input): Tag[] {
  const list = readTags(input, 'Tags') ?? [];
  const seen = new Set<string>();
  for (const t of list) {
    if (t.TagKey.toLowerCase().startsWith('aws:')) throw fail('TagException', `Tag key ${t.TagKey} uses the reserved prefix aws:`);
    if (seen.has(t.TagKey)) throw fail('TagException', `Duplicate tag key ${t.TagKey}`);
    seen.add(t.TagKey);
  }
  return list;
}

function newKeyId(multiRegion: boolean): string {
  return multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
}

export const createKey: Handler = async (ctx, input) => {
  const policy = readPolicy(input, ctx.accountId);
  const description = str(input, 'Description', { min: 0, max: 8192 }) ?? '';
  const usageIn = oneOf(input, 'KeyUsage', KEY_USAGES);
  const specIn = oneOf(input, 'KeySpec', ALL_AWS_KEY_SPECS);
  const cmkSpecIn = oneOf(input, 'CustomerMasterKeySpec', CMK_SPECS);
  const origin = oneOf(input, 'Origin', ORIGINS) ?? 'AWS_KMS';
  const customKeyStoreId = str(input, 'CustomKeyStoreId', { min: 1, max: 64 });
  const tagList = readTagList(input);
  const multiRegion = bool(input, 'MultiRegion') ?? false;
  str(input, 'XksKeyId', { min: 1, max: 128 });

  if (specIn !== undefined && cmkSpecIn !== undefined) {
    throw fail('ValidationException', 'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.');
  }
  const specName = specIn ?? cmkSpecIn ?? 'SYMMETRIC_DEFAULT';
  if (!(specName in SPECS)) throw fail('UnsupportedOperationException', `KeySpec ${specName} is not supported by the kms-byok emulator.`);
  const spec = specName as KeySpec;
  if (origin === 'AWS_CLOUDHSM' || origin === 'EXTERNAL_KEY_STORE' || customKeyStoreId !== undefined) {
    throw fail('UnsupportedOperationException', `Custom key stores (Origin ${origin}) are not supported by the kms-byok emulator.`);
  }
  const info = SPECS[spec];
  let usage: KeyUsage;
  if (usageIn === undefined) {
    if (info.kind !== 'symmetric') throw fail('ValidationException', `KeyUsage is required for KeySpec ${spec}.`);
    usage = 'ENCRYPT_DECRYPT';
  } else if (!(info.usages as readonly string[]).includes(usageIn)) {
    throw fail('ValidationException', `KeyUsage ${usageIn} is not compatible with KeySpec ${spec}.`);
  } else {
    usage = usageIn as KeyUsage;
  }

  const now = ctx.clock.now().getTime();
  const keyId = newKeyId(multiRegion);
  const key: KeyRecord = {
    keyId,
    region: ctx.region,
    accountId: ctx.accountId,
    creationDate: now,
    description,
    keySpec: spec,
    keyUsage: usage,
    origin,
    keyState: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
    multiRegion,
    ...(multiRegion ? { multiRegionKeyType: 'PRIMARY' as const } : {}),
    policy: policy ?? defaultPolicy(ctx.accountId),
    tags: tagList,
    materials: [],
    onDemandRotations: 0,
  };
  if (origin === 'AWS_KMS') {
    const material = await generateMaterial(spec);
    key.materials.push({
      keyMaterialId: keyMaterialId(keyId, material),
      material: material.toString('base64'),
      importState: 'IMPORTED',
      materialState: 'CURRENT',
    });
  }
  regionOf(ctx).keys[keyId] = key;
  return { KeyMetadata: keyMetadata(ctx, key) };
};

/** KeyId as the management operations read it: key id or key ARN, 1–2048 characters. */
export function readKeyId(ctx: HandlerContext, input: Input, field = 'KeyId'): KeyRecord {
  return resolveKey(ctx, str(input, field, { required: true, max: 2048 }));
}

export const describeKey: Handler = (ctx, input) => {
  const key = resolveKey(ctx, str(input, 'KeyId', { required: true, max: 2048 }), { allowAlias: true });
  return { KeyMetadata: keyMetadata(ctx, key) };
};

/** Opaque pagination marker: the offset of the next item. `limits`: Limit's maximum and default (1000 and 100 unless the operation says otherwise). */
export function pageOf<T>(items: T[], input: Input, limits: { max: number; default: number } = { max: 1000, default: 100 }): { page: T[]; more: Record<string, unknown> } {
  const limit = int(input, 'Limit', 1, limits.max) ?? limits.default;
  const marker = str(input, 'Marker', { min: 1, max: 1024 });
  let start = 0;
  if (marker !== undefined) {
    const m = /^kbm1:(\d+)$/.exec(Buffer.from(marker, 'base64').toString('utf8'));
    if (!m || Number(m[1]) > items.length) throw fail('InvalidMarkerException', 'Marker is invalid');
    start = Number(m[1]);
  }
  const page = items.slice(start, start + limit);
  const next = start + page.length;
  return next < items.length
    ? { page, more: { NextMarker: Buffer.from(`kbm1:${next}`).toString('base64'), Truncated: true } }
    : { page, more: { Truncated: false } };
}

export const listKeys: Handler = (ctx, input) => {
  const keys = Object.values(regionOf(ctx).keys);
  const { page, more } = pageOf(keys, input);
  return { Keys: page.map((k) => ({ KeyId: k.keyId, KeyArn: keyArn(k) })), ...more };
};

export const updateKeyDescription: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  const description = str(input, 'Description', { min: 0, max: 8192 });
  if (description === undefined) throw fail('ValidationException', "1 validation error detected: Value null at 'description' failed to satisfy constraint: Member must not be null");
  requireNotPendingDeletion(key);
  key.description = description;
  return {};
};

function requireEnableable(key: KeyRecord): void {
  requireNotPendingDeletion(key);
  if (key.keyState === 'PendingImport') throw fail('KMSInvalidStateException', `${keyArn(key)} is pending import.`);
}

export const enableKey: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  requireEnableable(key);
  key.keyState = 'Enabled';
  return {};
};

export const disableKey: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  requireEnableable(key);
  key.keyState = 'Disabled';
  return {};
};

export const scheduleKeyDeletion: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  const days = int(input, 'PendingWindowInDays', 7, 30) ?? 30;
  requireNotPendingDeletion(key);
  key.keyState = 'PendingDeletion';
  key.pendingWindowInDays = days;
  key.deletionDate = ctx.clock.now().getTime() + days * 86_400_000;
  return { KeyId: keyArn(key), DeletionDate: seconds(key.deletionDate), KeyState: 'PendingDeletion', PendingWindowInDays: days };
};

export const cancelKeyDeletion: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  if (key.keyState !== 'PendingDeletion') throw fail('KMSInvalidStateException', `${keyArn(key)} is not pending deletion.`);
  key.keyState = key.origin === 'EXTERNAL' && !hasAllMaterial(key) ? 'PendingImport' : 'Disabled';
  delete key.deletionDate;
  delete key.pendingWindowInDays;
  return { KeyId: keyArn(key) };
};
