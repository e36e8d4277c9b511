/**
 * The one table of what kms-byok knows about each AWS KMS `KeySpec`: whether its key material can be
 * imported, what that material looks like, which `KeyUsage` values it may have, and which
 * (`WrappingAlgorithm`, `WrappingKeySpec`) pairs may carry it into KMS. The chooser
 * ({@link chooseWrapping}), the validators ({@link assertWrappingAllowed}, {@link assertKeyUsageAllowed})
 * and the material parser all read this table and nothing else.
 *
 * Sources (AWS, checked 2026):
 * - [GPFI] KMS API Reference, `GetParametersForImport` — `WrappingAlgorithm` and `WrappingKeySpec`
 *   (also shipped as TSDoc in `@aws-sdk/client-kms` `models_0.d.ts`, `GetParametersForImportRequest`).
 * - [STEP3] KMS Developer Guide, "Step 3: Encrypt the key material"
 *   https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html
 * - [REQ] KMS Developer Guide, "Requirements for imported key material"
 *   https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-conceptual.html#importing-keys-material-requirements
 * - [IMPORT] KMS Developer Guide, "Importing key material for AWS KMS keys" (China Regions edition:
 *   https://docs.amazonaws.cn/en_us/kms/latest/developerguide/importing-keys.html)
 * - [CREATEKEY] KMS API Reference, `CreateKey` — `KeySpec` and `KeyUsage`.
 *
 * Pure: imports only `core`.
 */

import {
  KEY_SPECS,
  KEY_USAGES,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  type KeySpec,
  type KeyUsage,
  type WrappingAlgorithm,
  type WrappingKeySpec,
} from '../core/aws-names.js';
import { KmsByokError } from '../core/errors.js';

/** The family a key spec belongs to. */
export type KeyKind = 'symmetric' | 'hmac' | 'rsa' | 'ecc' | 'ml-dsa' | 'ml-kem' | 'sm2';

/** Hash functions that appear in key specs and wrapping algorithms, spelled as `node:crypto` spells them. */
export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** The shape AWS requires of imported key material for one key spec. */
export type MaterialShape =
  /** Raw bytes, exactly `bytes` long. */
  | { readonly kind: 'symmetric'; readonly bytes: 32 }
  /**
   * Raw bytes, `minBytes` to `maxBytes` long. `generateBytes` is what {@link generateKeyMaterial} makes:
   * the digest length, the key length RFC 2104 section 3 recommends (shorter is "strongly discouraged",
   * longer adds little strength).
   */
  | {
      readonly kind: 'hmac';
      readonly hash: HashName;
      readonly minBytes: number;
      readonly maxBytes: number;
      readonly generateBytes: number;
    }
  /** An unencrypted PKCS#8 PrivateKeyInfo, DER, holding an RSA key whose modulus is exactly `modulusBits`. */
  | { readonly kind: 'rsa'; readonly format: 'pkcs8-der'; readonly modulusBits: 2048 | 3072 | 4096 }
  /**
   * An unencrypted PKCS#8 PrivateKeyInfo, DER, holding an EC key on the named curve `curveOid`.
   * `nodeCurve` is the name `node:crypto` reports (`asymmetricKeyDetails.namedCurve`); `curve` is the
   * common name.
   */
  | {
      readonly kind: 'ecc';
      readonly format: 'pkcs8-der';
      readonly curve: 'P-256' | 'P-384' | 'P-521' | 'secp256k1';
      readonly nodeCurve: 'prime256v1' | 'secp384r1' | 'secp521r1' | 'secp256k1';
      readonly curveOid: string;
    };

/** One (algorithm, wrapping key) pair and why AWS allows it for a key spec. */
export interface WrappingChoice {
  readonly algorithm: WrappingAlgorithm;
  readonly wrappingKeySpec: WrappingKeySpec;
  /** Why this pair is allowed, with the AWS source. */
  readonly reason: string;
}

