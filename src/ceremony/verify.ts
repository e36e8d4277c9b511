/**
 * `verify`: proves, on demand, that a key in KMS holds exactly what its escrow holds (issue 4).
 * Every material KMS lists must be in the escrow; each symmetric material is confirmed by a
 * re-import under its KeyMaterialId (keeping the expiry KMS has); the current material is proven
 * in use (Encrypt/Decrypt, GenerateMac, or GetPublicKey + Sign). Nothing is created; the escrow is
 * only read.
 */
import { KmsByokError } from '../core/errors.js';
import type { EscrowPayload, EscrowSidecar } from '../escrow/index.js';
import type { KeyInfo, KmsPort } from '../kms/port.js';
import { chooseWrapping } from '../material/key-specs.js';
import { confirmKeyMaterialId } from './confirm.js';
import { assertEscrowOfKey, isSymmetric, materialsOf, pairMaterials } from './lifecycle.js';
import { proveKeyMaterial, type Proof } from './prove.js';

export interface VerifyResult {
  keyId: string;
  keyArn: string;
  keyState: string;
  materials: { index: number; keyMaterialId?: string; checkValue: string; confirmedByReimport: boolean }[];
  proof: Proof;
}

export async function runVerify(kms: KmsPort, key: KeyInfo, escrow: { payload: EscrowPayload; sidecar: EscrowSidecar; path: string }, progress: (s: string) => void): Promise<VerifyResult> {
  assertEscrowOfKey(escrow.sidecar, key, escrow.path);
  if (key.KeyState !== 'Enabled') {
    throw new KmsByokError('ERR_KMS_INVALID_STATE', `key ${key.KeyId} is ${key.KeyState}: only an Enabled key can be verified`, {
      hint: key.KeyState === 'PendingImport' ? 'bring its material back with kms-byok restore' : 'run kms-byok status for the key',
    });
  }
  const { pairs, unknown } = pairMaterials(escrow.sidecar, await materialsOf(kms, key));
  if (unknown.length > 0) {
    throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId} holds material ${unknown[0]!.KeyMaterialId ?? '(unnamed)'} that escrow ${escrow.path} does not`, {
      hint: 'find the escrow version that holds it (kms-byok escrow inspect), or investigate who imported it',
    });
  }
  const wrapping = chooseWrapping(key.KeySpec);
  const results: VerifyResult['materials'] = [];
  for (const pair of pairs) {
    const m = escrow.payload.materials[pair.index - 1]!;
    let confirmed = false;
    if (isSymmetric(key.KeySpec) && pair.kms.KeyMaterialId && pair.kms.ImportState !== 'PENDING_IMPORT') {
      await confirmKeyMaterialId(kms, {
        keyId: key.KeyId,
        keySpec: key.KeySpec,
        material: m.material,
        keyMaterialId: pair.kms.KeyMaterialId,
        wrapping: { WrappingAlgorithm: wrapping.algorithm, WrappingKeySpec: wrapping.wrappingKeySpec },
      });
      confirmed = true;
      progress(`material ${pair.index}: KMS accepted a re-import under KeyMaterialId ${pair.kms.KeyMaterialId}`);
    }
    results.push({ index: pair.index, checkValue: m.checkValue, confirmedByReimport: confirmed, ...(pair.kms.KeyMaterialId ? { keyMaterialId: pair.kms.KeyMaterialId } : {}) });
  }
  const current = pairs.find((p) => p.kms.KeyMaterialId !== undefined && p.kms.KeyMaterialId === key.CurrentKeyMaterialId) ?? pairs[pairs.length - 1];
  if (!current) throw new KmsByokError('ERR_VERIFY_FAILED', `key ${key.KeyId} lists no material`, { hint: 'run kms-byok status for the key' });
  const proof = await proveKeyMaterial(kms, key.KeyId, key.KeySpec, key.KeyUsage, escrow.payload.materials[current.index - 1]!.material);
  progress(`current material ${current.index}: ${proof.summary}`);
  return { keyId: key.KeyId, keyArn: key.Arn, keyState: key.KeyState, materials: results, proof };
}
