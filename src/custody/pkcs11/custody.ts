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
import { constants, createDecipheriv, createPublicKey, generateKeyPairSync, privateDecrypt } from 'node:crypto';
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
      if (allowed.includes(`RSAES_OAEP_${suffix}` as WrappingAlgorithm)) out.push(`RSAES_OAEP_${suffix}` as WrappingAlgorithm);
      if (kwp && allowed.includes(`RSA_AES_KEY_WRAP_${suffix}` as WrappingAlgorithm)) out.push(`RSA_AES_KEY_WRAP_${suffix}` as WrappingAlgorithm);
    }
    return out;
  }

  assertCanWrap(keySpec: KeySpec, wrapping: { WrappingAlgorithm: WrappingAlgorithm; WrappingKeySpec: WrappingKeySpec }): void {
    const shape = importableKeySpecInfo(keySpec).material;
    if (shape.kind !== 'symmetric' && shape.kind !== 'hmac') {
      throw asLocalInputError(new KmsByokError('ERR_PKCS11_MECHANISM', `--custody pkcs11 generates ${keySpec} keys not yet: only SYMMETRIC_DEFAULT and HMAC_* are generated in the token`, {
        hint: 'use --key-spec SYMMETRIC_DEFAULT or HMAC_224/256/384/512 with --custody pkcs11, or the age escrow for asymmetric keys',
      }));
    }
    const pk = this.t.pk;
    const gen = shape.kind === 'symmetric' ? pk.CKM_AES_KEY_GEN : pk.CKM_GENERIC_SECRET_KEY_GEN;
    if (!this.has(gen, pk.CKF_GENERATE)) {
      throw mechanismError(`${this.description} cannot generate ${keySpec} keys (no ${shape.kind === 'symmetric' ? 'CKM_AES_KEY_GEN' : 'CKM_GENERIC_SECRET_KEY_GEN'})`, []);
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

  private findByLabel(label: string): Handle[] {
    const pk = this.t.pk;
    this.t.p.C_FindObjectsInit(this.t.session, [{ type: pk.CKA_LABEL, value: label }, { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY }]);
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
    if (shape.kind !== 'symmetric' && shape.kind !== 'hmac') throw new KmsByokError('ERR_INTERNAL', `generate ${keySpec} in a token`);
    this.assertLabelFree(label);
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
    // The tests' readable-key hook (docs/hsm.md, "Tests") is honoured only on SoftHSM, a software token
    // whose keys are files anyway: code that shares the process cannot weaken keys on a real HSM.
    const hook = (globalThis as Record<symbol, unknown>)[TEMPLATE_HOOK];
    if (typeof hook === 'function' && /^SoftHSM/i.test(this.t.token.manufacturer)) template = (hook as (t: typeof template, pk: unknown) => typeof template)(template, pk);
    try {
      this.t.p.C_GenerateKey(this.t.session, { mechanism: symmetric ? pk.CKM_AES_KEY_GEN : pk.CKM_GENERIC_SECRET_KEY_GEN }, template as never);
    } catch (e) {
      throw new KmsByokError('ERR_PKCS11', `${this.description} could not generate a ${keySpec} key: ${ckrName(e) ?? (e as Error).message}`, {
        hint: 'check the token has room and allows private token objects',
      });
    }
    return this.find({ object: { label, id: Buffer.from(id).toString('hex') } }, keySpec);
  }

  private handleOf(ref: Pick<TokenKeyRef, 'object'>): Handle {
    const pk = this.t.pk;
    this.t.p.C_FindObjectsInit(this.t.session, [
      { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
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
    const h = this.handleOf(ref);
    const shape = importableKeySpecInfo(keySpec).material;
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
    return this.wrapUnder(ref, params.PublicKey, params.WrappingAlgorithm, params.WrappingKeySpec);
  }

  /** The token key wrapped inside the token under the RSA public key `spki` (see the module note). */
  private wrapUnder(ref: Pick<TokenKeyRef, 'object'>, spki: Uint8Array, alg: WrappingAlgorithm, wrappingKeySpec: WrappingKeySpec): Uint8Array {
    this.assertTokenCanWrap(alg, wrappingKeySpec);
    const target = this.handleOf(ref);
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
    const wrapped = Buffer.from(this.wrapUnder(ref, publicKey.export({ format: 'der', type: 'spki' }), alg, 'RSA_3072'));
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
      return SecretBytes.take(plain);
    } finally {
      kek.fill(0);
    }
  }
}
