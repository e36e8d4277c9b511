/**
 * `TokenCustody` over a PKCS#11 session (docs/hsm.md): key generation, check values and wrapping for
 * KMS, all inside the token. Nothing here reads CKA_VALUE.
 *
 * Wrapping plan (docs/hsm.md, "Wrapping inside the token"):
 * - RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256 → CKM_RSA_PKCS_OAEP with that hash and MGF1 of the same hash.
 * - RSA_AES_KEY_WRAP_SHA_* → an ephemeral AES-256 session key generated in the token wraps the target
 *   with CKM_AES_KEY_WRAP_PAD (RFC 5649) and is itself wrapped with CKM_RSA_PKCS_OAEP; the result is
 *   the wrapped AES key ‖ the wrapped material, as ImportKeyMaterial expects. The same bytes
 *   CKM_RSA_AES_KEY_WRAP produces; the binding has no parameter structure for that mechanism, so the
 *   composition is used on every token.
 * - PKCS#11 reports OAEP as one mechanism whatever the hash; which hashes a token accepts is learned
 *   once per session by wrapping a throwaway session AES key under a throwaway local RSA public key.
 *
 * The KMS wrapping public key is imported as a session object (CKA_TOKEN false) and destroyed after use.
 */
import { constants, createDecipheriv, createHash, createPublicKey, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { SecretBytes } from '../../core/secret.js';
import { KmsByokError, asLocalInputError } from '../../core/errors.js';
import type { KeySpec, WrappingAlgorithm, WrappingKeySpec } from '../../core/aws-names.js';
import { importableKeySpecInfo } from '../../material/key-specs.js';
import type { ImportParameters } from '../../kms/port.js';
import type { TokenCustody, TokenKeyRef } from '../../ceremony/ports.js';
import { ckrName, type OpenToken } from './token.js';
import { formatPkcs11Uri } from './uri.js';

type Handle = Buffer;
type Hash = 'sha1' | 'sha256';

/** CKZ_DATA_SPECIFIED (the binding does not export it). */
const CKZ_DATA_SPECIFIED = 1;
const ZERO_BLOCK = Buffer.alloc(16);
/** RFC 5649's alternative initial value (OpenSSL's id-aes256-wrap-pad takes it as the IV). */
const KWP_IV = Buffer.from([0xa6, 0x59, 0x59, 0xa6]);

/**
 * A test-only seam (docs/hsm.md, "Tests"): a function found at this global symbol may change the
 * template of a key the token generates (the SoftHSM tests make it non-sensitive so the TEST can read
 * its value). kms-byok never installs one, and nothing in argv or the environment makes it do so.
 */
const TEMPLATE_HOOK = Symbol.for('kms-byok.pkcs11-key-template');

function hashOf(alg: WrappingAlgorithm): Hash {
  return alg.endsWith('SHA_1') ? 'sha1' : 'sha256';
}

function mechanismError(message: string, can: string[]): KmsByokError {
  return asLocalInputError(new KmsByokError('ERR_PKCS11_MECHANISM', message, {
    hint: `the token can do: ${can.length ? can.join(', ') : 'no wrapping KMS accepts'}; pass --wrapping-algorithm with one of them`,
  })) as KmsByokError;
}

/** Key pairs generated in the token (docs/hsm.md, "Key pairs"): the curves and their DER OIDs (CKA_EC_PARAMS). */
const EC_PARAMS: Record<string, Buffer> = {
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
};
const EC_JWK_CURVE: Record<string, { crv: string; bytes: number }> = { 'P-256': { crv: 'P-256', bytes: 32 }, 'P-384': { crv: 'P-384', bytes: 48 } };

type Shape = ReturnType<typeof importableKeySpecInfo>['material'];
function isPair(shape: Shape): shape is Extract<Shape, { kind: 'rsa' | 'ecc' }> {
  return shape.kind === 'rsa' || shape.kind === 'ecc';
}

/** The uncompressed EC point inside CKA_EC_POINT (a DER OCTET STRING, or the raw point on some tokens). */
function ecPoint(value: Buffer): Buffer {
  if (value[0] === 0x04 && value.length > 2) {
    const len = value[1]!;
    if (len < 0x80 && len === value.length - 2) return value.subarray(2);
    if (len === 0x81 && value[2] === value.length - 3) return value.subarray(3);
  }
  return value;
}

/** The length of the DER SEQUENCE at the start of `b` (header included), or undefined. */
function derLength(b: Buffer): number | undefined {
  if (b.length < 2 || b[0] !== 0x30) return undefined;
  const first = b[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 3 || b.length < 2 + n) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + b[2 + i]!;
  return 2 + n + len;
}

export class Pkcs11Custody implements TokenCustody {
  private readonly oaep = new Map<Hash, boolean>();

  constructor(private readonly t: OpenToken) {}

  get description(): string {
    return `token ${this.t.token.label} (serial ${this.t.token.serial}, ${this.t.token.manufacturer} ${this.t.token.model})`;
  }

  private mechanism(m: number): { minKeySize: number; maxKeySize: number; flags: number } | undefined {
    try {
      return this.t.p.C_GetMechanismInfo(this.t.slot, m);
    } catch {
      return undefined;
    }
  }

  private has(m: number, flag: number): boolean {
    const info = this.mechanism(m);
    return info !== undefined && (info.flags & flag) !== 0;
  }

  private oaepParams(hash: Hash) {
    const pk = this.t.pk;
    return {
      mechanism: pk.CKM_RSA_PKCS_OAEP,
      parameter: {
        type: pk.CK_PARAMS_RSA_OAEP,
        hashAlg: hash === 'sha1' ? pk.CKM_SHA_1 : pk.CKM_SHA256,
        mgf: hash === 'sha1' ? pk.CKG_MGF1_SHA1 : pk.CKG_MGF1_SHA256,
        source: CKZ_DATA_SPECIFIED,
      },
    };
  }

  /** Whether the token wraps with OAEP under `hash` (learned by a throwaway wrap; see the module note). */
  private oaepWraps(hash: Hash): boolean {
    const known = this.oaep.get(hash);
    if (known !== undefined) return known;
    let ok = false;
    if (this.has(this.t.pk.CKM_RSA_PKCS_OAEP, this.t.pk.CKF_WRAP)) {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pub = this.importPublicKey(publicKey.export({ format: 'der', type: 'spki' }));
      const probe = this.ephemeralAes();
      try {
        this.t.p.C_WrapKey(this.t.session, this.oaepParams(hash), pub, probe, Buffer.alloc(512));
        ok = true;
      } catch {
        ok = false;
      } finally {
        this.destroy(probe);
        this.destroy(pub);
      }
    }
    this.oaep.set(hash, ok);
    return ok;
  }

  wrappingsFor(keySpec: KeySpec): WrappingAlgorithm[] {
    const order = importableKeySpecInfo(keySpec).wrappings.map((w) => w.algorithm);
    return [...new Set(this.possible(keySpec))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  }

  /** Every wrapping algorithm KMS accepts for `keySpec` that this token can do. */
  private possible(keySpec: KeySpec): WrappingAlgorithm[] {
    const pk = this.t.pk;
    const out: WrappingAlgorithm[] = [];
    const kwp = this.has(pk.CKM_AES_KEY_WRAP_PAD, pk.CKF_WRAP) && this.has(pk.CKM_AES_KEY_GEN, pk.CKF_GENERATE);
    const allowed = importableKeySpecInfo(keySpec).wrappings.map((w) => w.algorithm);
    for (const hash of ['sha1', 'sha256'] as const) {
      const suffix = hash === 'sha1' ? 'SHA_1' : 'SHA_256';
      if (!this.oaepWraps(hash)) continue;
      // OAEP alone cannot carry a private key (too long, and tokens wrap only secret keys with it).
      if (!isPair(importableKeySpecInfo(keySpec).material) && allowed.includes(`RSAES_OAEP_${suffix}` as WrappingAlgorithm)) out.push(`RSAES_OAEP_${suffix}` as WrappingAlgorithm);
      if (kwp && allowed.includes(`RSA_AES_KEY_WRAP_${suffix}` as WrappingAlgorithm)) out.push(`RSA_AES_KEY_WRAP_${suffix}` as WrappingAlgorithm);
    }
    return out;
  }

  assertCanWrap(keySpec: KeySpec, wrapping: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec }): void {
    const shape = importableKeySpecInfo(keySpec).material;
    const pk = this.t.pk;
    if (shape.kind === 'ecc' && !EC_PARAMS[shape.curve]) {
      throw asLocalInputError(new KmsByokError('ERR_PKCS11_MECHANISM', `--custody pkcs11 cannot generate ${keySpec} keys: of the EC curves, only ECC_NIST_P256 and ECC_NIST_P384 can be generated in a token`, {
        hint: `the token can generate: ${this.generatable().join(', ') || 'none of the KMS key specs'}; or use the age escrow for ${keySpec}`,
      }));
    }
    if (shape.kind === 'rsa' || shape.kind === 'ecc') {
      const gen = shape.kind === 'rsa' ? pk.CKM_RSA_PKCS_KEY_PAIR_GEN : pk.CKM_EC_KEY_PAIR_GEN;
      const info = this.mechanism(gen);
      const bits = shape.kind === 'rsa' ? shape.modulusBits : shape.curve === 'P-256' ? 256 : 384;
      if (!info || (info.flags & pk.CKF_GENERATE_KEY_PAIR) === 0 || info.maxKeySize < bits || info.minKeySize > bits) {
        throw mechanismError(`${this.description} cannot generate ${keySpec} key pairs (${shape.kind === 'rsa' ? 'CKM_RSA_PKCS_KEY_PAIR_GEN' : 'CKM_EC_KEY_PAIR_GEN'})`, []);
      }
      // A private key leaves the token only by CKM_AES_KEY_WRAP_PAD under an ephemeral AES key.
      if (!this.has(pk.CKM_AES_KEY_WRAP_PAD, pk.CKF_WRAP) || !this.has(pk.CKM_AES_KEY_GEN, pk.CKF_GENERATE)) {
        throw asLocalInputError(new KmsByokError('ERR_PKCS11_MECHANISM', `${this.description} cannot wrap private keys (no CKM_AES_KEY_WRAP_PAD): ${keySpec} material generated there could never reach KMS`, {
          hint: `the token can generate for KMS: ${this.generatable().join(', ') || 'none of the KMS key specs'}`,
        }));
      }
    } else {
      const gen = shape.kind === 'symmetric' ? pk.CKM_AES_KEY_GEN : pk.CKM_GENERIC_SECRET_KEY_GEN;
      if (!this.has(gen, pk.CKF_GENERATE)) {
        throw mechanismError(`${this.description} cannot generate ${keySpec} keys (no ${shape.kind === 'symmetric' ? 'CKM_AES_KEY_GEN' : 'CKM_GENERIC_SECRET_KEY_GEN'})`, []);
      }
    }
    const can = this.possible(keySpec);
    if (!can.includes(wrapping.WrappingAlgorithm)) {
      throw mechanismError(`${this.description} cannot wrap ${keySpec} material with ${wrapping.WrappingAlgorithm}${wrapping.WrappingAlgorithm.includes('SHA_256') && this.has(pk.CKM_RSA_PKCS_OAEP, pk.CKF_WRAP) ? ' (its CKM_RSA_PKCS_OAEP refuses SHA-256)' : ''}`, can);
    }
    const bits = Number(wrapping.WrappingKeySpec.slice('RSA_'.length));
    const rsa = this.mechanism(pk.CKM_RSA_PKCS_OAEP);
    if (!rsa || rsa.maxKeySize < bits) {
      throw mechanismError(`${this.description} cannot wrap under an ${wrapping.WrappingKeySpec} key (CKM_RSA_PKCS_OAEP up to ${rsa?.maxKeySize ?? 0} bits)`, can);
    }
  }

  /** The key specs this token can generate and wrap for KMS (for refusals that name what it can). */
  private generatable(): string[] {
    const pk = this.t.pk;
    const out: string[] = [];
    if (this.has(pk.CKM_AES_KEY_GEN, pk.CKF_GENERATE)) out.push('SYMMETRIC_DEFAULT');
    if (this.has(pk.CKM_GENERIC_SECRET_KEY_GEN, pk.CKF_GENERATE)) out.push('HMAC_224/256/384/512');
    if (this.has(pk.CKM_AES_KEY_WRAP_PAD, pk.CKF_WRAP)) {
      const rsa = this.mechanism(pk.CKM_RSA_PKCS_KEY_PAIR_GEN);
      if (rsa && rsa.flags & pk.CKF_GENERATE_KEY_PAIR) out.push(...[2048, 3072, 4096].filter((b) => rsa.minKeySize <= b && rsa.maxKeySize >= b).map((b) => `RSA_${b}`));
      const ec = this.mechanism(pk.CKM_EC_KEY_PAIR_GEN);
      if (ec && ec.flags & pk.CKF_GENERATE_KEY_PAIR) out.push(...[256, 384].filter((b) => ec.minKeySize <= b && ec.maxKeySize >= b).map((b) => `ECC_NIST_P${b}`));
    }
    return out;
  }

  /** Every object with `label`, of any class: a new key's label (and its key pair's) must be free. */
  private findByLabel(label: string): Handle[] {
    const pk = this.t.pk;
    this.t.p.C_FindObjectsInit(this.t.session, [{ type: pk.CKA_LABEL, value: label }]);
    try {
      return this.t.p.C_FindObjects(this.t.session, 16);
    } finally {
      this.t.p.C_FindObjectsFinal(this.t.session);
    }
  }

  assertLabelFree(label: string): void {
    if (this.findByLabel(label).length > 0) {
      throw asLocalInputError(new KmsByokError('ERR_PKCS11_OBJECT_EXISTS', `${this.description} already holds a key labelled ${JSON.stringify(label)}`, {
        hint: 'kms-byok never reuses or overwrites a token key: choose another object= label in --pkcs11-uri, or remove the old key with the vendor tool if it is unused',
      }));
    }
  }

  generate(label: string, id: Uint8Array, keySpec: KeySpec): TokenKeyRef {
    const pk = this.t.pk;
    const shape = importableKeySpecInfo(keySpec).material;
    this.assertLabelFree(label);
    if (isPair(shape)) return this.generatePair(label, id, keySpec);
    if (shape.kind !== 'symmetric' && shape.kind !== 'hmac') throw new KmsByokError('ERR_INTERNAL', `generate ${keySpec} in a token`);
    const symmetric = shape.kind === 'symmetric';
    let template = [
      { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
      { type: pk.CKA_KEY_TYPE, value: symmetric ? pk.CKK_AES : pk.CKK_GENERIC_SECRET },
      { type: pk.CKA_VALUE_LEN, value: symmetric ? 32 : shape.generateBytes },
      { type: pk.CKA_TOKEN, value: true },
      { type: pk.CKA_PRIVATE, value: true },
      { type: pk.CKA_SENSITIVE, value: true },
      { type: pk.CKA_EXTRACTABLE, value: true },
      { type: pk.CKA_SIGN, value: true },
      { type: pk.CKA_VERIFY, value: true },
      { type: pk.CKA_LABEL, value: label },
      { type: pk.CKA_ID, value: Buffer.from(id) },
    ] as { type: number; value: unknown }[];
    template = this.hooked(template);
    try {
      this.t.p.C_GenerateKey(this.t.session, { mechanism: symmetric ? pk.CKM_AES_KEY_GEN : pk.CKM_GENERIC_SECRET_KEY_GEN }, template as never);
    } catch (e) {
      throw new KmsByokError('ERR_PKCS11', `${this.description} could not generate a ${keySpec} key: ${ckrName(e) ?? (e as Error).message}`, {
        hint: 'check the token has room and allows private token objects',
      });
    }
    return this.find({ object: { label, id: Buffer.from(id).toString('hex') } }, keySpec);
  }

  /** The tests' readable-key hook (docs/hsm.md, "Tests"), honoured only on SoftHSM (see TEMPLATE_HOOK). */
  private hooked<T extends { type: number; value: unknown }[]>(template: T): T {
    // SoftHSM is a software token whose keys are files anyway: code that shares the process cannot
    // weaken keys on a real HSM.
    const hook = (globalThis as Record<symbol, unknown>)[TEMPLATE_HOOK];
    if (typeof hook === 'function' && /^SoftHSM/i.test(this.t.token.manufacturer)) return (hook as (t: T, pk: unknown) => T)(template, this.t.pk);
    return template;
  }

  /**
   * An RSA or EC key pair generated in the token (docs/hsm.md, "Key pairs"): the private key sensitive,
   * extractable only by wrapping, both halves token objects labelled `label` with CKA_ID `id`.
   */
  private generatePair(label: string, id: Uint8Array, keySpec: KeySpec): TokenKeyRef {
    const pk = this.t.pk;
    const shape = importableKeySpecInfo(keySpec).material;
    const rsa = shape.kind === 'rsa';
    const common = [
      { type: pk.CKA_TOKEN, value: true },
      { type: pk.CKA_LABEL, value: label },
      { type: pk.CKA_ID, value: Buffer.from(id) },
    ];
    const pub = [
      ...common,
      { type: pk.CKA_VERIFY, value: true },
      ...(rsa && shape.kind === 'rsa'
        ? [{ type: pk.CKA_MODULUS_BITS, value: shape.modulusBits }, { type: pk.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }, { type: pk.CKA_ENCRYPT, value: true }]
        : [{ type: pk.CKA_EC_PARAMS, value: EC_PARAMS[(shape as { curve: string }).curve]! }]),
    ];
    const priv = this.hooked([
      ...common,
      { type: pk.CKA_PRIVATE, value: true },
      { type: pk.CKA_SENSITIVE, value: true },
      { type: pk.CKA_EXTRACTABLE, value: true },
      { type: pk.CKA_SIGN, value: true },
      ...(rsa ? [{ type: pk.CKA_DECRYPT, value: true }] : []),
    ] as { type: number; value: unknown }[]);
    try {
      this.t.p.C_GenerateKeyPair(this.t.session, { mechanism: rsa ? pk.CKM_RSA_PKCS_KEY_PAIR_GEN : pk.CKM_EC_KEY_PAIR_GEN }, pub as never, priv as never);
    } catch (e) {
      throw new KmsByokError('ERR_PKCS11', `${this.description} could not generate a ${keySpec} key pair: ${ckrName(e) ?? (e as Error).message}`, {
        hint: 'check the token has room and allows private token objects',
      });
    }
    return this.find({ object: { label, id: Buffer.from(id).toString('hex') } }, keySpec);
  }

  /** DER SubjectPublicKeyInfo of a pair's public half, from the token's public key object's attributes. */
  publicKeyOf(ref: Pick<TokenKeyRef, 'object'>, keySpec: KeySpec): Uint8Array {
    const pk = this.t.pk;
    const shape = importableKeySpecInfo(keySpec).material;
    const h = this.handleOf(ref, pk.CKO_PUBLIC_KEY);
    if (shape.kind === 'rsa') {
      const [n, e] = this.t.p.C_GetAttributeValue(this.t.session, h, [{ type: pk.CKA_MODULUS }, { type: pk.CKA_PUBLIC_EXPONENT }]);
      return new Uint8Array(createPublicKey({ key: { kty: 'RSA', n: n!.value.toString('base64url'), e: e!.value.toString('base64url') }, format: 'jwk' }).export({ format: 'der', type: 'spki' }));
    }
    if (shape.kind !== 'ecc' || !EC_JWK_CURVE[shape.curve]) throw new KmsByokError('ERR_INTERNAL', `the public key of a ${keySpec} token key`);
    const { crv, bytes } = EC_JWK_CURVE[shape.curve]!;
    const [point] = this.t.p.C_GetAttributeValue(this.t.session, h, [{ type: pk.CKA_EC_POINT }]);
    const q = ecPoint(point!.value);
    if (q[0] !== 0x04 || q.length !== 1 + 2 * bytes) throw new KmsByokError('ERR_PKCS11', `${this.description} gave an EC point kms-byok cannot read for ${ref.object.label}`, { hint: 'see docs/hsm.md' });
    const jwk = { kty: 'EC', crv, x: q.subarray(1, 1 + bytes).toString('base64url'), y: q.subarray(1 + bytes).toString('base64url') };
    return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'spki' }));
  }

  private handleOf(ref: Pick<TokenKeyRef, 'object'>, cls: number = this.t.pk.CKO_SECRET_KEY): Handle {
    const pk = this.t.pk;
    this.t.p.C_FindObjectsInit(this.t.session, [
      { type: pk.CKA_CLASS, value: cls },
      { type: pk.CKA_LABEL, value: ref.object.label },
      { type: pk.CKA_ID, value: Buffer.from(ref.object.id, 'hex') },
    ]);
    let found: Handle[];
    try {
      found = this.t.p.C_FindObjects(this.t.session, 2);
    } finally {
      this.t.p.C_FindObjectsFinal(this.t.session);
    }
    if (found.length !== 1) {
      throw new KmsByokError('ERR_PKCS11_OBJECT_NOT_FOUND', `${this.description} holds ${found.length === 0 ? 'no' : 'more than one'} key labelled ${JSON.stringify(ref.object.label)} with id ${ref.object.id}`, {
        hint: 'check --pkcs11-uri names the token the custody record names (token label and serial), and that the key was not deleted',
      });
    }
    return found[0]!;
  }

  find(ref: Pick<TokenKeyRef, 'object'>, keySpec: KeySpec): TokenKeyRef {
    const pk = this.t.pk;
    const shape = importableKeySpecInfo(keySpec).material;
    const h = this.handleOf(ref, isPair(shape) ? pk.CKO_PRIVATE_KEY : pk.CKO_SECRET_KEY);
    const checkValues: string[] = [];
    const hex = (b: Buffer) => b.subarray(0, 3).toString('hex').toUpperCase();
    if (shape.kind === 'symmetric') {
      this.t.p.C_SignInit(this.t.session, { mechanism: pk.CKM_AES_CMAC }, h);
      checkValues.push(`cmac-aes:${hex(this.t.p.C_Sign(this.t.session, ZERO_BLOCK, Buffer.alloc(16)))}`);
      // PKCS#11 v2.40: CKA_CHECK_VALUE of an AES key is the first 3 bytes of ECB(key, zero block).
      try {
        const [cv] = this.t.p.C_GetAttributeValue(this.t.session, h, [{ type: pk.CKA_CHECK_VALUE }]);
        if (cv?.value && cv.value.length >= 3) checkValues.push(`ecb-aes:${hex(cv.value)}`);
      } catch { /* a token without CKA_CHECK_VALUE: the CMAC value stands alone */ }
    } else if (shape.kind === 'hmac') {
      const mech = { sha224: pk.CKM_SHA224_HMAC, sha256: pk.CKM_SHA256_HMAC, sha384: pk.CKM_SHA384_HMAC, sha512: pk.CKM_SHA512_HMAC }[shape.hash as 'sha256'];
      this.t.p.C_SignInit(this.t.session, { mechanism: mech }, h);
      checkValues.push(`hmac-${shape.hash}:${hex(this.t.p.C_Sign(this.t.session, ZERO_BLOCK, Buffer.alloc(64)))}`);
    } else if (isPair(shape)) {
      // The spki-sha256 check value (src/material/check-value.ts), from the token's public key.
      checkValues.push(`spki-sha256:${createHash('sha256').update(this.publicKeyOf(ref, keySpec)).digest('hex').toUpperCase()}`);
    }
    const { token } = this.t;
    return {
      token,
      object: ref.object,
      uri: formatPkcs11Uri({ token: token.label, serial: token.serial, object: ref.object.label, id: Buffer.from(ref.object.id, 'hex') }),
      checkValues,
    };
  }

  mac(ref: Pick<TokenKeyRef, 'object'>, message: Uint8Array, keySpec: KeySpec): Uint8Array {
    const pk = this.t.pk;
    const shape = importableKeySpecInfo(keySpec).material;
    if (shape.kind !== 'hmac') throw new KmsByokError('ERR_INTERNAL', `mac with a ${keySpec} key`);
    const mech = { sha224: pk.CKM_SHA224_HMAC, sha256: pk.CKM_SHA256_HMAC, sha384: pk.CKM_SHA384_HMAC, sha512: pk.CKM_SHA512_HMAC }[shape.hash as 'sha256'];
    this.t.p.C_SignInit(this.t.session, { mechanism: mech }, this.handleOf(ref));
    return new Uint8Array(this.t.p.C_Sign(this.t.session, Buffer.from(message), Buffer.alloc(64)));
  }

  private importPublicKey(spki: Uint8Array): Handle {
    const pk = this.t.pk;
    const jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    return this.t.p.C_CreateObject(this.t.session, [
      { type: pk.CKA_CLASS, value: pk.CKO_PUBLIC_KEY },
      { type: pk.CKA_KEY_TYPE, value: pk.CKK_RSA },
      { type: pk.CKA_TOKEN, value: false },
      { type: pk.CKA_WRAP, value: true },
      { type: pk.CKA_ENCRYPT, value: true },
      { type: pk.CKA_LABEL, value: 'kms-byok KMS wrapping key (session object)' },
      { type: pk.CKA_MODULUS, value: Buffer.from(jwk.n!, 'base64url') },
      { type: pk.CKA_PUBLIC_EXPONENT, value: Buffer.from(jwk.e!, 'base64url') },
    ]);
  }

  private ephemeralAes(): Handle {
    const pk = this.t.pk;
    return this.t.p.C_GenerateKey(this.t.session, { mechanism: pk.CKM_AES_KEY_GEN }, [
      { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
      { type: pk.CKA_KEY_TYPE, value: pk.CKK_AES },
      { type: pk.CKA_VALUE_LEN, value: 32 },
      { type: pk.CKA_TOKEN, value: false },
      { type: pk.CKA_SENSITIVE, value: true },
      { type: pk.CKA_EXTRACTABLE, value: true },
      { type: pk.CKA_WRAP, value: true },
    ]);
  }

  private destroy(h: Handle): void {
    try {
      this.t.p.C_DestroyObject(this.t.session, h);
    } catch { /* a session object goes with the session anyway */ }
  }

  /** The token's side of a wrapping (mechanisms, hash, RSA size), whatever KMS allows for the spec. */
  private assertTokenCanWrap(alg: WrappingAlgorithm, wrappingKeySpec: WrappingKeySpec): void {
    const pk = this.t.pk;
    const hash = hashOf(alg);
    const kwp = this.has(pk.CKM_AES_KEY_WRAP_PAD, pk.CKF_WRAP) && this.has(pk.CKM_AES_KEY_GEN, pk.CKF_GENERATE);
    const ok = this.oaepWraps(hash) && (alg.startsWith('RSAES_OAEP') || kwp);
    const rsa = this.mechanism(pk.CKM_RSA_PKCS_OAEP);
    if (!ok || !rsa || rsa.maxKeySize < Number(wrappingKeySpec.slice('RSA_'.length))) {
      throw new KmsByokError('ERR_PKCS11_MECHANISM', `${this.description} cannot wrap with ${alg} under an ${wrappingKeySpec} key`, { hint: 'see docs/hsm.md, "Wrapping inside the token"' });
    }
  }

  wrap(ref: Pick<TokenKeyRef, 'object'>, params: ImportParameters, keySpec: KeySpec): Uint8Array {
    void keySpec; // the KMS matrix for the spec is the ceremony's check (assertCanWrap); here: the token's
    return this.wrapUnder(ref, params.PublicKey, params.WrappingAlgorithm, params.WrappingKeySpec, keySpec);
  }

  /** The token key wrapped inside the token under the RSA public key `spki` (see the module note). */
  private wrapUnder(ref: Pick<TokenKeyRef, 'object'>, spki: Uint8Array, alg: WrappingAlgorithm, wrappingKeySpec: WrappingKeySpec, keySpec: KeySpec): Uint8Array {
    this.assertTokenCanWrap(alg, wrappingKeySpec);
    const pair = isPair(importableKeySpecInfo(keySpec).material);
    if (pair && alg.startsWith('RSAES_OAEP')) throw new KmsByokError('ERR_PKCS11_MECHANISM', `${this.description}: ${alg} cannot carry a private key`, { hint: 'use RSA_AES_KEY_WRAP_SHA_1 or _256 (docs/hsm.md, "Key pairs")' });
    const target = this.handleOf(ref, pair ? this.t.pk.CKO_PRIVATE_KEY : this.t.pk.CKO_SECRET_KEY);
    const hash = hashOf(alg);
    const pub = this.importPublicKey(spki);
    const fail = (e: unknown): never => {
      const name = ckrName(e);
      if (name === 'CKR_KEY_UNEXTRACTABLE' || name === 'CKR_KEY_NOT_WRAPPABLE') {
        throw new KmsByokError('ERR_PKCS11_NOT_EXTRACTABLE', `${this.description} refuses to wrap ${ref.object.label}: ${name}`, {
          hint: 'the key was created with CKA_EXTRACTABLE false (or CKA_WRAP_WITH_TRUSTED true): it can never be imported into KMS; generate a new key with --custody pkcs11',
        });
      }
      throw new KmsByokError('ERR_PKCS11', `${this.description} could not wrap ${ref.object.label} with ${alg}: ${name ?? (e as Error).message}`, { hint: 'see docs/hsm.md' });
    };
    try {
      if (alg.startsWith('RSAES_OAEP')) {
        try {
          return new Uint8Array(this.t.p.C_WrapKey(this.t.session, this.oaepParams(hash), pub, target, Buffer.alloc(1024)));
        } catch (e) {
          return fail(e);
        }
      }
      const eph = this.ephemeralAes();
      try {
        let kwp: Buffer;
        try {
          kwp = this.t.p.C_WrapKey(this.t.session, { mechanism: this.t.pk.CKM_AES_KEY_WRAP_PAD }, eph, target, Buffer.alloc(8192));
        } catch (e) {
          return fail(e);
        }
        const rsa = this.t.p.C_WrapKey(this.t.session, this.oaepParams(hash), pub, eph, Buffer.alloc(1024));
        return new Uint8Array(Buffer.concat([rsa, kwp]));
      } finally {
        this.destroy(eph);
      }
    } finally {
      this.destroy(pub);
    }
  }

  /**
   * `--also-escrow` (docs/hsm.md, "Also an age escrow"): wrapped inside the token under an ephemeral
   * RSA-3072 key pair made here for this call, unwrapped here, the private key then dropped. Secret
   * keys travel by OAEP; private keys (too long for OAEP) by the ephemeral-AES composition. CKA_VALUE
   * is never read: a sensitive key gives it to no one.
   */
  exportByWrapping(ref: Pick<TokenKeyRef, 'object'>, keySpec: KeySpec): SecretBytes {
    const hash: Hash | undefined = this.oaepWraps('sha256') ? 'sha256' : this.oaepWraps('sha1') ? 'sha1' : undefined;
    if (!hash) throw mechanismError(`${this.description} cannot wrap with CKM_RSA_PKCS_OAEP: the material cannot leave it for an escrow`, []);
    const kind = importableKeySpecInfo(keySpec).material.kind;
    const suffix = hash === 'sha1' ? 'SHA_1' : 'SHA_256';
    const alg = (kind === 'symmetric' || kind === 'hmac' ? `RSAES_OAEP_${suffix}` : `RSA_AES_KEY_WRAP_${suffix}`) as WrappingAlgorithm;
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const wrapped = Buffer.from(this.wrapUnder(ref, publicKey.export({ format: 'der', type: 'spki' }), alg, 'RSA_3072', keySpec));
    const oaep = { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash };
    if (alg.startsWith('RSAES_OAEP')) {
      const plain = privateDecrypt(oaep, wrapped);
      return SecretBytes.take(plain);
    }
    const kek = privateDecrypt(oaep, wrapped.subarray(0, 384));
    try {
      const d = createDecipheriv('id-aes256-wrap-pad', kek, KWP_IV);
      const first = d.update(wrapped.subarray(384));
      const last = d.final();
      const plain = Buffer.concat([first, last]);
      first.fill(0);
      last.fill(0);
      const der = derLength(plain);
      // SoftHSM 2.6 zero-pads the PKCS#8 to a multiple of 8 bytes before RFC 5649 (docs/hsm.md, "Tokens
      // tested"): what follows the DER must be that padding, and is dropped.
      if (der === undefined || der > plain.length || plain.length - der > 7 || plain.subarray(der).some((b) => b !== 0)) {
        plain.fill(0);
        throw new KmsByokError('ERR_PKCS11', `${this.description} wrapped ${ref.object.label} as something other than a PKCS#8 private key`, { hint: 'see docs/hsm.md, "Key pairs"' });
      }
      const out = SecretBytes.copyOf(plain.subarray(0, der));
      plain.fill(0);
      return out;
    } finally {
      kek.fill(0);
    }
  }
}