/** Why one (algorithm, wrapping key) pair is refused for a key spec. */
export interface WrappingRefusal {
  readonly algorithm: WrappingAlgorithm;
  readonly wrappingKeySpec: WrappingKeySpec;
  /** A user-facing sentence, with the AWS source. */
  readonly reason: string;
}

interface KeySpecInfoBase {
  readonly spec: KeySpec;
  readonly kind: KeyKind;
  /** Every `KeyUsage` AWS allows for this key spec ([CREATEKEY]). */
  readonly keyUsages: readonly KeyUsage[];
  /** The usage kms-byok picks when none is given. */
  readonly defaultKeyUsage: KeyUsage;
}

/** A key spec whose material AWS lets you import. */
export interface ImportableKeySpecInfo extends KeySpecInfoBase {
  readonly importable: true;
  readonly material: MaterialShape;
  /** Allowed pairs, strongest first (see {@link chooseWrapping}). */
  readonly wrappings: readonly WrappingChoice[];
  /** Every other pair of the 4 × 3 matrix, each with the reason AWS refuses it. */
  readonly refusedWrappings: readonly WrappingRefusal[];
}

/** A key spec whose material cannot be imported (or that kms-byok cannot import). */
export interface NotImportableKeySpecInfo extends KeySpecInfoBase {
  readonly importable: false;
  /** A user-facing sentence saying why. */
  readonly reason: string;
}

export type KeySpecInfo = ImportableKeySpecInfo | NotImportableKeySpecInfo;

// ---------------------------------------------------------------------------------------------
// Wrapping rules. Each is a sentence a user may read in a hint or a report.

const GPFI = 'GetParametersForImport, WrappingAlgorithm';

/** RSAES_OAEP_* wraps symmetric, HMAC and ECC material directly. */
const OAEP_OK = `RSAES_OAEP_SHA_* is supported for all types of key material except RSA private keys (${GPFI})`;
/** RSAES_OAEP_* cannot wrap RSA private keys: they are longer than one OAEP block. */
const OAEP_NOT_RSA = `AWS requires an RSA_AES_KEY_WRAP_SHA_* wrapping algorithm to import an RSA private key (${GPFI})`;
/** RSAES_OAEP_* with RSA_2048 cannot wrap a P-521 private key. */
const OAEP_NOT_P521_2048 =
  `AWS does not support wrapping ECC_NIST_P521 key material with RSAES_OAEP_SHA_* and an RSA_2048 wrapping key; ` +
  `use a larger wrapping key or RSA_AES_KEY_WRAP_SHA_* (${GPFI}; Developer Guide, Step 3: Encrypt the key material)`;
/** RSA_AES_KEY_WRAP_* wraps RSA and ECC private keys. */
const RSA_AES_OK = `RSA_AES_KEY_WRAP_SHA_* is supported for wrapping RSA and ECC key material (${GPFI})`;
/**
 * AWS documents RSA_AES_KEY_WRAP_* for RSA and ECC material only. kms-import-facts.md said "(and others)";
 * the API reference does not, so kms-byok does not offer it for symmetric or HMAC material: a wrapping
 * KMS might refuse would only fail later, at ImportKeyMaterial, while RSAES_OAEP_* always fits.
 */
const RSA_AES_NOT_SECRET =
  `AWS documents RSA_AES_KEY_WRAP_SHA_* for RSA and ECC key material only; wrap symmetric and HMAC ` +
  `key material with RSAES_OAEP_SHA_* (${GPFI})`;

const isOaep = (a: WrappingAlgorithm): boolean => a.startsWith('RSAES_OAEP_');

