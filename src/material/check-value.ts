/**
 * Key check values: short, public fingerprints of key material that custodians compare aloud or on paper
 * to confirm two parties hold the same key. Always written with their method, `<method>:<UPPERCASE HEX>`,
 * because the conventions differ and two methods never agree:
 *
 * | method        | value                                                            | for                 |
 * | ------------- | ---------------------------------------------------------------- | ------------------- |
 * | `cmac-aes`    | leftmost 3 bytes of AES-CMAC(key, 16 zero bytes) (NIST SP 800-38B; the CMAC KCV of ANSI X9.24-1 and AWS Payment Cryptography) | SYMMETRIC_DEFAULT (default) |
 * | `ecb-aes`     | leftmost 3 bytes of AES-ECB(key, one zero block) (the older convention, e.g. PKCS#11 CKA_CHECK_VALUE) | SYMMETRIC_DEFAULT |
 * | `hmac-sha224` … `hmac-sha512` | leftmost 3 bytes of HMAC-SHA-n(key, 16 zero bytes), n from the key spec | HMAC_* |
 * | `spki-sha256` | SHA-256 of the DER SubjectPublicKeyInfo derived from the private key (all 32 bytes) | RSA_*, ECC_* |
 *
 * The HMAC form is chosen so a custodian can reproduce it inside KMS after import:
 * `aws kms generate-mac --mac-algorithm HMAC_SHA_256 --message fileb://zero16.bin` and compare the first
 * 3 bytes. The SPKI form matches `aws kms get-public-key` (whose `PublicKey` is that DER), hashed with
 * `openssl dgst -sha256`.
 *
 * Readable form (docs/escrow-format.md, "Check values"): a 32-byte `spki-sha256` value is shown to
 * custodians as `spki-sha256-3:` + its first 3 bytes (6 hex digits, the same length as the other
 * kinds), with the full value on request (`--full-check-value`, and always in JSON, the escrow and the
 * transcript). The short form is for reading aloud; the full one is what is stored and compared.
 *
 * Pure: imports only `core`, this folder and `node:crypto`.
 */

import { createCipheriv, createHash, createHmac, createPublicKey } from 'node:crypto';
import type { KeySpec } from '../core/aws-names.js';
import { toHex } from '../core/bytes.js';
import { KmsByokError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import { importableKeySpecInfo, type HashName } from './key-specs.js';
import { assertMaterialMatchesSpec, privateKeyFromMaterial } from './parse.js';

export const CHECK_VALUE_METHODS = [
  'cmac-aes',
  'ecb-aes',
  'hmac-sha224',
  'hmac-sha256',
  'hmac-sha384',
  'hmac-sha512',
  'spki-sha256',
] as const;
export type CheckValueMethod = (typeof CHECK_VALUE_METHODS)[number];

/** A parsed check value. `text` is the canonical form `<method>:<UPPERCASE HEX>`. */
export interface CheckValue {
  readonly method: CheckValueMethod;
  /** Uppercase hex. */
  readonly value: string;
  readonly text: string;
}

/** Bytes of the value each method yields. */
const VALUE_BYTES: Record<CheckValueMethod, number> = {
  'cmac-aes': 3,
  'ecb-aes': 3,
  'hmac-sha224': 3,
  'hmac-sha256': 3,
  'hmac-sha384': 3,
  'hmac-sha512': 3,
  'spki-sha256': 32,
};

/** The methods that apply to `spec`, the default first. */
export function checkValueMethods(spec: KeySpec): readonly CheckValueMethod[] {
  const shape = importableKeySpecInfo(spec).material;
  switch (shape.kind) {
    case 'symmetric':
      return ['cmac-aes', 'ecb-aes'];
    case 'hmac':
      return [`hmac-${shape.hash}` as CheckValueMethod];
    case 'rsa':
    case 'ecc':
      return ['spki-sha256'];
  }
}

/** `cmac-aes` for SYMMETRIC_DEFAULT, `hmac-<hash>` for HMAC keys, `spki-sha256` for RSA and ECC keys. */
export function defaultCheckValueMethod(spec: KeySpec): CheckValueMethod {
  return checkValueMethods(spec)[0]!;
}

/**
 * The check value of `material` (for `spec`) by `method`, formatted `<method>:<UPPERCASE HEX>`. Does not
 * dispose `material`.
 *
 * @throws KmsByokError `ERR_INVALID_ARGUMENT` when `method` does not apply to `spec`; `ERR_MATERIAL` when
 *   `material` does not fit `spec`.
 */
export function checkValue(material: SecretBytes, spec: KeySpec, method: CheckValueMethod | (string & {}) = defaultCheckValueMethod(spec)): string {
  const methods = checkValueMethods(spec);
  // Precondition: a method that applies to this spec (the type admits any string, so an escrow manifest's
  // label can be passed straight through; it is checked here).
  if (!isMethodOf(methods, method)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `check value method ${JSON.stringify(method)} does not apply to ${spec}`, {
      hint: `valid for ${spec}: ${methods.join(', ')}`,
    });
  }
  assertMaterialMatchesSpec(material, spec);
  let value: Uint8Array;
  switch (method) {
    case 'cmac-aes':
      value = material.use((key) => cmacKcv(key));
      break;
    case 'ecb-aes':
      value = material.use((key) => ecbKcv(key));
      break;
    case 'hmac-sha224':
    case 'hmac-sha256':
    case 'hmac-sha384':
    case 'hmac-sha512':
      value = material.use((key) => hmacKcv(method.slice('hmac-'.length) as HashName, key));
      break;
    case 'spki-sha256':
      value = createHash('sha256').update(publicKeyFromMaterial(material, spec)).digest();
      break;
  }
  return format(method, value);
}

