/**
 * RFC 5649 "AES Key Wrap with Padding" — the unwrap direction only, written for the emulator over raw
 * AES-ECB block decryption (`aes-{128,192,256}-ecb` of node:crypto, one block at a time).
 *
 * It deliberately does NOT use OpenSSL's `id-aes*-wrap-pad` ciphers, which the product's wrapping code
 * uses: the emulator is an independent oracle, so a wrapping bug cannot pass by agreeing with itself.
 *
 * Contract: {@link aesKeyUnwrapWithPadding} returns the plaintext key data, or throws
 * {@link KeyUnwrapError} when the input length is wrong, the integrity check (alternative IV
 * `A65959A6` ‖ 32-bit length) fails, the length indicator is out of range, or the padding is not zero.
 */
import { createDecipheriv } from 'node:crypto';

/** The unwrapped data failed an RFC 5649 check. */
export class KeyUnwrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyUnwrapError';
  }
}

/** RFC 5649 section 3: the 32-bit alternative initial value. */
const AIV = 0xa65959a6;

function ecbDecryptor(kek: Uint8Array): (block: Buffer) => Buffer {
  const bits = kek.length * 8;
  if (bits !== 128 && bits !== 192 && bits !== 256) throw new KeyUnwrapError(`KEK must be 16, 24 or 32 bytes, not ${kek.length}`);
  const d = createDecipheriv(`aes-${bits}-ecb`, kek, null);
  d.setAutoPadding(false);
  // ECB is stateless per block, so one decipher serves every block: each 16-byte update yields 16 bytes.
  return (block) => {
    const out = d.update(block);
    if (out.length !== 16) throw new KeyUnwrapError('AES-ECB block decryption returned a short block');
    return out;
  };
}

/**
 * Unwraps `wrapped` under `kek` (AES-128/192/256 by KEK length) per RFC 5649 section 4.2.
 * @returns the key data P, of the length the integrity check value states
 */
export function aesKeyUnwrapWithPadding(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  if (wrapped.length < 16 || wrapped.length % 8 !== 0) {
    throw new KeyUnwrapError(`wrapped data must be a multiple of 8 bytes and at least 16, not ${wrapped.length}`);
  }
  const decrypt = ecbDecryptor(kek);
  const c = Buffer.from(wrapped);
  const n = c.length / 8 - 1; // number of 64-bit plaintext blocks (padded)
  let a: Buffer;
  const r: Buffer[] = [];
  if (n === 1) {
    // Section 4.2, n = 1: A | P[1] = AES-1(K, C[0] | C[1]).
    const b = decrypt(c);
    a = b.subarray(0, 8);
    r.push(Buffer.from(b.subarray(8, 16)));
  } else {
    // RFC 3394 section 2.2.2 (index-based), with the checked A left to the caller.
    a = Buffer.from(c.subarray(0, 8));
    for (let i = 1; i <= n; i++) r.push(Buffer.from(c.subarray(i * 8, i * 8 + 8)));
    const block = Buffer.alloc(16);
    for (let j = 5; j >= 0; j--) {
      for (let i = n; i >= 1; i--) {
        const t = BigInt(n * j + i);
        const at = a.readBigUInt64BE(0) ^ t;
        block.writeBigUInt64BE(at, 0);
        const ri = r[i - 1]!;
        ri.copy(block, 8);
        const b = decrypt(block);
        a = Buffer.from(b.subarray(0, 8));
        r[i - 1] = Buffer.from(b.subarray(8, 16));
      }
    }
  }
  // Section 3: check MSB32(A) = A65959A6, 8*(n-1) < MLI <= 8*n, and zero padding.
  if (a.readUInt32BE(0) !== AIV) throw new KeyUnwrapError('integrity check failed: alternative IV mismatch');
  const mli = a.readUInt32BE(4);
  if (mli <= 8 * (n - 1) || mli > 8 * n) throw new KeyUnwrapError('integrity check failed: message length indicator out of range');
  const p = Buffer.concat(r);
  for (let i = mli; i < p.length; i++) {
    if (p[i] !== 0) throw new KeyUnwrapError('integrity check failed: non-zero padding');
  }
  return p.subarray(0, mli);
}
