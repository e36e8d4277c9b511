/**
 * Unwrapping of imported key material, as KMS does it for each WrappingAlgorithm.
 *
 * - `RSAES_OAEP_SHA_1` / `RSAES_OAEP_SHA_256`: the material is RSA-OAEP encrypted under the wrapping
 *   public key, with MGF1 using the same hash as OAEP. Decrypted with node-forge.
 * - `RSA_AES_KEY_WRAP_SHA_1` / `RSA_AES_KEY_WRAP_SHA_256`: the input is an RSA-OAEP ciphertext (exactly
 *   the modulus length) of a 256-bit AES key, followed by the material wrapped under that AES key with
 *   RFC 5649 AES key wrap with padding. RSA part decrypted with node-forge, the rest with the emulator's
 *   own RFC 5649 implementation ({@link aesKeyUnwrapWithPadding}).
 *
 * Contract: {@link unwrapKeyMaterial} returns the plaintext material or throws {@link UnwrapFailure};
 * it never returns partially checked data. Nothing here is shared with the product's wrapping code.
 */
import forge from 'node-forge';
import { aesKeyUnwrapWithPadding } from './aes-kwp.js';
import type { WrappingAlgorithm } from './state.js';

/** The encrypted key material could not be unwrapped with the token's key pair and algorithm. */
export class UnwrapFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnwrapFailure';
  }
}

function oaepDecrypt(key: forge.pki.rsa.PrivateKey, ciphertext: Uint8Array, hash: 'sha1' | 'sha256'): Buffer {
  const md = () => (hash === 'sha1' ? forge.md.sha1.create() : forge.md.sha256.create());
  try {
    const out = key.decrypt(Buffer.from(ciphertext).toString('binary'), 'RSA-OAEP', { md: md(), mgf1: { md: md() } });
    return Buffer.from(out, 'binary');
  } catch (e) {
    throw new UnwrapFailure('RSA-OAEP decryption failed', { cause: e });
  }
}

function modulusBytes(key: forge.pki.rsa.PrivateKey): number {
  return Math.ceil(key.n.bitLength() / 8);
}

/**
 * Unwraps `encrypted` with the wrapping private key (`privateKeyPem`, PKCS#8 PEM) under `algorithm`.
 * @throws UnwrapFailure when the bytes were not wrapped for this key pair and algorithm
 */
export function unwrapKeyMaterial(algorithm: WrappingAlgorithm, privateKeyPem: string, encrypted: Uint8Array): Buffer {
  const key = forge.pki.privateKeyFromPem(privateKeyPem);
  const k = modulusBytes(key);
  switch (algorithm) {
    case 'RSAES_OAEP_SHA_1':
    case 'RSAES_OAEP_SHA_256': {
      // Precondition: an RSA ciphertext is exactly as long as the modulus.
      if (encrypted.length !== k) throw new UnwrapFailure(`RSA-OAEP ciphertext must be ${k} bytes, not ${encrypted.length}`);
      return oaepDecrypt(key, encrypted, algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256');
    }
    case 'RSA_AES_KEY_WRAP_SHA_1':
    case 'RSA_AES_KEY_WRAP_SHA_256': {
      // Precondition: RSA part (modulus length) followed by at least one RFC 5649 block pair.
      if (encrypted.length < k + 16) throw new UnwrapFailure(`RSA_AES_KEY_WRAP input is too short (${encrypted.length} bytes)`);
      const aesKey = oaepDecrypt(key, encrypted.subarray(0, k), algorithm === 'RSA_AES_KEY_WRAP_SHA_1' ? 'sha1' : 'sha256');
      try {
        // Precondition: the ephemeral key is AES-256, as AWS's procedure prescribes.
        if (aesKey.length !== 32) throw new UnwrapFailure(`the RSA-wrapped AES key must be 32 bytes, not ${aesKey.length}`);
        return aesKeyUnwrapWithPadding(aesKey, encrypted.subarray(k));
      } catch (e) {
        if (e instanceof UnwrapFailure) throw e;
        throw new UnwrapFailure('AES key unwrap with padding failed', { cause: e });
      } finally {
        aesKey.fill(0);
      }
    }
  }
}