/** Builds the full 4 × 3 verdict for one material family from a rule function. */
function wrappingMatrix(
  verdict: (alg: WrappingAlgorithm, wks: WrappingKeySpec) => { allowed: boolean; reason: string },
): { wrappings: WrappingChoice[]; refusedWrappings: WrappingRefusal[] } {
  const wrappings: WrappingChoice[] = [];
  const refusedWrappings: WrappingRefusal[] = [];
  for (const wrappingKeySpec of WRAPPING_KEY_SPECS) {
    for (const algorithm of WRAPPING_ALGORITHMS) {
      const v = verdict(algorithm, wrappingKeySpec);
      (v.allowed ? wrappings : refusedWrappings).push({ algorithm, wrappingKeySpec, reason: v.reason });
    }
  }
  wrappings.sort(byStrength);
  return { wrappings, refusedWrappings };
}

const WKS_RANK: Record<WrappingKeySpec, number> = { RSA_4096: 0, RSA_3072: 1, RSA_2048: 2 };
const ALG_RANK: Record<WrappingAlgorithm, number> = {
  RSAES_OAEP_SHA_256: 0,
  RSA_AES_KEY_WRAP_SHA_256: 1,
  RSAES_OAEP_SHA_1: 2,
  RSA_AES_KEY_WRAP_SHA_1: 3,
};

/**
 * Preference order, strongest first:
 * 1. the longest wrapping key: AWS says "use the longest RSA wrapping key that is practical" [GPFI,
 *    WrappingKeySpec], and RSA_4096 costs nothing noticeable in a ceremony;
 * 2. SHA-256 over SHA-1 (OAEP with SHA-1 is not broken, but there is no reason to pick it);
 * 3. RSAES_OAEP_SHA_256 before RSA_AES_KEY_WRAP_SHA_256 for material it can wrap: one primitive
 *    instead of two, no ephemeral AES key to generate and erase, and a custodian can reproduce it with a
 *    single `openssl pkeyutl` command, as in AWS's own procedure.
 */
function byStrength(a: WrappingChoice, b: WrappingChoice): number {
  return WKS_RANK[a.wrappingKeySpec] - WKS_RANK[b.wrappingKeySpec] || ALG_RANK[a.algorithm] - ALG_RANK[b.algorithm];
}

const SECRET_WRAPPING = wrappingMatrix((alg) =>
  isOaep(alg) ? { allowed: true, reason: OAEP_OK } : { allowed: false, reason: RSA_AES_NOT_SECRET },
);
const RSA_WRAPPING = wrappingMatrix((alg) =>
  isOaep(alg) ? { allowed: false, reason: OAEP_NOT_RSA } : { allowed: true, reason: RSA_AES_OK },
);
const ECC_WRAPPING = wrappingMatrix((alg) =>
  isOaep(alg) ? { allowed: true, reason: OAEP_OK } : { allowed: true, reason: RSA_AES_OK },
);
const ECC_P521_WRAPPING = wrappingMatrix((alg, wks) => {
  if (!isOaep(alg)) return { allowed: true, reason: RSA_AES_OK };
  if (wks === 'RSA_2048') return { allowed: false, reason: OAEP_NOT_P521_2048 };
  return { allowed: true, reason: OAEP_OK };
});

// ---------------------------------------------------------------------------------------------
// Material shapes.

/**
 * HMAC key material lengths, in bytes, as AWS documents them in [REQ] ("Requirements for imported key
 * material", table "Supported key specs for imported key material"): HMAC_224 28–64, HMAC_256 32–64,
 * HMAC_384 48–128, HMAC_512 64–128. The minimum is the digest length, the maximum the hash's block size.
 * (LocalStack's KMS emulator enforces the same ranges: `HMAC_RANGE_KEY_LENGTHS` in
 * localstack/services/kms/models.py.)
 */
function hmac(hash: HashName, minBytes: number, maxBytes: number): MaterialShape {
  return { kind: 'hmac', hash, minBytes, maxBytes, generateBytes: minBytes };
}

const SIGN_OR_AGREE: readonly KeyUsage[] = ['SIGN_VERIFY', 'KEY_AGREEMENT'];
const RSA_USAGES: readonly KeyUsage[] = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'];

