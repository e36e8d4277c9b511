/**
 * `revoke`: the BYOK kill switch. DeleteImportedKeyMaterial (one material or all) takes effect at
 * once; the key is unusable (PendingImport) until restored from its escrow. Refused unless the latest
 * escrow holds every material being deleted and its files match their hashes — opened and
 * check-value-verified too when the caller can open it — unless `withoutEscrow` (loudly).
 */
import { KmsByokError } from '../core/errors.js';
import { disposePayload } from '../escrow/index.js';
import { assertEscrowOfKey, describeExternalKey, materialsOf, pairMaterials, withHint, type LifecycleDeps } from './lifecycle.js';
import { outcomeUnknown } from '../kms/port.js';

export interface RevokeOptions {
  key: string;
  /** One material, or every material when undefined. */
  keyMaterialId?: string;
  reason: string;
  withoutEscrow: boolean;
  /** Open the escrow (all checks, check values) before deleting. */
  openEscrow: boolean;
}

export interface RevokeResult {
  keyId: string;
  keyArn: string;
  reason: string;
  deleted: string[];
  keyState: string;
  escrow?: string;
  escrowVerified: 'opened' | 'sidecar' | 'none';
}

/** The refusal of a revoke that no verified escrow would let anyone undo. */
export function revokeUnsafe(escrowProblem: string): KmsByokError {
  return new KmsByokError('ERR_REVOKE_UNSAFE', `refusing to revoke: ${escrowProblem}`, {
    hint: 'without a verified escrow the deletion cannot be undone; fix the escrow, or pass --without-escrow to destroy the key material for good',
  });
}

export async function runRevoke(o: RevokeOptions, deps: LifecycleDeps): Promise<RevokeResult> {
  const { kms } = deps;
  const key = await describeExternalKey(kms, o.key);
  const all = await materialsOf(kms, key);
  const targets = o.keyMaterialId === undefined ? all.filter((m) => m.ImportState !== 'PENDING_IMPORT') : all.filter((m) => m.KeyMaterialId === o.keyMaterialId);
  if (o.keyMaterialId !== undefined && targets.length === 0) {
    throw new KmsByokError('ERR_KMS_NOT_FOUND', `key ${key.KeyId} has no material ${o.keyMaterialId}`, { hint: `kms-byok status ${key.KeyId} lists its materials` });
  }
  let escrowVerified: RevokeResult['escrowVerified'] = 'none';
  const ref = await deps.escrow.latest(key.KeyId);
  let escrowProblem: string | undefined;
  if (!ref) escrowProblem = `no escrow of key ${key.KeyId} in the escrow directory`;
  else {
    try {
      assertEscrowOfKey(ref.sidecar, key, ref.path);
      const { unknown } = pairMaterials(ref.sidecar, targets);
      if (unknown.length > 0) escrowProblem = `escrow ${ref.path} lacks material ${unknown[0]!.KeyMaterialId ?? '(no id)'}`;
      else if (ref.damaged.length > 0) escrowProblem = `escrow file ${ref.damaged[0]} is missing or differs from its SHA-256`;
      else if (o.openEscrow) {
        disposePayload(await deps.escrow.open(ref));
        escrowVerified = 'opened';
      } else escrowVerified = 'sidecar';
    } catch (e) {
      escrowProblem = e instanceof KmsByokError ? e.message : String(e);
    }
  }
  if (escrowProblem !== undefined) {
    if (!o.withoutEscrow) throw revokeUnsafe(escrowProblem);
    deps.progress(`WARNING: revoking WITHOUT a verified escrow (${escrowProblem}): this cannot be undone`);
  } else {
    deps.progress(`escrow ${ref!.path} holds every material being deleted (${escrowVerified === 'opened' ? 'opened, check values verified' : 'sidecar and file hashes checked'})`);
  }
  await deps.journal.step('started', { keyId: key.KeyId, reason: o.reason, materials: targets.map((t) => t.KeyMaterialId ?? 'current').join(',') });
  const deleted: string[] = [];
  for (const t of targets) {
    if (t.ImportState === 'PENDING_IMPORT') {
      deps.progress(`material ${t.KeyMaterialId ?? '(current)'} of ${key.KeyId} is already deleted (pending import)`);
      continue;
    }
    try {
      await kms.deleteImportedKeyMaterial(key.KeyId, t.KeyMaterialId);
    } catch (e) {
      // After a lost answer (or a retry meeting the done deletion) KMS is asked whether it happened.
      if (!(e instanceof KmsByokError) || !(outcomeUnknown(e) || e.code === 'ERR_KMS_INVALID_STATE')) throw e;
      const now = (await materialsOf(kms, await kms.describeKey(key.KeyId)).catch(() => undefined))?.find((m) => m.KeyMaterialId === t.KeyMaterialId);
      if (now?.ImportState !== 'PENDING_IMPORT') {
        throw outcomeUnknown(e) ? withHint(e, `whether KMS deleted material ${t.KeyMaterialId ?? '(current)'} is unknown; re-running the same command asks KMS first`) : e;
      }
      deps.progress(`DeleteImportedKeyMaterial got no answer, but KMS shows material ${t.KeyMaterialId ?? '(current)'} deleted`);
    }
    deleted.push(t.KeyMaterialId ?? 'current');
    await deps.journal.step('deleted', { keyId: key.KeyId, keyMaterialId: t.KeyMaterialId ?? 'current' });
    deps.progress(`deleted imported key material ${t.KeyMaterialId ?? '(current)'} of ${key.KeyId}`);
  }
  const after = await kms.describeKey(key.KeyId);
  const result: RevokeResult = { keyId: key.KeyId, keyArn: key.Arn, reason: o.reason, deleted, keyState: after.KeyState, escrowVerified };
  if (ref) result.escrow = ref.path;
  return result;
}
