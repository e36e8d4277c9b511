/**
 * Generating fresh key material for a key spec, in the form AWS imports. Randomness comes from
 * `node:crypto` (OpenSSL's CSPRNG, seeded by the operating system).
 */

import { generateKeyPairSync, randomFillSync } from 'node:crypto';
import type { KeySpec } from '../core/aws-names.js';
import { SecretBytes } from '../core/secret.js';
import { importableKeySpecInfo } from './key-specs.js';

/**
 * New key material for `spec`:
 * - SYMMETRIC_DEFAULT: 32 random bytes (AES-256, as AWS requires).
 * - HMAC_*: random bytes of the hash's digest length (28, 32, 48 or 64 bytes). AWS accepts up to the block
 *   size, but RFC 2104 section 3 recommends a key of the digest length: shorter is "strongly discouraged",
 *   longer "would not significantly increase the function strength". It is also the minimum AWS accepts, so a
 *   generated key is valid for every tool that follows AWS's ranges.
 * - RSA_*: a new key pair with public exponent 65537; the private key as unencrypted PKCS#8 DER.
 * - ECC_*: a new key pair on the spec's named curve (including secp256k1); the private key as unencrypted
 *   PKCS#8 DER (with the public key inside, as OpenSSL writes it).
 *
 * The exported DER buffer is copied into the SecretBytes and zeroed. The KeyObject itself lives in OpenSSL
 * memory until it is garbage collected; OpenSSL clears private key numbers when it frees them.
 *
 * @throws KmsByokError `ERR_INVALID_ARGUMENT` for a spec that cannot be imported.
 */
export function generateKeyMaterial(spec: KeySpec): SecretBytes {
  const shape = importableKeySpecInfo(spec).material;
  switch (shape.kind) {
    case 'symmetric':
      return SecretBytes.adopt(randomFillSync(new Uint8Array(shape.bytes)));
    case 'hmac':
      return SecretBytes.adopt(randomFillSync(new Uint8Array(shape.generateBytes)));
    case 'rsa': {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: shape.modulusBits, publicExponent: 0x10001 });
      return SecretBytes.take(privateKey.export({ type: 'pkcs8', format: 'der' }));
    }
    case 'ecc': {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: shape.nodeCurve });
      return SecretBytes.take(privateKey.export({ type: 'pkcs8', format: 'der' }));
    }
  }
}
