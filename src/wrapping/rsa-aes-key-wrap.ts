/**
 * `RSA_AES_KEY_WRAP_SHA_1` / `RSA_AES_KEY_WRAP_SHA_256`: a fresh 256-bit AES key wraps the material with AES
 * Key Wrap with Padding (RFC 5649, NIST SP 800-38F KWP), and RSAES-OAEP wraps that AES key. The output is
 * the RSA ciphertext (exactly the modulus length) followed by the KWP ciphertext, which is what AWS's
 * procedure builds with `openssl pkeyutl` and `openssl enc -id-aes256-wrap-pad -iv A65959A6`.
 */

import { createCipheriv, randomFillSync, type KeyObject } from 'node:crypto';
import { concatBytes } from '../core/bytes.js';
import { KmsByokError } from '../core/errors.js';
import { rsaesOaepEncrypt, type OaepHash } from './rsaes-oaep.js';

/** The alternative initial value of RFC 5649 section 3. */
const KWP_IV = Uint8Array.of(0xa6, 0x59, 0x59, 0xa6);

/** RFC 5649 accepts at most 2^32 - 1 bytes; AWS accepts far less, so a smaller bound keeps mistakes cheap. */
const MAX_KWP_PLAINTEXT = 64 * 1024;

/**
 * AES Key Wrap with Padding (RFC 5649) of `plaintext` under `kek`, using OpenSSL's `id-aes{128,192,256}-wrap-pad`.
 * A 16-, 24- or 32-byte `kek` is accepted so the RFC's own vectors (192-bit KEK) can be checked;
 * {@link rsaAesKeyWrap} always uses 32 bytes. Modifies neither argument.
 *
 * @throws KmsByokError `ERR_INVALID_ARGUMENT` for another KEK length or an empty or oversized plaintext.
 */
export function aesKeyWrapPad(kek: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher =
    kek.length === 16 ? 'id-aes128-wrap-pad' : kek.length === 24 ? 'id-aes192-wrap-pad' : kek.length === 32 ? 'id-aes256-wrap-pad' : undefined;
  // Precondition: an AES key.
  if (cipher === undefined) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `an AES key-wrap key must be 16, 24 or 32 bytes, got ${kek.length}`);
  }
  // Precondition: RFC 5649 wraps 1 to 2^32 - 1 bytes.
  if (plaintext.length === 0 || plaintext.length > MAX_KWP_PLAINTEXT) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `key wrap input must be 1 to ${MAX_KWP_PLAINTEXT} bytes, got ${plaintext.length}`);
  }
  const c = createCipheriv(cipher, kek, KWP_IV);
  return concatBytes(c.update(plaintext), c.final());
}

/** `RSA_AES_KEY_WRAP_SHA_*` with a fresh random AES-256 key, zeroed before returning. */
export function rsaAesKeyWrap(publicKey: KeyObject, hash: OaepHash, material: Uint8Array): Uint8Array {
  return rsaAesKeyWrapWithKey(publicKey, hash, material, randomFillSync(new Uint8Array(32)));
}

/**
 * `RSA_AES_KEY_WRAP_SHA_*` with the given ephemeral AES-256 key, which this function takes over and zeroes
 * (on success and on failure). A seam for tests, which check the zeroing and the composition; production
 * code calls {@link rsaAesKeyWrap}.
 */
export function rsaAesKeyWrapWithKey(publicKey: KeyObject, hash: OaepHash, material: Uint8Array, ephemeralKey: Uint8Array): Uint8Array {
  try {
    // Precondition: an AES-256 key.
    if (ephemeralKey.length !== 32) {
      throw new KmsByokError('ERR_INTERNAL', `ephemeral AES key must be 32 bytes, got ${ephemeralKey.length}`);
    }
    const wrappedKey = rsaesOaepEncrypt(publicKey, hash, ephemeralKey);
    const wrappedMaterial = aesKeyWrapPad(ephemeralKey, material);
    return concatBytes(wrappedKey, wrappedMaterial);
  } finally {
    ephemeralKey.fill(0);
  }
}
