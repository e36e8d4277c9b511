/**
 * Confirms by KMS's own check that the escrowed material is the one a symmetric key holds: re-import it
 * with `ImportType: EXISTING_KEY_MATERIAL` and its `KeyMaterialId`, keeping the expiry KMS already has.
 * KMS accepts only the very same material under that id, so acceptance is the proof.
 */
import { KmsByokError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import type { KeySpec, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import type { KmsPort } from '../kms/port.js';
import { parseWrappingPublicKey, wrapKeyMaterial } from '../wrapping/index.js';

export async function confirmKeyMaterialId(
  kms: KmsPort,
  input: {
    keyId: string;
    keySpec: KeySpec;
    material: SecretBytes;
    keyMaterialId: string;
    wrapping: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec };
  },
): Promise<void> {
  // Precondition: only symmetric keys accept ImportType and KeyMaterialId.
  if (input.keySpec !== 'SYMMETRIC_DEFAULT') return;
  const current = (await kms.listKeyRotations(input.keyId)).find((m) => m.KeyMaterialId === input.keyMaterialId);
  if (!current) {
    throw new KmsByokError('ERR_VERIFY_FAILED', `key ${input.keyId} has no material ${input.keyMaterialId}`, {
      hint: 'the escrow and the key disagree: run kms-byok status for the key',
    });
  }
  const params = await kms.getParametersForImport(input.keyId, input.wrapping);
  parseWrappingPublicKey(params.PublicKey, params.WrappingKeySpec);
  const expires = current.ExpirationModel !== 'KEY_MATERIAL_DOES_NOT_EXPIRE' && current.ValidTo !== undefined;
  const out = await kms.importKeyMaterial({
    KeyId: input.keyId,
    ImportToken: params.ImportToken,
    EncryptedKeyMaterial: wrapKeyMaterial(input.material, params, input.keySpec),
    ImportType: 'EXISTING_KEY_MATERIAL',
    KeyMaterialId: input.keyMaterialId,
    ExpirationModel: expires ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    ...(expires ? { ValidTo: current.ValidTo! } : {}),
  });
  if (out.KeyMaterialId !== undefined && out.KeyMaterialId !== input.keyMaterialId) {
    throw new KmsByokError('ERR_VERIFY_FAILED', `KMS answered KeyMaterialId ${out.KeyMaterialId}, expected ${input.keyMaterialId}`, {
      hint: 'do not use this key; compare check values with the custodians',
    });
  }
}
