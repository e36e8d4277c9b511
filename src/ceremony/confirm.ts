/**
 * Confirms by KMS's own check that the escrowed material is the one a symmetric key holds: re-import it
 * with `ImportType: EXISTING_KEY_MATERIAL` and its `KeyMaterialId`, keeping the expiry KMS already has.
 * KMS accepts only the very same material under that id, so acceptance is the proof.
 */
import { KmsByokError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import type { KeySpec, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import type { KmsPort } from '../kms/port.js';
import { ImportSession } from './import-session.js';

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
  const expires = current.ExpirationModel !== 'KEY_MATERIAL_DOES_NOT_EXPIRE' && current.ValidTo !== undefined;
  // The session re-sends after a lost answer (this import is idempotent) and checks the id KMS answers.
  await new ImportSession(kms, { KeyId: input.keyId, KeySpec: input.keySpec }, { now: () => new Date(), progress: () => {} }, input.wrapping).importMaterial(
    { material: input.material },
    {
      ImportType: 'EXISTING_KEY_MATERIAL',
      KeyMaterialId: input.keyMaterialId,
      expiry: expires ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: current.ValidTo! } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
    },
  );
}
