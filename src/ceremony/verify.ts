/**
 * `verify`: proves, on demand, that a key in KMS holds exactly what its escrow holds (docs/lifecycle.md).
 * Every material KMS lists must be in the escrow; each symmetric material is confirmed by a
 * re-import under its KeyMaterialId (keeping the expiry KMS has); the current material is proven
 * in use (Encrypt/Decrypt, GenerateMac, or GetPublicKey + Sign). Nothing is created; the escrow is
 * only read.
 */
import { KmsByokError } from '../core/errors.js';
import type { EscrowPayload, EscrowSidecar, ImportFact } from '../escrow/index.js';
import type { KeyInfo, KmsPort } from '../kms/port.js';
import { confirmKeyMaterialId } from './confirm.js';
import { assertEscrowOfKey, importFact, isSymmetric, knownIds, materialsOf, pairMaterials, wrappingOf } from './shared.js';
import { ImportSession } from './import-session.js';
import { proveKeyMaterial, type Proof } from './prove.js';
import { assertAnchored, fingerprintsOf, writeAnchors, type AnchorState } from './anchor.js';

export interface VerifyResult {
  keyId: string;
  keyArn: string;
  keyState: string;
  materials: { index: number; keyMaterialId?: string; checkValue: string; confirmedByReimport: boolean }[];
  proof: Proof;
  /** `anchored`: the key's tags vouch for the escrow; `written`: verify proved the escrow and wrote them. */
  anchors: AnchorState | 'written';
}

/**
 * `record` stores the facts of a material KMS confirmed but the sidecar did not name yet (an import
 * whose answer was lost): verify confirms it by re-import under its id and records it, so the escrow
 * and KMS agree again. Without `record` such a material is a failure.
 */
export async function runVerify(
  kms: KmsPort,
  key: KeyInfo,
  escrow: { payload: EscrowPayload; sidecar: EscrowSidecar; path: string },
  progress: (s: string) => void,
  record?: (fact: ImportFact) => Promise<void>,
): Promise<VerifyResult> {
  assertEscrowOfKey(escrow.sidecar, key, escrow.path);
  if (key.KeyState !== 'Enabled') {
    throw new KmsByokError('ERR_KMS_INVALID_STATE', `key ${key.KeyId} is ${key.KeyState}: only an Enabled key can be verified`, {
      hint: key.KeyState === 'PendingImport' ? 'bring its material back with kms-byok restore' : 'run kms-byok status for the key',
    });
  }
  const wrapping = wrappingOf(escrow.sidecar, key.KeySpec);
  const listed = await materialsOf(kms, key);
  let { pairs, unknown } = pairMaterials(escrow.sidecar, listed);
  // A forged escrow version is refused before anything else (docs/escrow-format.md, "Anchors").
  const anchorState = await assertAnchored(kms, key.KeyId, escrow, pairs.filter((p) => p.kms.ImportState !== 'PENDING_IMPORT').map((p) => p.index), { migrate: true });
  if (unknown.length > 0 && record && isSymmetric(key.KeySpec)) {
    // Unconfirmed, not missing: each escrow material without a recorded id is offered under each
    // unknown id; KMS accepts only the very same material there.
    const session = new ImportSession(kms, key, { now: () => new Date(), progress }, wrapping);
    const ids = knownIds(escrow.sidecar);
    const candidates = escrow.payload.materials.filter((m) => ids.get(m.index) === undefined);
    for (const u of [...unknown]) {
      for (const c of candidates) {
        const expiry = u.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && u.ValidTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES' as const, ValidTo: u.ValidTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const };
        try {
          const imported = await session.importMaterial({ material: c.material }, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: u.KeyMaterialId!, expiry });
          await record(importFact(c.index, key.Region, new Date(), expiry, imported));
          progress(`material ${c.index}: KMS confirmed it is ${u.KeyMaterialId} (an import whose answer was lost); recorded in the sidecar`);
          pairs = [...pairs, { kms: u, index: c.index }];
          unknown = unknown.filter((x) => x !== u);
          candidates.splice(candidates.indexOf(c), 1);
          break;
        } catch (e) {
          if (e instanceof KmsByokError && e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL') continue;
          throw e;
        }
      }
    }
  }
  if (unknown.length > 0) {
    throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId} holds material ${unknown[0]!.KeyMaterialId ?? '(unnamed)'} that escrow ${escrow.path} does not`, {
      hint: 'find the escrow version that holds it (kms-byok escrow inspect), or investigate who imported it',
    });
  }
  const recordedNow = new Set(pairs.filter((p) => !pairMaterials(escrow.sidecar, listed).pairs.some((q) => q.index === p.index)).map((p) => p.index));
  const results: VerifyResult['materials'] = [];
  for (const pair of pairs) {
    const m = escrow.payload.materials[pair.index - 1]!;
    let confirmed = false;
    if (isSymmetric(key.KeySpec) && pair.kms.KeyMaterialId && pair.kms.ImportState !== 'PENDING_IMPORT' && !recordedNow.has(pair.index)) {
      await confirmKeyMaterialId(kms, {
        keyId: key.KeyId,
        keySpec: key.KeySpec,
        material: m.material,
        keyMaterialId: pair.kms.KeyMaterialId,
        wrapping,
      });
      confirmed = true;
      progress(`material ${pair.index}: KMS accepted a re-import under KeyMaterialId ${pair.kms.KeyMaterialId}`);
    }
    results.push({ index: pair.index, checkValue: m.checkValue, confirmedByReimport: confirmed || recordedNow.has(pair.index), ...(pair.kms.KeyMaterialId ? { keyMaterialId: pair.kms.KeyMaterialId } : {}) });
  }
  const current = pairs.find((p) => p.kms.KeyMaterialId !== undefined && p.kms.KeyMaterialId === key.CurrentKeyMaterialId) ?? pairs[pairs.length - 1];
  if (!current) throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId} lists no material`, { hint: 'run kms-byok status for the key' });
  const proof = await proveKeyMaterial(kms, key.KeyId, key.KeySpec, key.KeyUsage, escrow.payload.materials[current.index - 1]!.material);
  progress(`current material ${current.index}: ${proof.summary}`);
  let anchors: VerifyResult['anchors'] = anchorState;
  if (anchorState === 'legacy') {
    // The migration path: every material KMS holds is now proven to be the escrow's; anchor them all.
    await writeAnchors(kms, key.KeyId, fingerprintsOf(escrow.payload, key.KeyId), progress, escrow.path);
    anchors = 'written';
  }
  return { keyId: key.KeyId, keyArn: key.Arn, keyState: key.KeyState, materials: results, proof, anchors };
}