/**
 * Default usage for RSA keys: SIGN_VERIFY. CreateKey has no default for RSA (the usage is required), and a
 * key's usage can never change, so the CLI should still confirm it; but the reason AWS gives for importing
 * an existing asymmetric key is "existing, well-established keys ... for code signing, PKI certificate
 * signing, and certificate pinned applications" [IMPORT], i.e. signing.
 */
const RSA_DEFAULT_USAGE: KeyUsage = 'SIGN_VERIFY';

function importable(
  spec: KeySpec,
  kind: KeyKind,
  material: MaterialShape,
  keyUsages: readonly KeyUsage[],
  defaultKeyUsage: KeyUsage,
  wrapping: { wrappings: WrappingChoice[]; refusedWrappings: WrappingRefusal[] },
): ImportableKeySpecInfo {
  return { spec, kind, importable: true, material, keyUsages, defaultKeyUsage, ...wrapping };
}

function notImportable(
  spec: KeySpec,
  kind: KeyKind,
  keyUsages: readonly KeyUsage[],
  defaultKeyUsage: KeyUsage,
  reason: string,
): NotImportableKeySpecInfo {
  return { spec, kind, importable: false, keyUsages, defaultKeyUsage, reason };
}

/**
 * AWS documents the import of symmetric, HMAC, RSA and NIST/SECG elliptic-curve key material ([REQ],
 * [GPFI]); it documents no import format or wrapping rule for Ed25519, ML-DSA or ML-KEM key material.
 */
const notDocumented = (family: string): string =>
  `AWS KMS does not document importing ${family} key material, so kms-byok cannot import it; ` +
  `create this key with key material that AWS KMS generates`;

