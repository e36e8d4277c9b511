/**
 * Just enough DER reading to tell private-key containers apart before handing them to `node:crypto`, so a
 * custodian who passes a PKCS#1, SEC1 or encrypted PKCS#8 key gets told exactly that (and how to convert
 * it) instead of "unsupported key". Reads structure only; never copies key bytes. Internal to `material`.
 */

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;

export interface Tlv {
  readonly tag: number;
  /** Offset of the first value byte. */
  readonly start: number;
  /** Offset just past the value. */
  readonly end: number;
}

/** Reads one DER TLV at `offset`, or `undefined` when the bytes there are not a well-formed definite-length TLV within `limit`. */
export function readTlv(bytes: Uint8Array, offset: number, limit = bytes.length): Tlv | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tags never occur in the structures we read
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return undefined; // indefinite length is not DER
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[start + i]!;
    start += n;
  }
  const end = start + length;
  if (end > limit) return undefined;
  return { tag, start, end };
}

/** The TLVs directly inside a constructed value, or `undefined` if they do not tile it exactly. */
export function children(bytes: Uint8Array, parent: Tlv): Tlv[] | undefined {
  const out: Tlv[] = [];
  let offset = parent.start;
  while (offset < parent.end) {
    const t = readTlv(bytes, offset, parent.end);
    if (t === undefined) return undefined;
    out.push(t);
    offset = t.end;
  }
  return out;
}

/** Decodes a DER OBJECT IDENTIFIER value to dotted form. */
export function oidToString(bytes: Uint8Array, t: Tlv): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = t.start; i < t.end; i++) {
    const b = bytes[i]!;
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join('.');
}

/** What a DER blob that should hold a private key actually is. */
export type KeyContainer =
  | {
      readonly type: 'pkcs8';
      readonly algorithmOid: string | undefined;
      /** The AlgorithmIdentifier parameters: a named-curve OID, explicit parameters (a SEQUENCE), NULL, or none. */
      readonly parameters: 'oid' | 'sequence' | 'null' | 'none' | 'other';
      readonly parametersOid: string | undefined;
    }
  | { readonly type: 'encrypted-pkcs8' }
  | { readonly type: 'pkcs1-rsa' }
  | { readonly type: 'sec1-ec' }
  | { readonly type: 'spki' }
  | { readonly type: 'unknown' };

function smallInteger(bytes: Uint8Array, t: Tlv | undefined): number | undefined {
  if (t === undefined || t.tag !== TAG_INTEGER || t.end - t.start !== 1) return undefined;
  return bytes[t.start];
}

/**
 * Classifies a DER blob by its outer structure. The outer SEQUENCE must cover every byte.
 * - PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208, RFC 5958): SEQUENCE { INTEGER 0|1, SEQUENCE algId, OCTET STRING, … }
 * - EncryptedPrivateKeyInfo (RFC 5208 §6): SEQUENCE { SEQUENCE algId, OCTET STRING }
 * - SubjectPublicKeyInfo (RFC 5280): SEQUENCE { SEQUENCE algId, BIT STRING }
 * - RSAPrivateKey (PKCS#1, RFC 8017 A.1.2): SEQUENCE { INTEGER 0|1, INTEGER n, INTEGER e, … 9 or more INTEGERs }
 * - ECPrivateKey (SEC1, RFC 5915): SEQUENCE { INTEGER 1, OCTET STRING, [0]?, [1]? }
 */
export function classifyKeyDer(bytes: Uint8Array): KeyContainer {
  const outer = readTlv(bytes, 0);
  if (outer === undefined || outer.tag !== TAG_SEQUENCE || outer.end !== bytes.length) return { type: 'unknown' };
  const kids = children(bytes, outer);
  if (kids === undefined || kids.length < 2) return { type: 'unknown' };
  const [a, b, c] = kids as [Tlv, Tlv, Tlv | undefined];
  if (a.tag === TAG_SEQUENCE && b.tag === TAG_OCTET_STRING && kids.length === 2) return { type: 'encrypted-pkcs8' };
  if (a.tag === TAG_SEQUENCE && b.tag === TAG_BIT_STRING && kids.length === 2) return { type: 'spki' };
  const version = smallInteger(bytes, a);
  if (version === undefined) return { type: 'unknown' };
  if ((version === 0 || version === 1) && b.tag === TAG_SEQUENCE && c?.tag === TAG_OCTET_STRING) {
    const alg = children(bytes, b);
    const oid = alg?.[0]?.tag === TAG_OID ? oidToString(bytes, alg[0]) : undefined;
    const p = alg?.[1];
    const parameters =
      p === undefined ? 'none' : p.tag === TAG_OID ? 'oid' : p.tag === TAG_SEQUENCE ? 'sequence' : p.tag === TAG_NULL ? 'null' : 'other';
    return { type: 'pkcs8', algorithmOid: oid, parameters, parametersOid: p?.tag === TAG_OID ? oidToString(bytes, p) : undefined };
  }
  if ((version === 0 || version === 1) && kids.length >= 9 && kids.every((k) => k.tag === TAG_INTEGER)) {
    return { type: 'pkcs1-rsa' };
  }
  if (version === 1 && b.tag === TAG_OCTET_STRING) return { type: 'sec1-ec' };
  return { type: 'unknown' };
}
