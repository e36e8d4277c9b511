/**
 * Reading a custodian's existing key material into a {@link SecretBytes} in the exact form AWS imports:
 * raw bytes for symmetric and HMAC keys, an unencrypted PKCS#8 DER PrivateKeyInfo for RSA and ECC keys.
 *
 * The input buffer belongs to the caller and is never modified. Everything decoded from it (hex, base64,
 * PEM bodies) is decoded byte by byte into buffers this module owns, without passing through JS strings
 * (which cannot be erased), and is either adopted by the returned SecretBytes or zeroed.
 *
 * Pure: imports only `core`, this folder and `node:crypto`.
 */

import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { KeySpec } from '../core/aws-names.js';
import { KmsByokError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import { classifyKeyDer } from './der.js';
import { IMPORTABLE_KEY_SPECS, importableKeySpecInfo, keySpecInfo, type MaterialShape } from './key-specs.js';

/**
 * Parses key material for `spec`.
 *
 * - Symmetric and HMAC: raw bytes, hex text or standard base64 text (surrounding whitespace ignored). Input
 *   made only of printable ASCII is read as text: hex when every character is a hex digit, otherwise base64.
 *   Printable text that is neither is refused rather than used as raw bytes (it is most likely a passphrase).
 * - RSA and ECC: an unencrypted PKCS#8 private key, PEM (`-----BEGIN PRIVATE KEY-----`) or DER. The curve or
 *   modulus size must match `spec`. The DER bytes are kept exactly as given.
 *
 * @throws KmsByokError `ERR_MATERIAL` naming what is wrong, with a hint (for PKCS#1, SEC1 and encrypted
 *   PKCS#8 keys, the openssl command that converts them); `ERR_INVALID_ARGUMENT` for a spec that cannot be
 *   imported.
 */
export function parseMaterial(bytes: Uint8Array, spec: KeySpec): SecretBytes {
  const info = importableKeySpecInfo(spec);
  // Precondition: there is something to parse.
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
    throw new KmsByokError('ERR_MATERIAL', 'key material is empty', { hint: materialHint(spec, info.material) });
  }
  const shape = info.material;
  if (shape.kind === 'symmetric' || shape.kind === 'hmac') return parseSecret(bytes, spec, shape);
  return parseAsymmetric(bytes, spec, shape);
}

/**
 * Checks that `material` has the shape `spec` needs (length for symmetric and HMAC keys; PKCS#8, key type and
 * curve or modulus for RSA and ECC keys). Used before wrapping, so a wrong file fails here rather than as an
 * `InvalidCiphertextException` from KMS.
 *
 * @throws KmsByokError `ERR_MATERIAL`
 */
export function assertMaterialMatchesSpec(material: SecretBytes, spec: KeySpec): void {
  const shape = importableKeySpecInfo(spec).material;
  if (shape.kind === 'symmetric' || shape.kind === 'hmac') {
    assertSecretLength(material.length, spec, shape, undefined);
    return;
  }
  material.use((der) => {
    loadPkcs8(der, spec, shape);
  });
}

/**
 * Loads asymmetric `material` (PKCS#8 DER) as a private KeyObject after checking it matches `spec`.
 * Internal to `material` (check values derive the public key from it).
 */
export function privateKeyFromMaterial(material: SecretBytes, spec: KeySpec): KeyObject {
  const shape = importableKeySpecInfo(spec).material;
  if (shape.kind !== 'rsa' && shape.kind !== 'ecc') {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `${spec} key material has no public key`, {
      hint: 'public keys exist only for RSA and ECC key specs',
    });
  }
  return material.use((der) => loadPkcs8(der, spec, shape));
}

// ---------------------------------------------------------------------------------------------
// Symmetric and HMAC material.

type SecretShape = Extract<MaterialShape, { kind: 'symmetric' | 'hmac' }>;
type AsymmetricShape = Extract<MaterialShape, { kind: 'rsa' | 'ecc' }>;

function parseSecret(bytes: Uint8Array, spec: KeySpec, shape: SecretShape): SecretBytes {
  if (!isPrintableText(bytes)) {
    assertSecretLength(bytes.length, spec, shape, undefined);
    return SecretBytes.copyOf(bytes);
  }
  const encoding = isHexText(bytes) ? 'hex' : 'base64';
  const decoded = encoding === 'hex' ? decodeHex(bytes) : decodeBase64(bytes);
  if (decoded === undefined) {
    throw new KmsByokError('ERR_MATERIAL', 'key material looks like text but is neither hex nor base64', {
      hint: `${materialHint(spec, shape)}; text is read as hex (0-9 a-f) or standard base64 (A-Z a-z 0-9 + /)`,
    });
  }
  try {
    assertSecretLength(decoded.length, spec, shape, encoding);
  } catch (e) {
    decoded.fill(0);
    throw e;
  }
  return SecretBytes.adopt(decoded);
}

