/**
 * Validating the wrapping public key that `GetParametersForImport` returns, before any key material is
 * encrypted under it. A response that is not exactly what was asked for is treated as a bad response, not
 * as something to work around.
 */

import { createPublicKey, type KeyObject } from 'node:crypto';
import { WRAPPING_KEY_SPECS, type WrappingKeySpec } from '../core/aws-names.js';
import { bytesEqual } from '../core/bytes.js';
import { KmsByokError } from '../core/errors.js';

/** A checked RSA wrapping key. */
export interface WrappingPublicKey {
  readonly key: KeyObject;
  readonly wrappingKeySpec: WrappingKeySpec;
  readonly modulusBits: 2048 | 3072 | 4096;
  readonly publicExponent: bigint;
}

const MODULUS_BITS: Record<WrappingKeySpec, 2048 | 3072 | 4096> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

/**
 * Largest public exponent accepted. AWS's wrapping keys use 65537; Go's crypto/rsa also refuses exponents
 * of 2^31 and more. An odd exponent of at least 3 below that bound is "sane".
 */
const MAX_PUBLIC_EXPONENT = 2n ** 31n - 1n;

const HINT =
  'request new import parameters; if this happens again, check that the endpoint is AWS KMS (or the kms-byok emulator) and not a proxy that rewrites responses';

/**
 * Parses and checks the `PublicKey` of a `GetParametersForImport` response: it must be a DER
 * SubjectPublicKeyInfo (canonical, nothing before or after), for an rsaEncryption key whose modulus is exactly
 * the bits of `expected`, with an odd public exponent between 3 and 2^31 - 1.
 *
 * @throws KmsByokError `ERR_KMS_BAD_RESPONSE` when it is not; `ERR_INVALID_ARGUMENT` when `expected` is not a
 *   wrapping key spec kms-byok knows.
 */
export function parseWrappingPublicKey(der: Uint8Array, expected: WrappingKeySpec): WrappingPublicKey {
  // A key already checked is not parsed again (a fleet run wraps hundreds of materials under the few
  // keys KMS hands out; each parse + canonical re-export cost ~1 ms: docs/fleet.md, "CPU per key").
  // Keyed by the bytes themselves, so a changed buffer is a new key, checked afresh.
  const id = der instanceof Uint8Array && der.length > 0 ? `${expected}:${Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64')}` : undefined;
  const known = id === undefined ? undefined : checked.get(id);
  if (known) return known;
  const parsed = parseUncached(der, expected);
  if (checked.size >= CHECKED_KEYS) checked.delete(checked.keys().next().value!);
  checked.set(id!, parsed);
  return parsed;
}

/** Wrapping keys already checked, by spec and DER (oldest first; at most {@link CHECKED_KEYS}). */
const checked = new Map<string, WrappingPublicKey>();
const CHECKED_KEYS = 64;

function parseUncached(der: Uint8Array, expected: WrappingKeySpec): WrappingPublicKey {
  // Precondition: the expected spec is one we can check against.
  if (!(WRAPPING_KEY_SPECS as readonly string[]).includes(expected)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `unknown wrapping key spec ${JSON.stringify(String(expected))}`, {
      hint: `valid wrapping key specs: ${WRAPPING_KEY_SPECS.join(', ')}`,
    });
  }
  // Precondition: KMS returned some bytes.
  if (!(der instanceof Uint8Array) || der.length === 0) {
    throw new KmsByokError('ERR_KMS_BAD_RESPONSE', 'GetParametersForImport returned no wrapping public key', { hint: HINT });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new KmsByokError('ERR_KMS_BAD_RESPONSE', 'wrapping public key from GetParametersForImport is not a DER SubjectPublicKeyInfo', {
      hint: HINT,
      cause,
    });
  }
  // Precondition: the bytes are exactly one canonical SPKI (OpenSSL would ignore trailing bytes).
  const canonical = key.export({ type: 'spki', format: 'der' });
  if (!bytesEqual(canonical, der)) {
    throw new KmsByokError('ERR_KMS_BAD_RESPONSE', 'wrapping public key from GetParametersForImport is not canonical DER', { hint: HINT });
  }
  // Precondition: an rsaEncryption key (not RSA-PSS, not EC).
  if (key.asymmetricKeyType !== 'rsa') {
    throw new KmsByokError(
      'ERR_KMS_BAD_RESPONSE',
      `wrapping public key from GetParametersForImport is not an RSA key (got ${key.asymmetricKeyType ?? 'unknown'})`,
      { hint: HINT },
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  const want = MODULUS_BITS[expected];
  // Precondition: the modulus is exactly the size that was requested.
  if (bits !== want) {
    throw new KmsByokError(
      'ERR_KMS_BAD_RESPONSE',
      `wrapping public key from GetParametersForImport has a ${bits ?? '?'}-bit modulus, but ${expected} was requested`,
      { hint: HINT },
    );
  }
  const e = key.asymmetricKeyDetails?.publicExponent;
  // Precondition: a sane public exponent.
  if (e === undefined || e < 3n || e > MAX_PUBLIC_EXPONENT || e % 2n === 0n) {
    throw new KmsByokError(
      'ERR_KMS_BAD_RESPONSE',
      `wrapping public key from GetParametersForImport has an unusable public exponent ${e?.toString() ?? '?'}`,
      { hint: HINT },
    );
  }
  return { key, wrappingKeySpec: expected, modulusBits: want, publicExponent: e };
}