/** The table. Keyed by every `KeySpec` in `core/aws-names.ts`; the type makes a missing spec a compile error. */
const TABLE: { readonly [S in KeySpec]: KeySpecInfo } = {
  SYMMETRIC_DEFAULT: importable(
    'SYMMETRIC_DEFAULT',
    'symmetric',
    // [REQ]: 256-bit (32-byte) binary data. (China Regions take 128-bit SM4 keys; kms-byok does not
    // target China Regions, see SM2 below.)
    { kind: 'symmetric', bytes: 32 },
    ['ENCRYPT_DECRYPT'],
    'ENCRYPT_DECRYPT',
    SECRET_WRAPPING,
  ),
  HMAC_224: importable('HMAC_224', 'hmac', hmac('sha224', 28, 64), ['GENERATE_VERIFY_MAC'], 'GENERATE_VERIFY_MAC', SECRET_WRAPPING),
  HMAC_256: importable('HMAC_256', 'hmac', hmac('sha256', 32, 64), ['GENERATE_VERIFY_MAC'], 'GENERATE_VERIFY_MAC', SECRET_WRAPPING),
  HMAC_384: importable('HMAC_384', 'hmac', hmac('sha384', 48, 128), ['GENERATE_VERIFY_MAC'], 'GENERATE_VERIFY_MAC', SECRET_WRAPPING),
  HMAC_512: importable('HMAC_512', 'hmac', hmac('sha512', 64, 128), ['GENERATE_VERIFY_MAC'], 'GENERATE_VERIFY_MAC', SECRET_WRAPPING),
  RSA_2048: importable('RSA_2048', 'rsa', { kind: 'rsa', format: 'pkcs8-der', modulusBits: 2048 }, RSA_USAGES, RSA_DEFAULT_USAGE, RSA_WRAPPING),
  RSA_3072: importable('RSA_3072', 'rsa', { kind: 'rsa', format: 'pkcs8-der', modulusBits: 3072 }, RSA_USAGES, RSA_DEFAULT_USAGE, RSA_WRAPPING),
  RSA_4096: importable('RSA_4096', 'rsa', { kind: 'rsa', format: 'pkcs8-der', modulusBits: 4096 }, RSA_USAGES, RSA_DEFAULT_USAGE, RSA_WRAPPING),
  ECC_NIST_P256: importable(
    'ECC_NIST_P256',
    'ecc',
    { kind: 'ecc', format: 'pkcs8-der', curve: 'P-256', nodeCurve: 'prime256v1', curveOid: '1.2.840.10045.3.1.7' },
    SIGN_OR_AGREE,
    'SIGN_VERIFY',
    ECC_WRAPPING,
  ),
  ECC_NIST_P384: importable(
    'ECC_NIST_P384',
    'ecc',
    { kind: 'ecc', format: 'pkcs8-der', curve: 'P-384', nodeCurve: 'secp384r1', curveOid: '1.3.132.0.34' },
    SIGN_OR_AGREE,
    'SIGN_VERIFY',
    ECC_WRAPPING,
  ),
  ECC_NIST_P521: importable(
    'ECC_NIST_P521',
    'ecc',
    { kind: 'ecc', format: 'pkcs8-der', curve: 'P-521', nodeCurve: 'secp521r1', curveOid: '1.3.132.0.35' },
    SIGN_OR_AGREE,
    'SIGN_VERIFY',
    ECC_P521_WRAPPING,
  ),
  // [CREATEKEY]: ECC_SECG_P256K1 keys are SIGN_VERIFY only.
  ECC_SECG_P256K1: importable(
    'ECC_SECG_P256K1',
    'ecc',
    { kind: 'ecc', format: 'pkcs8-der', curve: 'secp256k1', nodeCurve: 'secp256k1', curveOid: '1.3.132.0.10' },
    ['SIGN_VERIFY'],
    'SIGN_VERIFY',
    ECC_WRAPPING,
  ),
  ECC_NIST_EDWARDS25519: notImportable(
    'ECC_NIST_EDWARDS25519',
    'ecc',
    ['SIGN_VERIFY'],
    'SIGN_VERIFY',
    notDocumented('Ed25519 (ECC_NIST_EDWARDS25519)'),
  ),
  ML_DSA_44: notImportable('ML_DSA_44', 'ml-dsa', ['SIGN_VERIFY'], 'SIGN_VERIFY', notDocumented('ML-DSA')),
  ML_DSA_65: notImportable('ML_DSA_65', 'ml-dsa', ['SIGN_VERIFY'], 'SIGN_VERIFY', notDocumented('ML-DSA')),
  ML_DSA_87: notImportable('ML_DSA_87', 'ml-dsa', ['SIGN_VERIFY'], 'SIGN_VERIFY', notDocumented('ML-DSA')),
  ML_KEM_512: notImportable('ML_KEM_512', 'ml-kem', ['ENCAPSULATE_DECAPSULATE'], 'ENCAPSULATE_DECAPSULATE', notDocumented('ML-KEM')),
  ML_KEM_768: notImportable('ML_KEM_768', 'ml-kem', ['ENCAPSULATE_DECAPSULATE'], 'ENCAPSULATE_DECAPSULATE', notDocumented('ML-KEM')),
  ML_KEM_1024: notImportable('ML_KEM_1024', 'ml-kem', ['ENCAPSULATE_DECAPSULATE'], 'ENCAPSULATE_DECAPSULATE', notDocumented('ML-KEM')),
  SM2: notImportable(
    'SM2',
    'sm2',
    ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT'],
    'SIGN_VERIFY',
    'SM2 keys exist only in the AWS China Regions, where AWS KMS imports only symmetric encryption key material, ' +
      'and wrapping for them uses SM2PKE, which kms-byok does not produce',
  ),
};

// ---------------------------------------------------------------------------------------------
// Queries.

/** Everything kms-byok knows about `spec`. */
export function keySpecInfo(spec: KeySpec): KeySpecInfo {
  // Precondition: a KeySpec at run time too (values may come from JSON); own keys only, never Object.prototype.
  if (!Object.hasOwn(TABLE, spec)) throw unknownValue('key spec', String(spec), KEY_SPECS);
  return TABLE[spec];
}