function assertSecretLength(length: number, spec: KeySpec, shape: SecretShape, from: 'hex' | 'base64' | undefined): void {
  const min = shape.kind === 'symmetric' ? shape.bytes : shape.minBytes;
  const max = shape.kind === 'symmetric' ? shape.bytes : shape.maxBytes;
  if (length >= min && length <= max) return;
  const want = min === max ? `${min} bytes` : `${min} to ${max} bytes`;
  const source = from === undefined ? '' : ` (decoded from ${from})`;
  throw new KmsByokError('ERR_MATERIAL', `${spec} key material must be ${want}, got ${length}${source}`, {
    hint: materialHint(spec, shape),
  });
}

function materialHint(spec: KeySpec, shape: MaterialShape): string {
  switch (shape.kind) {
    case 'symmetric':
      return `give exactly ${shape.bytes} raw bytes, ${shape.bytes * 2} hex digits or the base64 of ${shape.bytes} bytes`;
    case 'hmac':
      return `give ${shape.minBytes} to ${shape.maxBytes} raw bytes for ${spec}, or the same as hex or base64`;
    case 'rsa':
      return `give an unencrypted PKCS#8 private key (PEM "BEGIN PRIVATE KEY" or DER) with a ${shape.modulusBits}-bit modulus`;
    case 'ecc':
      return `give an unencrypted PKCS#8 private key (PEM "BEGIN PRIVATE KEY" or DER) on curve ${shape.curve}`;
  }
}

// ---------------------------------------------------------------------------------------------
// RSA and ECC material.

const TO_PKCS8 = 'convert it: openssl pkcs8 -topk8 -nocrypt -in key.pem -outform DER -out key.der';
const DECRYPT_PKCS8 =
  'decrypt it first: openssl pkcs8 -in key.pem -outform DER -out key.der (it asks for the passphrase; keep key.der off shared disks)';

function parseAsymmetric(bytes: Uint8Array, spec: KeySpec, shape: AsymmetricShape): SecretBytes {
  if (indexOf(bytes, BEGIN) >= 0) {
    const der = derFromPem(bytes, spec, shape);
    try {
      loadPkcs8(der, spec, shape);
    } catch (e) {
      der.fill(0);
      throw e;
    }
    return SecretBytes.adopt(der);
  }
  loadPkcs8(bytes, spec, shape);
  return SecretBytes.copyOf(bytes);
}

