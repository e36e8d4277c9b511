/**
 * `revoke`: the BYOK kill switch. DeleteImportedKeyMaterial (one material or all) takes effect at
 * once; the key is unusable (PendingImport) until restored from its escrow. Refused unless the latest
 * escrow is proven to hold every material being deleted, the way `verify` proves it: the escrow is
 * opened, the key's anchors vouch for it, and KMS itself accepts each material (symmetric: a
 * re-import as EXISTING_KEY_MATERIAL under its id, keeping KMS's expiry; HMAC: GenerateMac;
 * asymmetric: GetPublicKey equals the escrow's public key) — unless `withoutEscrow` (loudly).
 */
import { KmsByokError } from '../core/errors.js';
import { disposePayload } from '../escrow/index.js';
import { assertAnchored } from './anchor.js';
import { confirmKeyMaterialId } from './confirm.js';
import { proveKeyMaterial } from './prove.js';
import { assertEscrowOfKey, describeExternalKey, isSymmetric, materialsOf, pairMaterials, withHint, wrappingOf, type LifecycleDeps } from './shared.js';
import { outcomeUnknown } from '../kms/port.js';

export interface RevokeOptions {
  key: string;
  /** One material, or every material when undefined. */
  keyMaterialId?: string;
  reason: string;
  withoutEscrow: boolean;
  /**
   * Open the escrow and prove it holds each material before deleting. Required unless
   * `withoutEscrow`: a revoke that cannot open the escrow is refused (the CLI asks for --identity).
   */
  openEscrow: boolean;
}

export interface RevokeResult {
  keyId: string;
  keyArn: string;
  reason: string;
  deleted: string[];
  keyState: string;
  escrow?: string;
  escrowVerified: 'proven' | 'none';
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
  let escrowCode: KmsByokError['code'] | undefined;
  if (!ref) escrowProblem = `no escrow of key ${key.KeyId} in the escrow directory`;
  else if (!o.openEscrow) escrowProblem = `escrow ${ref.path} was not opened: only an opened escrow proves it holds the material`;
  else {
    try {
      assertEscrowOfKey(ref.sidecar, key, ref.path);
      const { pairs, unknown } = pairMaterials(ref.sidecar, targets);
      if (unknown.length > 0) escrowProblem = `escrow ${ref.path} lacks material ${unknown[0]!.KeyMaterialId ?? '(no id)'}`;
      else if (ref.damaged.length > 0) escrowProblem = `escrow file ${ref.damaged[0]} is missing or differs from its SHA-256`;
      else {
        const payload = await deps.escrow.open(ref);
        try {
          // The key's anchors must vouch for this escrow, and KMS must accept each material being deleted.
          const held = pairMaterials(ref.sidecar, all).pairs.filter((p) => p.kms.ImportState !== 'PENDING_IMPORT').map((p) => p.index);
          await assertAnchored(kms, key.KeyId, { payload, sidecar: ref.sidecar, path: ref.path }, held);
          const wrapping = wrappingOf(ref.sidecar, key.KeySpec);
          for (const p of pairs) {
            const m = payload.materials[p.index - 1];
            if (m === undefined) throw new KmsByokError('ERR_ESCROW_MISMATCH', `escrow ${ref.path} has no material ${p.index}`);
            if (isSymmetric(key.KeySpec)) {
              await confirmKeyMaterialId(kms, { keyId: key.KeyId, keySpec: key.KeySpec, material: m.material, keyMaterialId: p.kms.KeyMaterialId!, wrapping });
            } else {
              await proveKeyMaterial(kms, key.KeyId, key.KeySpec, key.KeyUsage, m.material);
            }
            deps.progress(`proven: escrow material ${p.index} is ${p.kms.KeyMaterialId ?? 'the key\'s material'} (KMS accepted it)`);
          }
        } finally {
          disposePayload(payload);
        }
        escrowVerified = 'proven';
      }
    } catch (e) {
      if (!(e instanceof KmsByokError)) throw e;
      escrowProblem = e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL' ? `KMS refused escrow ${ref.path}'s material as the material being deleted (${e.message})` : e.message;
      escrowCode = e.code;
    }
  }
  if (escrowProblem !== undefined) {
    if (!o.withoutEscrow) {
      if (escrowCode === 'ERR_ESCROW_ANCHOR_MISMATCH' || escrowCode === 'ERR_ESCROW_NOT_ANCHORED') {
        throw new KmsByokError(escrowCode, `refusing to revoke: ${escrowProblem}`, { hint: 'nothing was deleted; without the escrow the custodians anchored, the deletion cannot be undone' });
      }
      throw revokeUnsafe(escrowProblem);
    }
    deps.progress(`WARNING: revoking WITHOUT a verified escrow (${escrowProblem}): this cannot be undone`);
  } else {
    deps.progress(`escrow ${ref!.path} holds every material being deleted (opened; KMS accepted each material)`);
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
