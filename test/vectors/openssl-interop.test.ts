/**
 * The openssl command line and node-forge, given the wrapping private key, unwrap what kms-byok wraps and
 * recover the exact material: AWS's own documented procedure, run backwards.
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KeySpec, WrappingAlgorithm } from '../../src/core/aws-names.js';
import { SecretBytes } from '../../src/core/secret.js';
import { generateKeyMaterial } from '../../src/material/generate.js';
import { chooseWrapping } from '../../src/material/key-specs.js';
import { wrapKeyMaterial } from '../../src/wrapping/index.js';
import { HASH_OF, forgeOaepDecrypt, makeWrappingKey, openssl, withTempDir, type TempDir, type TestWrappingKey } from './helpers.js';

const keys: Partial<Record<'RSA_2048' | 'RSA_4096', TestWrappingKey>> = {};

beforeAll(() => {
  keys.RSA_2048 = makeWrappingKey('RSA_2048');
  keys.RSA_4096 = makeWrappingKey('RSA_4096'); // the size chooseWrapping picks, and large enough for P-521 with OAEP
}, 60_000);

/** Writes the wrapping private key (0600) into `dir` once, returning its path. */
function keyFile(dir: TempDir, key: TestWrappingKey): string {
  const name = `wrapping-${key.wrappingKeySpec}.pem`;
  return existsSync(dir.file(name)) ? dir.file(name) : dir.write(name, key.privatePem);
}

function pkeyutlDecrypt(dir: TempDir, key: TestWrappingKey, hash: string, mgf1: string, ciphertext: Uint8Array, name: string): Buffer {
  const keyPath = keyFile(dir, key);
  const input = dir.write(`${name}.bin`, ciphertext);
  return openssl([
    'pkeyutl', '-decrypt', '-inkey', keyPath, '-in', input,
    '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${hash}`, '-pkeyopt', `rsa_mgf1_md:${mgf1}`,
  ]);
}

/** AWS's procedure backwards: split at the modulus length, pkeyutl the RSA part, openssl enc -d the KWP part. */
function opensslUnwrap(dir: TempDir, key: TestWrappingKey, algorithm: WrappingAlgorithm, wrapped: Uint8Array): Buffer {
  const hash = HASH_OF[algorithm];
  if (algorithm.startsWith('RSAES_OAEP_')) return pkeyutlDecrypt(dir, key, hash, hash, wrapped, 'wrapped');
  const k = key.privateKey.asymmetricKeyDetails!.modulusLength! / 8;
  const aesKey = pkeyutlDecrypt(dir, key, hash, hash, wrapped.subarray(0, k), 'rsa-part');
  expect(aesKey.length).toBe(32);
  const kwp = dir.write('kwp.bin', wrapped.subarray(k));
  const out = openssl(['enc', '-d', '-id-aes256-wrap-pad', '-K', aesKey.toString('hex'), '-iv', 'A65959A6', '-in', kwp]);
  aesKey.fill(0);
  return out;
}

const cases: [KeySpec, WrappingAlgorithm, 'RSA_2048' | 'RSA_4096'][] = [
  ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_256', 'RSA_2048'],
  ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSA_2048'],
  ['HMAC_512', 'RSAES_OAEP_SHA_256', 'RSA_4096'],
  ['ECC_NIST_P384', 'RSAES_OAEP_SHA_1', 'RSA_2048'],
  ['ECC_NIST_P521', 'RSAES_OAEP_SHA_256', 'RSA_4096'],
  ['RSA_2048', 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048'],
  ['RSA_2048', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_4096'],
  ['ECC_NIST_P521', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_2048'],
  ['ECC_SECG_P256K1', 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048'],
];

describe('openssl unwraps what wrapKeyMaterial wraps', () => {
  for (const [spec, algorithm, wks] of cases) {
    it(`${spec} with ${algorithm} and ${wks}`, () => {
      const key = keys[wks]!;
      const material = generateKeyMaterial(spec);
      const wrapped = wrapKeyMaterial(material, { PublicKey: key.spkiDer, WrappingAlgorithm: algorithm, WrappingKeySpec: wks }, spec);
      const recovered = withTempDir((dir) => opensslUnwrap(dir, key, algorithm, wrapped));
      expect(SecretBytes.take(recovered).equals(material)).toBe(true);
    });
  }

  it('for the pair chooseWrapping picks (RSA_4096), for symmetric and RSA material', () => {
    for (const spec of ['SYMMETRIC_DEFAULT', 'RSA_2048'] as const) {
      const { algorithm, wrappingKeySpec } = chooseWrapping(spec);
      expect(wrappingKeySpec).toBe('RSA_4096');
      const key = keys.RSA_4096!;
      const material = generateKeyMaterial(spec);
      const wrapped = wrapKeyMaterial(material, { PublicKey: key.spkiDer, WrappingAlgorithm: algorithm, WrappingKeySpec: wrappingKeySpec }, spec);
      const recovered = withTempDir((dir) => opensslUnwrap(dir, key, algorithm, wrapped));
      expect(SecretBytes.take(recovered).equals(material)).toBe(true);
    }
  });

  it('uses MGF1 with the OAEP hash: openssl refuses the SHA-256 ciphertext when told MGF1 is SHA-1', () => {
    const key = keys.RSA_2048!;
    const wrapped = wrapKeyMaterial(generateKeyMaterial('SYMMETRIC_DEFAULT'), {
      PublicKey: key.spkiDer,
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
      WrappingKeySpec: 'RSA_2048',
    });
    withTempDir((dir) => {
      expect(() => pkeyutlDecrypt(dir, key, 'sha256', 'sha1', wrapped, 'mismatch')).toThrow();
      expect(pkeyutlDecrypt(dir, key, 'sha256', 'sha256', wrapped, 'match').length).toBe(32);
    });
  });
});

describe('node-forge decrypts RSAES_OAEP output', () => {
  for (const algorithm of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const) {
    it(algorithm, () => {
      const key = keys.RSA_2048!;
      const material = generateKeyMaterial('HMAC_384');
      const wrapped = wrapKeyMaterial(material, { PublicKey: key.spkiDer, WrappingAlgorithm: algorithm, WrappingKeySpec: 'RSA_2048' }, 'HMAC_384');
      expect(SecretBytes.adopt(forgeOaepDecrypt(key.forgeKey, HASH_OF[algorithm], wrapped)).equals(material)).toBe(true);
    });
  }
});
