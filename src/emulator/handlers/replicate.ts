/**
 * ReplicateKey: a multi-Region primary key → a replica with the same key id in another Region.
 *
 * Contracts (AWS KMS API reference, "Importing key material into multi-Region keys"):
 * - The key must be a multi-Region primary (UnsupportedOperationException otherwise), the replica Region
 *   must differ from the primary's and hold no replica yet (AlreadyExistsException).
 * - The replica shares key spec, usage, origin and key id. An EXTERNAL primary's replica is created
 *   with no key material, in PendingImport: its materials are the primary's key material ids, all
 *   PENDING_IMPORT, so the same bytes are imported into it as EXISTING_KEY_MATERIAL. An AWS_KMS primary's
 *   replica gets the same material and is Enabled.
 * - A primary pending deletion cannot be replicated (KMSInvalidStateException); a disabled one can (the
 *   replica starts Disabled, as AWS copies the enabled state only at creation).
 */
import type { Handler } from '../context.js';
import { fail } from '../errors.js';
import { bool, str } from '../input.js';
import { requireNotPendingDeletion, settleState } from '../lifecycle.js';
import { keyArn, regionOf } from '../lookup.js';
import { keyMetadata } from '../metadata.js';
import type { KeyRecord } from '../state.js';
import { defaultPolicy, readKeyId, readTagList } from './keys.js';
import { readPolicy } from './policy.js';

export const replicateKey: Handler = (ctx, input) => {
  const primary = readKeyId(ctx, input);
  const replicaRegion = str(input, 'ReplicaRegion', { required: true, max: 32, pattern: /^([a-z]+-){2,3}\d+$/ });
  const policy = readPolicy(input, ctx.accountId);
  bool(input, 'BypassPolicyLockoutSafetyCheck');
  const description = str(input, 'Description', { min: 0, max: 8192 });
  const tagList = readTagList(input);
  if (!primary.multiRegion || primary.multiRegionKeyType !== 'PRIMARY') {
    throw fail('UnsupportedOperationException', `${keyArn(primary)} is not a multi-Region primary key.`);
  }
  requireNotPendingDeletion(primary);
  if (replicaRegion === primary.region) throw fail('ValidationException', `The replica Region ${replicaRegion} must differ from the primary key's Region.`);
  const target = regionOf(ctx, replicaRegion);
  if (Object.hasOwn(target.keys, primary.keyId)) {
    throw fail('AlreadyExistsException', `A replica of ${keyArn(primary)} already exists in ${replicaRegion}.`);
  }
  const external = primary.origin === 'EXTERNAL';
  const replica: KeyRecord = {
    keyId: primary.keyId,
    region: replicaRegion,
    accountId: primary.accountId,
    creationDate: ctx.clock.now().getTime(),
    description: description ?? primary.description,
    keySpec: primary.keySpec,
    keyUsage: primary.keyUsage,
    origin: primary.origin,
    keyState: primary.keyState === 'Disabled' ? 'Disabled' : 'Enabled',
    multiRegion: true,
    multiRegionKeyType: 'REPLICA',
    policy: policy ?? defaultPolicy(primary.accountId),
    tags: tagList,
    materials: primary.materials.map((m) =>
      external
        ? { keyMaterialId: m.keyMaterialId, importState: 'PENDING_IMPORT' as const, materialState: m.materialState, ...(m.description !== undefined ? { description: m.description } : {}) }
        : { ...m },
    ),
    onDemandRotations: 0,
  };
  if (external) settleState(replica);
  target.keys[replica.keyId] = replica;
  return {
    ReplicaKeyMetadata: keyMetadata({ ...ctx, region: replicaRegion }, replica),
    ReplicaPolicy: replica.policy,
    ReplicaTags: replica.tags,
  };
};