/**
 * Checks `material` against an expected check value, computed with the expected value's own method.
 *
 * @throws KmsByokError `ERR_CHECK_VALUE_MISMATCH`; or what {@link parseCheckValue} and {@link checkValue} throw.
 */
export function verifyCheckValue(material: SecretBytes, spec: KeySpec, expected: string): void {
  const want = parseCheckValue(expected);
  const got = checkValue(material, spec, want.method);
  if (got !== want.text) {
    throw new KmsByokError('ERR_CHECK_VALUE_MISMATCH', `key material check value is ${got}, expected ${want.text}`, {
      hint: 'this is not the key material that was recorded; do not import it',
    });
  }
}

/**
 * The DER SubjectPublicKeyInfo of an RSA or ECC private key (the same bytes `aws kms get-public-key`
 * returns after import).
 *
 * @throws KmsByokError `ERR_INVALID_ARGUMENT` for symmetric and HMAC specs; `ERR_MATERIAL` when `material`
 *   does not fit `spec`.
 */
export function publicKeyFromMaterial(material: SecretBytes, spec: KeySpec): Uint8Array {
  const privateKey = privateKeyFromMaterial(material, spec);
  return new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
}

/**
 * Parses `<method>:<hex>` (hex in either case) into its canonical form.
 *
 * @throws KmsByokError `ERR_INVALID_ARGUMENT` naming the valid methods or the expected length.
 */
export function parseCheckValue(text: string): CheckValue {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const method = (colon < 0 ? '' : trimmed.slice(0, colon).toLowerCase()) as CheckValueMethod;
  if (!CHECK_VALUE_METHODS.includes(method)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `check value ${JSON.stringify(shorten(trimmed))} has no known method`, {
      hint: `write it as <method>:<hex>, method one of ${CHECK_VALUE_METHODS.join(', ')}`,
    });
  }
  const hex = trimmed.slice(colon + 1);
  const digits = VALUE_BYTES[method] * 2;
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== digits) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `${method} check value must be ${digits} hex digits, got ${JSON.stringify(shorten(hex))}`, {
      hint: `for example ${method}:${'0'.repeat(digits)}`,
    });
  }
  const value = hex.toUpperCase();
  return { method, value, text: `${method}:${value}` };
}

function isMethodOf(methods: readonly CheckValueMethod[], method: string): method is CheckValueMethod {
  return (methods as readonly string[]).includes(method);
}

// ---------------------------------------------------------------------------------------------
// Primitives.

const ZERO_BLOCK = new Uint8Array(16);

function format(method: CheckValueMethod, value: Uint8Array): string {
  return `${method}:${toHex(value.subarray(0, VALUE_BYTES[method])).toUpperCase()}`;
}