/**
 * `escrow verify` with a target: the sidecar's KeyMaterialIds are checked against KMS. Each material
 * the sidecar names must be one KMS lists, and KMS must accept the escrowed material under that id
 * (a re-import as EXISTING_KEY_MATERIAL, keeping KMS's expiry) — so a sidecar edited to name another
 * material's id is noticed. The key's anchors must vouch for the escrow. Returns what was proven.
 * ERR_ESCROW_MISMATCH (attention) when the sidecar and KMS disagree.
 */
export async function proveSidecarIds(
  kms: KmsPort,
  key: KeyInfo,
  escrow: { payload: EscrowPayload; sidecar: EscrowSidecar; path: string },
  progress: (s: string) => void,
): Promise<{ index: number; keyMaterialId?: string; proven: 'reimport' | 'proof' | 'not-imported' }[]> {
  assertEscrowOfKey(escrow.sidecar, key, escrow.path);
  const listed = await materialsOf(kms, key);
  const { pairs } = pairMaterials(escrow.sidecar, listed);
  await assertAnchored(kms, key.KeyId, escrow, pairs.filter((p) => p.kms.ImportState !== 'PENDING_IMPORT').map((p) => p.index));
  const wrapping = wrappingOf(escrow.sidecar, key.KeySpec);
  const out: { index: number; keyMaterialId?: string; proven: 'reimport' | 'proof' | 'not-imported' }[] = [];
  for (const [index, id] of knownIds(escrow.sidecar)) {
    const m = escrow.payload.materials[index - 1]!;
    if (!isSymmetric(key.KeySpec)) {
      if (key.KeyState !== 'Enabled') {
        out.push({ index, proven: 'not-imported' });
        continue;
      }
      await proveKeyMaterial(kms, key.KeyId, key.KeySpec, key.KeyUsage, m.material);
      out.push({ index, proven: 'proof' });
      continue;
    }
    if (id === undefined) {
      out.push({ index, proven: 'not-imported' });
      continue;
    }
    if (!listed.some((l) => l.KeyMaterialId === id)) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `the sidecar of ${escrow.path} names KeyMaterialId ${id} for material ${index}, but key ${key.KeyId} has no such material`, {
        hint: 'the sidecar was edited or belongs to another key: restore it from a copy',
      });
    }
    try {
      await confirmKeyMaterialId(kms, { keyId: key.KeyId, keySpec: key.KeySpec, material: m.material, keyMaterialId: id, wrapping });
    } catch (e) {
      if (e instanceof KmsByokError && e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL') {
        throw new KmsByokError('ERR_ESCROW_MISMATCH', `escrow material ${index} of ${escrow.path} is not key material ${id}, which its sidecar names (KMS refused it under that id)`, {
          hint: 'the sidecar was edited: do not trust it for revoke or restore; restore the sidecar from a copy and find who changed it',
          cause: e,
        });
      }
      throw e;
    }
    progress(`material ${index}: KMS accepted it under KeyMaterialId ${id}`);
    out.push({ index, keyMaterialId: id, proven: 'reimport' });
  }
  return out;
}
