/**
 * The syntax check of an age recipient string, without loading age-encryption: Bech32 (BIP 173,
 * checksum constant 1) exactly as age-encryption decodes it — lowercase only (age recipients start
 * with lowercase `age1`, and Bech32 refuses mixed case), at most 90 characters for X25519, canonical
 * 5→8-bit padding, and the payload length of the kind (32 bytes X25519; 1216 bytes ML-KEM-768+X25519).
 * `parseRecipient` (seal.ts) is synchronous and runs while flags are parsed, and `status` must not
 * load age (docs/architecture.md, "The build"); test/escrow/recipient-syntax.test.ts holds this
 * check to age-encryption's own answer on valid and damaged recipients. Pure.
 */
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymodStep(chk: number): number {
  const b = chk >> 25;
  let next = (chk & 0x1ffffff) << 5;
  for (let i = 0; i < 5; i++) if (((b >> i) & 1) === 1) next ^= GENERATORS[i]!;
  return next;
}

/** The payload bytes of a Bech32 string with human-readable part `hrp`, or undefined when it is not one. */
function bech32Payload(s: string, hrp: string, limit: number | undefined): Uint8Array | undefined {
  if (s.length < 8 || (limit !== undefined && s.length > limit)) return undefined;
  const sep = s.lastIndexOf('1');
  if (sep !== hrp.length || s.slice(0, sep) !== hrp) return undefined;
  const data = s.slice(sep + 1);
  if (data.length < 6) return undefined;
  const words: number[] = [];
  for (const c of data) {
    const w = CHARSET.indexOf(c);
    if (w < 0) return undefined;
    words.push(w);
  }
  let chk = 1;
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk) ^ (hrp.charCodeAt(i) >> 5);
  chk = polymodStep(chk);
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk) ^ (hrp.charCodeAt(i) & 0x1f);
  for (const w of words) chk = polymodStep(chk) ^ w;
  if (chk !== 1) return undefined;
  const payload = words.slice(0, -6);
  const out = new Uint8Array(Math.floor((payload.length * 5) / 8));
  let carry = 0;
  let bits = 0;
  let j = 0;
  for (const w of payload) {
    carry = ((carry << 5) | w) & 0xffff;
    bits += 5;
    for (; bits >= 8; bits -= 8) out[j++] = (carry >> (bits - 8)) & 0xff;
  }
  if (bits >= 5 || ((carry << (8 - bits)) & 0xff) !== 0) return undefined;
  return out;
}

/** Whether `s` is an X25519 (`age1…`) or ML-KEM-768+X25519 (`age1pq1…`) recipient age-encryption accepts. */
export function isValidRecipientSyntax(s: string): boolean {
  if (s.startsWith('age1pq1')) return bech32Payload(s, 'age1pq', undefined)?.length === 1216;
  if (s.startsWith('age1')) return bech32Payload(s, 'age', 90)?.length === 32;
  return false;
}

/**
 * The 32-byte scalar of an X25519 age identity (`AGE-SECRET-KEY-1…`, upper case as age-keygen writes
 * it), or undefined when `s` is not one (the caller then leaves the string to age-encryption, which
 * says why). The caller owns the bytes and zeroes them.
 */
export function x25519IdentityScalar(s: string): Uint8Array | undefined {
  if (!s.startsWith('AGE-SECRET-KEY-1') || s !== s.toUpperCase()) return undefined;
  const bytes = bech32Payload(s.toLowerCase(), 'age-secret-key-', undefined);
  if (bytes?.length === 32) return bytes;
  bytes?.fill(0);
  return undefined;
}
