/**
 * RSAES-OAEP (RFC 8017 section 7.1) with MGF1 over the same hash and an empty label: the
 * `RSAES_OAEP_SHA_1` and `RSAES_OAEP_SHA_256` wrapping algorithms of AWS KMS, and the first half of
 * `RSA_AES_KEY_WRAP_SHA_*`.
 */

import { constants, publicEncrypt, type KeyObject } from 'node:crypto';
import { KmsByokError } from '../core/errors.js';

export type OaepHash = 'sha1' | 'sha256';

const HASH_BYTES: Record<OaepHash, number> = { sha1: 20, sha256: 32 };

/** The longest plaintext RSAES-OAEP can encrypt under a `modulusBits` key: k - 2·hLen - 2 bytes (RFC 8017 7.1.1). */
export function oaepMaxPlaintextBytes(modulusBits: number, hash: OaepHash): number {
  return Math.ceil(modulusBits / 8) - 2 * HASH_BYTES[hash] - 2;
}

/**
 * Encrypts `plaintext` under the RSA `publicKey` with OAEP, `hash` for both the OAEP digest and MGF1
 * (Node's `oaepHash` sets both), empty label. Does not modify `plaintext`.
 *
 * @throws KmsByokError `ERR_INVALID_COMBINATION` when `plaintext` is too long for one OAEP block.
 */
export function rsaesOaepEncrypt(publicKey: KeyObject, hash: OaepHash, plaintext: Uint8Array): Uint8Array {
  const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  const max = oaepMaxPlaintextBytes(bits, hash);
  // Precondition: the plaintext fits one OAEP block.
  if (plaintext.length > max) {
    const alg = hash === 'sha1' ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256';
    throw new KmsByokError(
      'ERR_INVALID_COMBINATION',
      `key material of ${plaintext.length} bytes is too long for ${alg} with a ${bits}-bit wrapping key (at most ${max})`,
      { hint: `use a larger wrapping key spec or ${hash === 'sha1' ? 'RSA_AES_KEY_WRAP_SHA_1' : 'RSA_AES_KEY_WRAP_SHA_256'}` },
    );
  }
  return new Uint8Array(
    publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext),
  );
}