/** Key specs whose material kms-byok can import, in `KEY_SPECS` order. */
export const IMPORTABLE_KEY_SPECS: readonly KeySpec[] = KEY_SPECS.filter((s) => TABLE[s].importable);

/**
 * `keySpecInfo(spec)` when the spec's material can be imported.
 *
 * @throws KmsByokError `ERR_INVALID_ARGUMENT` with the reason as hint when it cannot.
 */
export function importableKeySpecInfo(spec: KeySpec): ImportableKeySpecInfo {
  const info = keySpecInfo(spec);
  if (!info.importable) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `${spec} key material cannot be imported`, {
      hint: info.reason,
    });
  }
  return info;
}

/** The allowed (algorithm, wrapping key) pairs for `spec`, strongest first. Throws for a spec that cannot be imported. */
export function validWrappings(spec: KeySpec): readonly WrappingChoice[] {
  return importableKeySpecInfo(spec).wrappings;
}

/**
 * The strongest allowed pair for `spec`: RSA_4096, SHA-256, and RSAES_OAEP_SHA_256 wherever it can wrap
 * the material (symmetric, HMAC, ECC), RSA_AES_KEY_WRAP_SHA_256 otherwise (RSA private keys). See
 * `byStrength` above for why.
 */
export function chooseWrapping(spec: KeySpec): WrappingChoice {
  const best = validWrappings(spec)[0];
  // Every importable spec has at least one pair; the key-spec tests hold this.
  if (best === undefined) throw new KmsByokError('ERR_INTERNAL', `no wrapping for ${spec}`);
  return best;
}

/** Whether AWS allows wrapping `spec` material with `algorithm` and a `wrappingKeySpec` key. */
export function isWrappingAllowed(spec: KeySpec, algorithm: WrappingAlgorithm, wrappingKeySpec: WrappingKeySpec): boolean {
  const info = keySpecInfo(spec);
  return info.importable && info.wrappings.some((w) => w.algorithm === algorithm && w.wrappingKeySpec === wrappingKeySpec);
}

/**
 * Refuses a pair the table does not allow.
 *
 * @throws KmsByokError `ERR_INVALID_COMBINATION` whose hint names the valid pairs; `ERR_INVALID_ARGUMENT`
 *   for a spec that cannot be imported or a value that is not a known algorithm or wrapping key spec.
 */
