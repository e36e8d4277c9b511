/**
 * Wrapping key material for `ImportKeyMaterial` under the public key from `GetParametersForImport`.
 * Pure: `core`, `material/key-specs` and `material/parse` (to refuse pairs and material AWS would refuse),
 * and `node:crypto`.
 */

import {
  WRAPPING_ALGORITHMS,
  type KeySpec,
  type WrappingAlgorithm,
  type WrappingKeySpec,
} from '../core/aws-names.js';
import { KmsByokError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import { assertWrappingAllowed } from '../material/key-specs.js';
import { assertMaterialMatchesSpec } from '../material/parse.js';
import { parseWrappingPublicKey } from './public-key.js';
import { rsaAesKeyWrap } from './rsa-aes-key-wrap.js';
import { rsaesOaepEncrypt, type OaepHash } from './rsaes-oaep.js';

export { parseWrappingPublicKey, type WrappingPublicKey } from './public-key.js';
export { aesKeyWrapPad } from './rsa-aes-key-wrap.js';
export { oaepMaxPlaintextBytes, type OaepHash } from './rsaes-oaep.js';

/** The parts of a `GetParametersForImport` request and response that wrapping needs, in AWS's names. */
export interface WrappingParameters {
  /** DER SubjectPublicKeyInfo from the response. */
  readonly PublicKey: Uint8Array;
  /** The algorithm given in the request (the response does not repeat it). */
  readonly WrappingAlgorithm: WrappingAlgorithm;
  /** The wrapping key spec given in the request. */
  readonly WrappingKeySpec: WrappingKeySpec;
}

/** AWS's limit on `EncryptedKeyMaterial` (ImportKeyMaterial, 6144 bytes). */
export const MAX_ENCRYPTED_KEY_MATERIAL_BYTES = 6144;

const HASH: Record<WrappingAlgorithm, OaepHash> = {
  RSAES_OAEP_SHA_1: 'sha1',
  RSAES_OAEP_SHA_256: 'sha256',
  RSA_AES_KEY_WRAP_SHA_1: 'sha1',
  RSA_AES_KEY_WRAP_SHA_256: 'sha256',
};

/**
 * Wraps `material` as `params.WrappingAlgorithm` prescribes, under `params.PublicKey`, giving the
 * `EncryptedKeyMaterial` for `ImportKeyMaterial`:
 * - `RSAES_OAEP_SHA_1` / `RSAES_OAEP_SHA_256`: RSAES-OAEP of the material, MGF1 with the same hash.
 * - `RSA_AES_KEY_WRAP_SHA_1` / `RSA_AES_KEY_WRAP_SHA_256`: OAEP(fresh AES-256 key) ‖ AES-KWP(material),
 *   the AES key zeroed afterwards.
 *
 * `material` stays the caller's: it is read, never copied into JS memory, modified or disposed. When
 * `keySpec` is given, the pair must be one AWS allows for it and the material must fit it.
 *
 * @throws KmsByokError `ERR_INVALID_COMBINATION` (pair refused, or material too long for OAEP),
 *   `ERR_MATERIAL` (material does not fit `keySpec`), `ERR_KMS_BAD_RESPONSE` (bad public key),
 *   `ERR_INVALID_ARGUMENT` (unknown algorithm).
 */
export function wrapKeyMaterial(material: SecretBytes, params: WrappingParameters, keySpec?: KeySpec): Uint8Array {
  const algorithm = params.WrappingAlgorithm;
  // Precondition: an algorithm kms-byok produces (values may come from JSON at run time).
  if (!(WRAPPING_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `unknown wrapping algorithm ${JSON.stringify(String(algorithm))}`, {
      hint: `valid wrapping algorithms: ${WRAPPING_ALGORITHMS.join(', ')}`,
    });
  }
  // Precondition: when the key spec is known, the pair and the material are ones AWS accepts for it.
  if (keySpec !== undefined) {
    assertWrappingAllowed(keySpec, algorithm, params.WrappingKeySpec);
    assertMaterialMatchesSpec(material, keySpec);
  }
  const { key } = parseWrappingPublicKey(params.PublicKey, params.WrappingKeySpec);
  const hash = HASH[algorithm];
  const wrapped = material.use((bytes) =>
    algorithm.startsWith('RSAES_OAEP_') ? rsaesOaepEncrypt(key, hash, bytes) : rsaAesKeyWrap(key, hash, bytes),
  );
  // Postcondition: ImportKeyMaterial will accept the blob's size.
  if (wrapped.length > MAX_ENCRYPTED_KEY_MATERIAL_BYTES) {
    throw new KmsByokError('ERR_MATERIAL', `wrapped key material is ${wrapped.length} bytes, more than the ${MAX_ENCRYPTED_KEY_MATERIAL_BYTES} AWS accepts`);
  }
  return wrapped;
}
