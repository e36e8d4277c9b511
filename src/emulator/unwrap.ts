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
 * Engines: `node-forge` (default) decrypts RSA in pure JavaScript, an implementation independent of the
 * product's wrapping (which uses Node's OpenSSL), so tests cross-check two implementations; it takes
 * ~0.2 s of event-loop time per RSA-4096 unwrap. `openssl` decrypts RSA with Node's OpenSSL (~100×
 * faster), for benchmarks and large rehearsals where the emulator must keep up with KMS-like rates;
 * the RFC 5649 half is the emulator's own under both.
 *
 * Contract: {@link unwrapKeyMaterial} returns the plaintext material or throws {@link UnwrapFailure};
 * it never returns partially checked data. Nothing here is shared with the product's wrapping code.
 */
import { constants, createPrivateKey, privateDecrypt, type KeyObject } from 'node:crypto';
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

/** How the emulator decrypts the RSA part of wrapped key material. */
export type UnwrapEngine = 'node-forge' | 'openssl';
export const UNWRAP_ENGINES: readonly UnwrapEngine[] = ['node-forge', 'openssl'];

/** One RSA private key, ready for OAEP decryption by one engine. */
interface RsaDecryptor {
  /** Modulus length in bytes. */
  k: number;
  decrypt(ciphertext: Uint8Array, hash: 'sha1' | 'sha256'): Buffer;
}

function forgeDecryptor(privateKeyPem: string): RsaDecryptor {
  const key = forge.pki.privateKeyFromPem(privateKeyPem);
  return {
    k: Math.ceil(key.n.bitLength() / 8),
    decrypt(ciphertext, hash) {
      const md = () => (hash === 'sha1' ? forge.md.sha1.create() : forge.md.sha256.create());
      return Buffer.from(key.decrypt(Buffer.from(ciphertext).toString('binary'), 'RSA-OAEP', { md: md(), mgf1: { md: md() } }), 'binary');
    },
  };
}

function opensslDecryptor(privateKeyPem: string): RsaDecryptor {
  const key: KeyObject = createPrivateKey(privateKeyPem);
  return {
    k: Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8),
    // Node's oaepHash sets both the OAEP digest and MGF1's, as KMS's algorithms require.
    decrypt: (ciphertext, hash) => privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ciphertext),
  };
}

// Parsed keys by PEM: a wrapping key pair serves many tokens, and parsing RSA-4096 PEM is not free.
const decryptors = new Map<string, RsaDecryptor>();
const MAX_CACHED = 64;

function decryptorFor(engine: UnwrapEngine, privateKeyPem: string): RsaDecryptor {
  const id = `${engine}\n${privateKeyPem}`;
  let d = decryptors.get(id);
  if (!d) {
    d = engine === 'openssl' ? opensslDecryptor(privateKeyPem) : forgeDecryptor(privateKeyPem);
    if (decryptors.size >= MAX_CACHED) decryptors.delete(decryptors.keys().next().value as string);
    decryptors.set(id, d);
  }
  return d;
}

function oaepDecrypt(key: RsaDecryptor, ciphertext: Uint8Array, hash: 'sha1' | 'sha256'): Buffer {
  try {
    return key.decrypt(ciphertext, hash);
  } catch (e) {
    throw new UnwrapFailure('RSA-OAEP decryption failed', { cause: e });
  }
}

/**
 * Unwraps `encrypted` with the wrapping private key (`privateKeyPem`, PKCS#8 PEM) under `algorithm`,
 * decrypting RSA with `engine` (default `node-forge`).
 * @throws UnwrapFailure when the bytes were not wrapped for this key pair and algorithm
 */
export function unwrapKeyMaterial(algorithm: WrappingAlgorithm, privateKeyPem: string, encrypted: Uint8Array, engine: UnwrapEngine = 'node-forge'): Buffer {
  const key = decryptorFor(engine, privateKeyPem);
  const k = key.k;
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
