import { describe, expect, it } from 'vitest';
import {
  KEY_SPECS,
  KEY_USAGES,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  type KeySpec,
} from '../core/aws-names.js';
import {
  IMPORTABLE_KEY_SPECS,
  assertKeyUsageAllowed,
  assertWrappingAllowed,
  chooseWrapping,
  isWrappingAllowed,
  keySpecInfo,
  parseKeySpec,
  parseKeyUsage,
  parseWrappingAlgorithm,
  parseWrappingKeySpec,
  validWrappings,
} from './key-specs.js';
import { thrown } from '../../test/helpers/errors.js';


const NOT_IMPORTABLE: KeySpec[] = [
  'ECC_NIST_EDWARDS25519',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ML_KEM_512',
  'ML_KEM_768',
  'ML_KEM_1024',
  'SM2',
];

describe('the key-spec table', () => {
  it('has an entry for every KeySpec in aws-names', () => {
    for (const spec of KEY_SPECS) expect(keySpecInfo(spec).spec).toBe(spec);
  });

  it('refuses values that are not key specs at run time', () => {
    for (const bad of ['AES_256', 'toString', '__proto__']) {
      const e = thrown(() => keySpecInfo(bad as KeySpec));
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect(e.message).toBe(`unknown key spec ${JSON.stringify(bad)}`);
    }
  });

  it('marks exactly the specs AWS does not document import for as not importable, each with a sentence', () => {
    expect(KEY_SPECS.filter((s) => !keySpecInfo(s).importable)).toEqual(NOT_IMPORTABLE);
    for (const spec of NOT_IMPORTABLE) {
      const info = keySpecInfo(spec);
      if (info.importable) throw new Error('unreachable');
      expect(info.reason).toMatch(/^[A-Z].{40,}[^.]$/);
    }
  });

  it('holds the AWS material shapes: 32 bytes symmetric, the documented HMAC ranges, modulus bits, curves', () => {
    const shapes = Object.fromEntries(IMPORTABLE_KEY_SPECS.map((s) => [s, (keySpecInfo(s) as { material: unknown }).material]));
    expect(shapes).toMatchObject({
      SYMMETRIC_DEFAULT: { kind: 'symmetric', bytes: 32 },
      HMAC_224: { kind: 'hmac', hash: 'sha224', minBytes: 28, maxBytes: 64, generateBytes: 28 },
      HMAC_256: { kind: 'hmac', hash: 'sha256', minBytes: 32, maxBytes: 64, generateBytes: 32 },
      HMAC_384: { kind: 'hmac', hash: 'sha384', minBytes: 48, maxBytes: 128, generateBytes: 48 },
      HMAC_512: { kind: 'hmac', hash: 'sha512', minBytes: 64, maxBytes: 128, generateBytes: 64 },
      RSA_2048: { kind: 'rsa', modulusBits: 2048 },
      RSA_3072: { kind: 'rsa', modulusBits: 3072 },
      RSA_4096: { kind: 'rsa', modulusBits: 4096 },
      ECC_NIST_P256: { kind: 'ecc', nodeCurve: 'prime256v1', curveOid: '1.2.840.10045.3.1.7' },
      ECC_NIST_P384: { kind: 'ecc', nodeCurve: 'secp384r1', curveOid: '1.3.132.0.34' },
      ECC_NIST_P521: { kind: 'ecc', nodeCurve: 'secp521r1', curveOid: '1.3.132.0.35' },
      ECC_SECG_P256K1: { kind: 'ecc', nodeCurve: 'secp256k1', curveOid: '1.3.132.0.10' },
    });
  });

  it('lists the key usages CreateKey allows, the default among them', () => {
    const usages = Object.fromEntries(KEY_SPECS.map((s) => [s, [keySpecInfo(s).keyUsages, keySpecInfo(s).defaultKeyUsage]]));
    expect(usages).toMatchObject({
      SYMMETRIC_DEFAULT: [['ENCRYPT_DECRYPT'], 'ENCRYPT_DECRYPT'],
      HMAC_256: [['GENERATE_VERIFY_MAC'], 'GENERATE_VERIFY_MAC'],
      RSA_3072: [['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], 'SIGN_VERIFY'],
      ECC_NIST_P384: [['SIGN_VERIFY', 'KEY_AGREEMENT'], 'SIGN_VERIFY'],
      ECC_SECG_P256K1: [['SIGN_VERIFY'], 'SIGN_VERIFY'],
      ML_KEM_768: [['ENCAPSULATE_DECAPSULATE'], 'ENCAPSULATE_DECAPSULATE'],
    });
    for (const spec of KEY_SPECS) expect(keySpecInfo(spec).keyUsages).toContain(keySpecInfo(spec).defaultKeyUsage);
  });
});

describe('the wrapping matrix', () => {
  const expected = (spec: KeySpec, alg: string, wks: string): boolean => {
    const info = keySpecInfo(spec);
    if (!info.importable) return false;
    const oaep = alg.startsWith('RSAES_OAEP_');
    switch (info.material.kind) {
      case 'symmetric':
      case 'hmac':
        return oaep; // GetParametersForImport documents RSA_AES_KEY_WRAP_* for RSA and ECC only
      case 'rsa':
        return !oaep; // "To import an RSA private key, you must use an RSA_AES wrapping algorithm"
      case 'ecc':
        return !(oaep && spec === 'ECC_NIST_P521' && wks === 'RSA_2048');
    }
  };

  for (const spec of KEY_SPECS) {
    for (const alg of WRAPPING_ALGORITHMS) {
      for (const wks of WRAPPING_KEY_SPECS) {
        const allowed = expected(spec, alg, wks);
        it(`${spec} × ${alg} × ${wks}: ${allowed ? 'allowed, with a reason' : 'refused'}`, () => {
          expect(isWrappingAllowed(spec, alg, wks)).toBe(allowed);
          const info = keySpecInfo(spec);
          if (allowed) {
            const choice = assertWrappingAllowed(spec, alg, wks);
            expect(choice.reason).toMatch(/GetParametersForImport/);
            return;
          }
          const e = thrown(() => assertWrappingAllowed(spec, alg, wks));
          if (!info.importable) {
            expect(e.code).toBe('ERR_INVALID_ARGUMENT');
            expect(e.message).toBe(`${spec} key material cannot be imported`);
            expect(e.hint).toBe(info.reason);
            return;
          }
          expect(e.code).toBe('ERR_INVALID_COMBINATION');
          expect(e.message).toBe(`${alg} with an ${wks} wrapping key cannot wrap ${spec} key material`);
          // The hint names every valid pair.
          for (const w of info.wrappings) {
            expect(e.hint).toMatch(new RegExp(`${w.algorithm} with [^;]*${w.wrappingKeySpec}`));
          }
          const refusal = info.refusedWrappings.find((r) => r.algorithm === alg && r.wrappingKeySpec === wks);
          expect(refusal).toBeDefined();
          expect(e.hint?.startsWith(refusal!.reason)).toBe(true);
        });
      }
    }
  }

  it('accounts for all 12 pairs of every importable spec exactly once', () => {
    for (const spec of IMPORTABLE_KEY_SPECS) {
      const info = keySpecInfo(spec);
      if (!info.importable) throw new Error('unreachable');
      const pairs = [...info.wrappings, ...info.refusedWrappings].map((w) => `${w.algorithm}/${w.wrappingKeySpec}`);
      expect(new Set(pairs).size).toBe(12);
      expect(pairs).toHaveLength(12);
    }
  });

  it('names the P-521 refusal in the words of the AWS docs', () => {
    const e = thrown(() => assertWrappingAllowed('ECC_NIST_P521', 'RSAES_OAEP_SHA_256', 'RSA_2048'));
    expect(e.hint).toContain('use a larger wrapping key or RSA_AES_KEY_WRAP_SHA_*');
    expect(e.hint).toContain('valid for ECC_NIST_P521: RSAES_OAEP_SHA_256 with RSA_4096 or RSA_3072;');
  });

  it('refuses values that are not wrapping algorithms or wrapping key specs at run time', () => {
    expect(thrown(() => assertWrappingAllowed('SYMMETRIC_DEFAULT', 'RSAES_PKCS1_V1_5' as never, 'RSA_2048')).code).toBe('ERR_INVALID_ARGUMENT');
    expect(thrown(() => assertWrappingAllowed('SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_256', 'SM2' as never)).code).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('chooseWrapping', () => {
  it('returns a valid pair for every importable spec: RSA_4096, SHA-256, OAEP where it can wrap', () => {
    const chosen = Object.fromEntries(IMPORTABLE_KEY_SPECS.map((s) => [s, chooseWrapping(s)]));
    for (const spec of IMPORTABLE_KEY_SPECS) {
      const c = chosen[spec]!;
      expect(isWrappingAllowed(spec, c.algorithm, c.wrappingKeySpec)).toBe(true);
      expect(c.wrappingKeySpec).toBe('RSA_4096');
      const rsa = spec.startsWith('RSA_');
      expect(c.algorithm).toBe(rsa ? 'RSA_AES_KEY_WRAP_SHA_256' : 'RSAES_OAEP_SHA_256');
    }
  });

  it('orders valid pairs strongest first (wrapping key size, then hash, then OAEP before RSA_AES)', () => {
    expect(validWrappings('ECC_NIST_P521').map((w) => `${w.algorithm}/${w.wrappingKeySpec}`)).toEqual([
      'RSAES_OAEP_SHA_256/RSA_4096',
      'RSA_AES_KEY_WRAP_SHA_256/RSA_4096',
      'RSAES_OAEP_SHA_1/RSA_4096',
      'RSA_AES_KEY_WRAP_SHA_1/RSA_4096',
      'RSAES_OAEP_SHA_256/RSA_3072',
      'RSA_AES_KEY_WRAP_SHA_256/RSA_3072',
      'RSAES_OAEP_SHA_1/RSA_3072',
      'RSA_AES_KEY_WRAP_SHA_1/RSA_3072',
      'RSA_AES_KEY_WRAP_SHA_256/RSA_2048',
      'RSA_AES_KEY_WRAP_SHA_1/RSA_2048',
    ]);
  });

  it('refuses specs that cannot be imported, with their reason', () => {
    for (const spec of NOT_IMPORTABLE) {
      const e = thrown(() => chooseWrapping(spec));
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect(e.message).toBe(`${spec} key material cannot be imported`);
      expect(e.hint).toBe((keySpecInfo(spec) as { reason: string }).reason);
      expect(thrown(() => validWrappings(spec)).code).toBe('ERR_INVALID_ARGUMENT');
    }
  });
});

describe('assertKeyUsageAllowed', () => {
  it('accepts every listed usage and refuses every other one, naming the valid usages', () => {
    for (const spec of KEY_SPECS) {
      const info = keySpecInfo(spec);
      for (const usage of KEY_USAGES) {
        if (info.keyUsages.includes(usage)) {
          expect(() => assertKeyUsageAllowed(spec, usage)).not.toThrow();
          continue;
        }
        const e = thrown(() => assertKeyUsageAllowed(spec, usage));
        expect(e.code).toBe('ERR_INVALID_COMBINATION');
        expect(e.message).toBe(`${spec} keys cannot have key usage ${usage}`);
        for (const valid of info.keyUsages) expect(e.hint).toContain(valid);
      }
    }
  });

  it('says "or" between the last two usages', () => {
    expect(thrown(() => assertKeyUsageAllowed('RSA_2048', 'GENERATE_VERIFY_MAC')).hint).toBe(
      'valid key usage for RSA_2048: ENCRYPT_DECRYPT or SIGN_VERIFY',
    );
  });
});

describe('parsing flag values', () => {
  it('parses AWS spellings, forgiving case, blanks and kebab-case', () => {
    expect(parseKeySpec('SYMMETRIC_DEFAULT')).toBe('SYMMETRIC_DEFAULT');
    expect(parseKeySpec(' hmac-256 ')).toBe('HMAC_256');
    expect(parseKeySpec('ecc_secg_p256k1')).toBe('ECC_SECG_P256K1');
    expect(parseKeySpec('ML_DSA_65')).toBe('ML_DSA_65');
    expect(parseWrappingAlgorithm('rsa-aes-key-wrap-sha-256')).toBe('RSA_AES_KEY_WRAP_SHA_256');
    expect(parseWrappingKeySpec('rsa_4096')).toBe('RSA_4096');
    expect(parseKeyUsage('sign-verify')).toBe('SIGN_VERIFY');
  });

  it('refuses unknown values with ERR_INVALID_ARGUMENT listing the valid ones', () => {
    const cases: [() => unknown, string, readonly string[]][] = [
      [() => parseKeySpec('AES_256'), 'unknown key spec "AES_256"', KEY_SPECS],
      [() => parseWrappingAlgorithm('RSAES_OAEP_SHA_512'), 'unknown wrapping algorithm "RSAES_OAEP_SHA_512"', WRAPPING_ALGORITHMS],
      [() => parseWrappingKeySpec('RSA_1024'), 'unknown wrapping key spec "RSA_1024"', WRAPPING_KEY_SPECS],
      [() => parseKeyUsage('WRAP'), 'unknown key usage "WRAP"', KEY_USAGES],
    ];
    for (const [fn, message, values] of cases) {
      const e = thrown(fn);
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect(e.message).toBe(message);
      expect(e.hint).toBe(`valid ${message.split(' "')[0]!.slice('unknown '.length)}s: ${values.join(', ')}`);
    }
  });

  it('explains why RSAES_PKCS1_V1_5, SM2PKE and SM2 wrapping keys are refused', () => {
    const pkcs1 = thrown(() => parseWrappingAlgorithm('RSAES_PKCS1_V1_5'));
    expect(pkcs1.message).toBe('wrapping algorithm RSAES_PKCS1_V1_5 is no longer accepted by AWS KMS');
    expect(pkcs1.hint).toContain('2023-10-10');
    expect(thrown(() => parseWrappingAlgorithm('sm2pke')).hint).toContain('China Regions');
    expect(thrown(() => parseWrappingKeySpec('SM2')).hint).toContain('China Regions');
  });
});