/** Validates `der` as the PKCS#8 key `spec` needs and returns it loaded. Never copies `der` in JS. */
function loadPkcs8(der: Uint8Array, spec: KeySpec, shape: AsymmetricShape): KeyObject {
  const container = classifyKeyDer(der);
  switch (container.type) {
    case 'pkcs8':
      break;
    case 'encrypted-pkcs8':
      throw new KmsByokError('ERR_MATERIAL', 'key material is an encrypted PKCS#8 private key', { hint: DECRYPT_PKCS8 });
    case 'pkcs1-rsa':
      throw new KmsByokError('ERR_MATERIAL', 'key material is a PKCS#1 RSA private key, not PKCS#8', { hint: TO_PKCS8 });
    case 'sec1-ec':
      throw new KmsByokError('ERR_MATERIAL', 'key material is a SEC1 EC private key, not PKCS#8', { hint: TO_PKCS8 });
    case 'spki':
      throw new KmsByokError('ERR_MATERIAL', 'key material is a public key, not a private key', {
        hint: 'AWS imports the private key and derives the public key from it',
      });
    case 'unknown':
      throw new KmsByokError('ERR_MATERIAL', 'key material is not a PKCS#8 private key', { hint: materialHint(spec, shape) });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new KmsByokError('ERR_MATERIAL', 'key material is a PKCS#8 structure that cannot be read as a private key', {
      hint: materialHint(spec, shape),
      cause,
    });
  }
  const type = key.asymmetricKeyType;
  if (shape.kind === 'rsa') {
    if (type !== 'rsa') {
      throw new KmsByokError('ERR_MATERIAL', `key material is ${keyTypeName(type)} key, but ${spec} needs an RSA (rsaEncryption) key`, {
        hint: materialHint(spec, shape),
      });
    }
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (bits !== shape.modulusBits) {
      const other = IMPORTABLE_KEY_SPECS.find((s) => {
        const m = keySpecInfo(s);
        return m.importable && m.material.kind === 'rsa' && m.material.modulusBits === bits;
      });
      throw new KmsByokError('ERR_MATERIAL', `key material is a ${bits ?? '?'}-bit RSA key, but ${spec} needs ${shape.modulusBits} bits`, {
        hint:
          other === undefined
            ? 'AWS imports RSA keys of 2048, 3072 or 4096 bits'
            : `create the KMS key with key spec ${other}, or give a ${shape.modulusBits}-bit key`,
      });
    }
    return key;
  }
  if (type !== 'ec') {
    throw new KmsByokError('ERR_MATERIAL', `key material is ${keyTypeName(type)} key, but ${spec} needs an EC key`, {
      hint: materialHint(spec, shape),
    });
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  // OpenSSL maps explicit parameters back to a curve name, so look at the DER itself: AWS needs the named curve.
  if (curve === undefined || container.parameters !== 'oid') {
    throw new KmsByokError('ERR_MATERIAL', 'key material uses explicit EC parameters, not a named curve', {
      hint: 're-encode it with the named curve: openssl pkey -in key.pem -ec_param_enc named_curve -outform DER -out key.der',
    });
  }
  if (curve !== shape.nodeCurve || container.parametersOid !== shape.curveOid) {
    const other = IMPORTABLE_KEY_SPECS.find((s) => {
      const m = keySpecInfo(s);
      return m.importable && m.material.kind === 'ecc' && m.material.nodeCurve === curve;
    });
    throw new KmsByokError('ERR_MATERIAL', `key material is on curve ${curve}, but ${spec} needs ${shape.curve} (${shape.nodeCurve})`, {
      hint: other === undefined ? 'AWS imports EC keys on P-256, P-384, P-521 and secp256k1' : `create the KMS key with key spec ${other}, or give a ${shape.curve} key`,
    });
  }
  return key;
}

const KEY_TYPE_NAMES: Record<string, string> = {
  rsa: 'RSA',
  'rsa-pss': 'RSA-PSS (id-RSASSA-PSS)',
  ec: 'EC',
  ed25519: 'Ed25519',
  ed448: 'Ed448',
  x25519: 'X25519',
  x448: 'X448',
  dsa: 'DSA',
  dh: 'DH',
};

/** "an RSA", "an Ed25519", "a DSA": the key type with its article, as read aloud. */
function keyTypeName(type: string | undefined): string {
  const name = (type === undefined ? undefined : KEY_TYPE_NAMES[type]) ?? type ?? 'unknown';
  return `${/^[AEFHILMNORSXaeiou]/.test(name) ? 'an' : 'a'} ${name}`;
}

// ---------------------------------------------------------------------------------------------
// PEM, read at byte level so the key never becomes a JS string.

const BEGIN = ascii('-----BEGIN ');
const END = ascii('-----END ');
const DASHES = ascii('-----');

function derFromPem(bytes: Uint8Array, spec: KeySpec, shape: AsymmetricShape): Uint8Array {
  const blocks = pemBlocks(bytes);
  const labels = blocks.map((b) => b.label);
  const privateKeys = blocks.filter((b) => b.label === 'PRIVATE KEY');
  if (labels.includes('ENCRYPTED PRIVATE KEY')) {
    throw new KmsByokError('ERR_MATERIAL', 'key material is an encrypted PKCS#8 private key', { hint: DECRYPT_PKCS8 });
  }
  for (const [label, name] of [
    ['RSA PRIVATE KEY', 'a PKCS#1 RSA private key'],
    ['EC PRIVATE KEY', 'a SEC1 EC private key'],
  ] as const) {
    const block = blocks.find((b) => b.label === label);
    if (block === undefined) continue;
    if (indexOf(bytes.subarray(block.bodyStart, block.bodyEnd), ascii('Proc-Type:')) >= 0) {
      throw new KmsByokError('ERR_MATERIAL', `key material is ${name}, encrypted, not PKCS#8`, {
        hint: `decrypt and ${TO_PKCS8} (it asks for the passphrase)`,
      });
    }
    throw new KmsByokError('ERR_MATERIAL', `key material is ${name}, not PKCS#8`, { hint: TO_PKCS8 });
  }
  if (privateKeys.length === 0) {
    const found = labels.length === 0 ? 'no complete PEM block' : labels.join(', ');
    throw new KmsByokError('ERR_MATERIAL', `PEM input holds no private key (found ${found})`, { hint: materialHint(spec, shape) });
  }
  if (privateKeys.length > 1) {
    throw new KmsByokError('ERR_MATERIAL', `PEM input holds ${privateKeys.length} private keys`, {
      hint: 'give one private key per file',
    });
  }
  const block = privateKeys[0]!;
  const der = decodeBase64(bytes.subarray(block.bodyStart, block.bodyEnd));
  if (der === undefined) {
    throw new KmsByokError('ERR_MATERIAL', 'PEM private key body is not valid base64', { hint: materialHint(spec, shape) });
  }
  return der;
}

interface PemBlock {
  readonly label: string;
  readonly bodyStart: number;
  readonly bodyEnd: number;
}

function pemBlocks(bytes: Uint8Array): PemBlock[] {
  const blocks: PemBlock[] = [];
  let from = 0;
  for (;;) {
    const begin = indexOf(bytes, BEGIN, from);
    if (begin < 0) return blocks;
    const labelStart = begin + BEGIN.length;
    const labelEnd = indexOf(bytes, DASHES, labelStart);
    if (labelEnd < 0 || labelEnd - labelStart > 64) return blocks;
    const label = latin1(bytes.subarray(labelStart, labelEnd));
    const endMarker = ascii(`-----END ${label}-----`);
    const bodyStart = labelEnd + DASHES.length;
    const bodyEnd = indexOf(bytes, endMarker, bodyStart);
    if (bodyEnd < 0) {
      // A BEGIN without its END: report the label anyway, so the message says what was found.
      if (indexOf(bytes, END, bodyStart) < 0) return blocks;
      from = bodyStart;
      continue;
    }
    blocks.push({ label, bodyStart, bodyEnd });
    from = bodyEnd + endMarker.length;
  }
}

// ---------------------------------------------------------------------------------------------
// Byte-level text decoding.

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Every byte is printable ASCII or whitespace. */
function isPrintableText(bytes: Uint8Array): boolean {
  for (const b of bytes) if (!(isWhitespace(b) || (b >= 0x21 && b <= 0x7e))) return false;
  return true;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

/** Every non-whitespace byte is a hex digit, and there is an even number of them (at least two). */
function isHexText(bytes: Uint8Array): boolean {
  let digits = 0;
  for (const b of bytes) {
    if (isWhitespace(b)) continue;
    if (hexValue(b) < 0) return false;
    digits++;
  }
  return digits > 0 && digits % 2 === 0;
}

function decodeHex(bytes: Uint8Array): Uint8Array | undefined {
  if (!isHexText(bytes)) return undefined;
  let digits = 0;
  for (const b of bytes) if (!isWhitespace(b)) digits++;
  const out = new Uint8Array(digits / 2);
  let i = 0;
  let high = -1;
  for (const b of bytes) {
    if (isWhitespace(b)) continue;
    const v = hexValue(b);
    if (high < 0) high = v;
    else {
      out[i++] = high * 16 + v;
      high = -1;
    }
  }
  return out;
}

function base64Value(b: number): number {
  if (b >= 0x41 && b <= 0x5a) return b - 0x41;
  if (b >= 0x61 && b <= 0x7a) return b - 0x61 + 26;
  if (b >= 0x30 && b <= 0x39) return b - 0x30 + 52;
  if (b === 0x2b) return 62;
  if (b === 0x2f) return 63;
  return -1;
}

/** Strict standard base64 (RFC 4648 section 4); whitespace anywhere is ignored, padding optional but only at the end. */
function decodeBase64(bytes: Uint8Array): Uint8Array | undefined {
  let chars = 0;
  let padding = 0;
  for (const b of bytes) {
    if (isWhitespace(b)) continue;
    if (b === 0x3d) {
      padding++;
      continue;
    }
    if (padding > 0 || base64Value(b) < 0) return undefined;
    chars++;
  }
  if (chars === 0 || padding > 2 || chars % 4 === 1) return undefined;
  if (padding > 0 && (chars + padding) % 4 !== 0) return undefined;
  const out = new Uint8Array(Math.floor((chars * 6) / 8));
  let acc = 0;
  let bits = 0;
  let i = 0;
  for (const b of bytes) {
    const v = base64Value(b);
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[i++] = (acc >> bits) & 0xff;
    }
  }
  // Non-canonical trailing bits (e.g. "QR==" for one byte) mean the text is not what it claims to be.
  if ((acc & ((1 << bits) - 1)) !== 0) {
    out.fill(0);
    return undefined;
  }
  return out;
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
