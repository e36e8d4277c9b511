/**
 * The emulator's ciphertext format for symmetric Encrypt/Decrypt.
 *
 * ```
 * offset  size  field
 * 0       2     magic "KB"
 * 2       1     version = 1
 * 3       1     n = length of the key id
 * 4       n     key id (ASCII; a UUID or an "mrk-" multi-Region key id)
 * 4+n     32    KeyMaterialId (raw bytes of the 64-hex id)
 * 36+n    12    AES-GCM IV
 * 48+n    …     AES-256-GCM ciphertext
 * end-16  16    AES-GCM tag
 * ```
 *
 * Contract: the key is the material itself (AES-256); the AAD is the header (everything before the IV)
 * followed by the canonical encryption context, so the ciphertext is bound to its key, its material and
 * its context, and Decrypt needs nothing but the ciphertext (and the same context). {@link openCiphertext}
 * throws {@link BadCiphertext} on any structural or authentication failure.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const MAGIC = Buffer.from('KB', 'ascii');
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The ciphertext is not one of ours, or does not authenticate. */
export class BadCiphertext extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadCiphertext';
  }
}

/** Header fields of a ciphertext. */
export interface CiphertextHeader {
  keyId: string;
  keyMaterialId: string;
}

/** Canonical bytes of an encryption context: JSON of its entries sorted by key. */
export function canonicalContext(context: Record<string, string> | undefined): Buffer {
  if (!context || Object.keys(context).length === 0) return Buffer.alloc(0);
  const entries = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function header(h: CiphertextHeader): Buffer {
  const id = Buffer.from(h.keyId, 'ascii');
  if (id.length > 255) throw new Error('key id too long for the ciphertext header');
  return Buffer.concat([MAGIC, Buffer.from([VERSION, id.length]), id, Buffer.from(h.keyMaterialId, 'hex')]);
}

/** Reads the header without authenticating anything (to find the key and material). */
export function readHeader(ct: Uint8Array): CiphertextHeader & { headerLength: number } {
  const b = Buffer.from(ct);
  if (b.length < 4 || !b.subarray(0, 2).equals(MAGIC) || b[2] !== VERSION) throw new BadCiphertext('not a kms-byok emulator ciphertext');
  const n = b[3]!;
  const headerLength = 4 + n + 32;
  if (b.length < headerLength + IV_BYTES + TAG_BYTES) throw new BadCiphertext('ciphertext is truncated');
  return {
    keyId: b.subarray(4, 4 + n).toString('ascii'),
    keyMaterialId: b.subarray(4 + n, headerLength).toString('hex'),
    headerLength,
  };
}

/** Encrypts `plaintext` under `material` (32 bytes), bound to the header and `context`. */
export function sealCiphertext(h: CiphertextHeader, material: Buffer, plaintext: Buffer, context: Record<string, string> | undefined): Buffer {
  const head = header(h);
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', material, iv);
  c.setAAD(Buffer.concat([head, canonicalContext(context)]));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([head, iv, body, c.getAuthTag()]);
}

/** Decrypts and authenticates a ciphertext made by {@link sealCiphertext}. */
export function openCiphertext(ct: Uint8Array, material: Buffer, context: Record<string, string> | undefined): Buffer {
  const b = Buffer.from(ct);
  const { headerLength } = readHeader(b);
  const iv = b.subarray(headerLength, headerLength + IV_BYTES);
  const body = b.subarray(headerLength + IV_BYTES, b.length - TAG_BYTES);
  const tag = b.subarray(b.length - TAG_BYTES);
  try {
    const d = createDecipheriv('aes-256-gcm', material, iv);
    d.setAAD(Buffer.concat([b.subarray(0, headerLength), canonicalContext(context)]));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    throw new BadCiphertext('ciphertext does not authenticate');
  }
}
