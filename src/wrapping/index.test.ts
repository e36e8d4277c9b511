import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { forgeOaepDecrypt, independentUnwrap, makeWrappingKey, type TestWrappingKey } from '../../test/vectors/helpers.js';
import type { WrappingAlgorithm } from '../core/aws-names.js';
import { SecretBytes } from '../core/secret.js';
import { generateKeyMaterial } from '../material/generate.js';
import { wrapKeyMaterial } from './index.js';
import { thrown } from '../../test/helpers/errors.js';


let wk2048: TestWrappingKey;
let wk3072: TestWrappingKey;

beforeAll(() => {
  wk2048 = makeWrappingKey('RSA_2048');
  wk3072 = makeWrappingKey('RSA_3072');
});

const params = (wk: TestWrappingKey, WrappingAlgorithm: WrappingAlgorithm) => ({
  PublicKey: wk.spkiDer,
  WrappingAlgorithm,
  WrappingKeySpec: wk.wrappingKeySpec,
});

describe('wrapKeyMaterial', () => {
  for (const alg of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'] as const) {
    it(`wraps with ${alg} so that an independent unwrap recovers the material`, () => {
      const material = generateKeyMaterial('ECC_NIST_P256');
      const wrapped = wrapKeyMaterial(material, params(wk2048, alg), 'ECC_NIST_P256');
      expect(wrapped.length).toBe(alg.startsWith('RSAES_') ? 256 : 256 + Math.ceil(material.length / 8) * 8 + 8);
      expect(SecretBytes.adopt(independentUnwrap(wk2048, alg, wrapped)).equals(material)).toBe(true);
    });
  }

  it('leaves the material to the caller: not disposed, not changed', () => {
    const material = generateKeyMaterial('SYMMETRIC_DEFAULT');
    const copy = material.clone();
    wrapKeyMaterial(material, params(wk2048, 'RSAES_OAEP_SHA_256'), 'SYMMETRIC_DEFAULT');
    wrapKeyMaterial(material, params(wk2048, 'RSAES_OAEP_SHA_1'));
    expect(material.disposed).toBe(false);
    expect(material.equals(copy)).toBe(true);
  });

  it('refuses a pair the matrix forbids when the key spec is given, before touching the key', () => {
    const e = thrown(() => wrapKeyMaterial(generateKeyMaterial('RSA_2048'), params(wk2048, 'RSAES_OAEP_SHA_256'), 'RSA_2048'));
    expect(e.code).toBe('ERR_INVALID_COMBINATION');
    expect(e.message).toBe('RSAES_OAEP_SHA_256 with an RSA_2048 wrapping key cannot wrap RSA_2048 key material');
    expect(e.hint).toContain('valid for RSA_2048: RSA_AES_KEY_WRAP_SHA_256 with RSA_4096, RSA_3072 or RSA_2048');
    const sym = thrown(() => wrapKeyMaterial(generateKeyMaterial('SYMMETRIC_DEFAULT'), params(wk2048, 'RSA_AES_KEY_WRAP_SHA_256'), 'SYMMETRIC_DEFAULT'));
    expect(sym.code).toBe('ERR_INVALID_COMBINATION');
  });

  it('refuses P-521 material with RSAES_OAEP and RSA_2048, but wraps it with RSA_3072', () => {
    const material = generateKeyMaterial('ECC_NIST_P521');
    expect(thrown(() => wrapKeyMaterial(material, params(wk2048, 'RSAES_OAEP_SHA_256'), 'ECC_NIST_P521')).code).toBe('ERR_INVALID_COMBINATION');
    // Without the key spec the size check still refuses it: 241 bytes do not fit one 2048-bit OAEP block.
    const e = thrown(() => wrapKeyMaterial(material, params(wk2048, 'RSAES_OAEP_SHA_256')));
    expect(e.code).toBe('ERR_INVALID_COMBINATION');
    expect(e.message).toMatch(/^key material of 24\d bytes is too long for RSAES_OAEP_SHA_256 with a 2048-bit wrapping key \(at most 190\)$/);
    const wrapped = wrapKeyMaterial(material, params(wk3072, 'RSAES_OAEP_SHA_256'), 'ECC_NIST_P521');
    expect(SecretBytes.adopt(forgeOaepDecrypt(wk3072.forgeKey, 'sha256', wrapped)).equals(material)).toBe(true);
  });

  it('refuses material that does not fit the key spec', () => {
    const e = thrown(() => wrapKeyMaterial(generateKeyMaterial('HMAC_224'), params(wk2048, 'RSAES_OAEP_SHA_256'), 'SYMMETRIC_DEFAULT'));
    expect(e.code).toBe('ERR_MATERIAL');
    expect(e.message).toBe('SYMMETRIC_DEFAULT key material must be 32 bytes, got 28');
    const p384 = SecretBytes.take(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'der' }));
    expect(thrown(() => wrapKeyMaterial(p384, params(wk2048, 'RSAES_OAEP_SHA_256'), 'ECC_NIST_P256')).code).toBe('ERR_MATERIAL');
  });

  it('refuses a public key that is not the requested wrapping key spec', () => {
    const e = thrown(() =>
      wrapKeyMaterial(generateKeyMaterial('SYMMETRIC_DEFAULT'), { ...params(wk3072, 'RSAES_OAEP_SHA_256'), WrappingKeySpec: 'RSA_4096' }),
    );
    expect(e.code).toBe('ERR_KMS_BAD_RESPONSE');
    expect(e.message).toBe('wrapping public key from GetParametersForImport has a 3072-bit modulus, but RSA_4096 was requested');
  });

  it('refuses an unknown wrapping algorithm', () => {
    const e = thrown(() => wrapKeyMaterial(generateKeyMaterial('SYMMETRIC_DEFAULT'), params(wk2048, 'RSAES_PKCS1_V1_5' as never)));
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    expect(e.message).toBe('unknown wrapping algorithm "RSAES_PKCS1_V1_5"');
  });

  it('refuses key specs that cannot be imported', () => {
    expect(thrown(() => wrapKeyMaterial(generateKeyMaterial('SYMMETRIC_DEFAULT'), params(wk2048, 'RSAES_OAEP_SHA_256'), 'ML_KEM_768')).code).toBe(
      'ERR_INVALID_ARGUMENT',
    );
  });
});