function aesEcbName(key: Uint8Array): 'aes-128-ecb' | 'aes-192-ecb' | 'aes-256-ecb' {
  switch (key.length) {
    case 16:
      return 'aes-128-ecb';
    case 24:
      return 'aes-192-ecb';
    case 32:
      return 'aes-256-ecb';
    default:
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `an AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  }
}

/** A block encryptor for `key`: each call encrypts one 16-byte block (ECB, no padding) into `out`. */
function aesBlockEncryptor(key: Uint8Array): { encrypt(block: Uint8Array, out: Uint8Array): void; close(): void } {
  const cipher = createCipheriv(aesEcbName(key), key, null).setAutoPadding(false);
  return {
    encrypt(block, out) {
      const c = cipher.update(block);
      out.set(c);
      c.fill(0);
    },
    close() {
      cipher.final();
    },
  };
}

/** Doubling in GF(2^128) as SP 800-38B section 6.1 defines it: left shift by one bit, XOR 0x87 if the top bit was set. */
function dbl(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 15; i++) out[i] = ((block[i]! << 1) | (block[i + 1]! >>> 7)) & 0xff;
  out[15] = (block[15]! << 1) & 0xff;
  if (block[0]! & 0x80) out[15] ^= 0x87;
  return out;
}

/**
 * AES-CMAC (NIST SP 800-38B; RFC 4493 for AES-128) of `message` under a 16-, 24- or 32-byte `key`. Returns
 * the full 16-byte tag. Built on AES-ECB because `node:crypto` has no CMAC; every intermediate value is
 * zeroed before returning.
 */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  const aes = aesBlockEncryptor(key);
  const l = new Uint8Array(16);
  aes.encrypt(ZERO_BLOCK, l);
  const k1 = dbl(l);
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(message.length / 16));
  const lastComplete = message.length > 0 && message.length % 16 === 0;
  const x = new Uint8Array(16);
  const y = new Uint8Array(16);
  try {
    for (let i = 0; i < n - 1; i++) {
      for (let j = 0; j < 16; j++) y[j] = x[j]! ^ message[i * 16 + j]!;
      aes.encrypt(y, x);
    }
    // The last block: complete → XOR K1; otherwise pad with 10* and XOR K2.
    const tail = message.subarray((n - 1) * 16);
    const subkey = lastComplete ? k1 : k2;
    for (let j = 0; j < 16; j++) {
      const m = j < tail.length ? tail[j]! : j === tail.length ? 0x80 : 0;
      y[j] = x[j]! ^ m ^ subkey[j]!;
    }
    const tag = new Uint8Array(16);
    aes.encrypt(y, tag);
    return tag;
  } finally {
    aes.close();
    l.fill(0);
    k1.fill(0);
    k2.fill(0);
    x.fill(0);
    y.fill(0);
  }
}

/** Leftmost 3 bytes of AES-CMAC(key, 16 zero bytes). Any AES key size. */
export function cmacKcv(key: Uint8Array): Uint8Array {
  const tag = aesCmac(key, ZERO_BLOCK);
  const kcv = tag.slice(0, 3);
  tag.fill(0);
  return kcv;
}

/** Leftmost 3 bytes of AES-ECB(key, one zero block). Any AES key size. */
export function ecbKcv(key: Uint8Array): Uint8Array {
  const aes = aesBlockEncryptor(key);
  const block = new Uint8Array(16);
  try {
    aes.encrypt(ZERO_BLOCK, block);
    return block.slice(0, 3);
  } finally {
    aes.close();
    block.fill(0);
  }
}

function hmacKcv(hash: HashName, key: Uint8Array): Uint8Array {
  const mac = createHmac(hash, key).update(ZERO_BLOCK).digest();
  const kcv = Uint8Array.from(mac.subarray(0, 3));
  mac.fill(0);
  return kcv;
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Label of the readable short form of an `spki-sha256` check value (its first 3 bytes). */
export const SHORT_SPKI_LABEL = 'spki-sha256-3';

/**
 * The form custodians read aloud: `spki-sha256:<64 hex>` becomes `spki-sha256-3:<first 6 hex>`; every
 * other (already 3-byte) check value is returned as it is.
 */
export function readableCheckValue(checkValue: string): string {
  const m = /^spki-sha256:([0-9A-Fa-f]{64})$/.exec(checkValue);
  return m === null ? checkValue : `${SHORT_SPKI_LABEL}:${m[1]!.slice(0, 6).toUpperCase()}`;
}