export function assertWrappingAllowed(spec: KeySpec, algorithm: WrappingAlgorithm, wrappingKeySpec: WrappingKeySpec): WrappingChoice {
  const info = importableKeySpecInfo(spec);
  // Precondition: values from JSON or the SDK are checked at run time, not only by the type.
  if (!(WRAPPING_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw unknownValue('wrapping algorithm', String(algorithm), WRAPPING_ALGORITHMS);
  }
  if (!(WRAPPING_KEY_SPECS as readonly string[]).includes(wrappingKeySpec)) {
    throw unknownValue('wrapping key spec', String(wrappingKeySpec), WRAPPING_KEY_SPECS);
  }
  const allowed = info.wrappings.find((w) => w.algorithm === algorithm && w.wrappingKeySpec === wrappingKeySpec);
  if (allowed !== undefined) return allowed;
  const refusal = info.refusedWrappings.find((w) => w.algorithm === algorithm && w.wrappingKeySpec === wrappingKeySpec);
  throw new KmsByokError(
    'ERR_INVALID_COMBINATION',
    `${algorithm} with an ${wrappingKeySpec} wrapping key cannot wrap ${spec} key material`,
    { hint: `${refusal?.reason ?? 'not allowed'}; valid for ${spec}: ${describeWrappings(info.wrappings)}` },
  );
}

/** "RSAES_OAEP_SHA_256 with RSA_4096, RSA_3072 or RSA_2048; RSAES_OAEP_SHA_1 with …", in preference order. */
export function describeWrappings(wrappings: readonly WrappingChoice[]): string {
  const byAlg = new Map<WrappingAlgorithm, WrappingKeySpec[]>();
  const ordered = [...wrappings].sort((a, b) => ALG_RANK[a.algorithm] - ALG_RANK[b.algorithm] || WKS_RANK[a.wrappingKeySpec] - WKS_RANK[b.wrappingKeySpec]);
  for (const w of ordered) {
    const list = byAlg.get(w.algorithm) ?? [];
    list.push(w.wrappingKeySpec);
    byAlg.set(w.algorithm, list);
  }
  return [...byAlg].map(([alg, specs]) => `${alg} with ${orList(specs)}`).join('; ');
}

/**
 * Refuses a `KeyUsage` AWS does not allow for `spec`.
 *
 * @throws KmsByokError `ERR_INVALID_COMBINATION` whose hint lists the valid usages.
 */
export function assertKeyUsageAllowed(spec: KeySpec, usage: KeyUsage): void {
  const info = keySpecInfo(spec);
  if (!(KEY_USAGES as readonly string[]).includes(usage)) throw unknownValue('key usage', String(usage), KEY_USAGES);
  if (info.keyUsages.includes(usage)) return;
  throw new KmsByokError('ERR_INVALID_COMBINATION', `${spec} keys cannot have key usage ${usage}`, {
    hint: `valid key usage for ${spec}: ${orList(info.keyUsages)}`,
  });
}

// ---------------------------------------------------------------------------------------------
// Parsing CLI flag values. AWS spelling; case and '-' for '_' are forgiven (`--key-spec hmac-256`).

function normalize(text: string): string {
  return text.trim().toUpperCase().replaceAll('-', '_');
}

function parseOneOf<T extends string>(what: string, text: string, values: readonly T[]): T {
  const n = normalize(text);
  const found = values.find((v) => v === n);
  if (found === undefined) throw unknownValue(what, text, values);
  return found;
}

/** Parses a `--key-spec` value. Specs that cannot be imported parse too; ask {@link keySpecInfo}. */
export function parseKeySpec(text: string): KeySpec {
  return parseOneOf('key spec', text, KEY_SPECS);
}

/** Parses a `--wrapping-algorithm` value. */
export function parseWrappingAlgorithm(text: string): WrappingAlgorithm {
  const n = normalize(text);
  if (n === 'RSAES_PKCS1_V1_5') {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', 'wrapping algorithm RSAES_PKCS1_V1_5 is no longer accepted by AWS KMS', {
      hint: `AWS KMS refuses it since 2023-10-10; use one of ${WRAPPING_ALGORITHMS.join(', ')}`,
    });
  }
  if (n === 'SM2PKE') {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', 'wrapping algorithm SM2PKE is not supported by kms-byok', {
      hint: `SM2PKE exists only in the AWS China Regions; use one of ${WRAPPING_ALGORITHMS.join(', ')}`,
    });
  }
  return parseOneOf('wrapping algorithm', text, WRAPPING_ALGORITHMS);
}

/** Parses a `--wrapping-key-spec` value. */
export function parseWrappingKeySpec(text: string): WrappingKeySpec {
  if (normalize(text) === 'SM2') {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', 'wrapping key spec SM2 is not supported by kms-byok', {
      hint: `SM2 wrapping keys exist only in the AWS China Regions; use one of ${WRAPPING_KEY_SPECS.join(', ')}`,
    });
  }
  return parseOneOf('wrapping key spec', text, WRAPPING_KEY_SPECS);
}

/** Parses a `--key-usage` value. */
export function parseKeyUsage(text: string): KeyUsage {
  return parseOneOf('key usage', text, KEY_USAGES);
}

function unknownValue(what: string, text: string, values: readonly string[]): KmsByokError {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return new KmsByokError('ERR_INVALID_ARGUMENT', `unknown ${what} ${JSON.stringify(shown)}`, {
    hint: `valid ${what}s: ${values.join(', ')}`,
  });
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
