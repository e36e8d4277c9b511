import { describe, expect, it } from 'vitest';
import { openssl, withTempDir } from '../../test/vectors/helpers.js';
import { KmsByokError } from '../core/errors.js';
import { generateKeyMaterial } from './generate.js';
import { IMPORTABLE_KEY_SPECS, keySpecInfo } from './key-specs.js';
import { parseMaterial } from './parse.js';

describe('generateKeyMaterial', () => {
  it('makes 32 random bytes for SYMMETRIC_DEFAULT, different each time', () => {
    const a = generateKeyMaterial('SYMMETRIC_DEFAULT');
    const b = generateKeyMaterial('SYMMETRIC_DEFAULT');
    expect(a.length).toBe(32);
    expect(a.equals(b)).toBe(false);
    expect(a.use((x) => x.some((v) => v !== 0))).toBe(true);
  });

  it('makes HMAC keys of the digest length (the minimum AWS accepts)', () => {
    expect(generateKeyMaterial('HMAC_224').length).toBe(28);
    expect(generateKeyMaterial('HMAC_256').length).toBe(32);
    expect(generateKeyMaterial('HMAC_384').length).toBe(48);
    expect(generateKeyMaterial('HMAC_512').length).toBe(64);
  });

  // openssl reads every generated asymmetric key and reports its size or curve: an independent check that
  // the DER is an unencrypted PKCS#8 key of the right kind.
  const expectations: Record<string, RegExp> = {
    RSA_2048: /Private-Key: \(2048 bit, 2 primes\)/,
    RSA_3072: /Private-Key: \(3072 bit, 2 primes\)/,
    RSA_4096: /Private-Key: \(4096 bit, 2 primes\)/,
    ECC_NIST_P256: /ASN1 OID: prime256v1/,
    ECC_NIST_P384: /ASN1 OID: secp384r1/,
    ECC_NIST_P521: /ASN1 OID: secp521r1/,
    ECC_SECG_P256K1: /ASN1 OID: secp256k1/,
  };
  for (const [spec, pattern] of Object.entries(expectations)) {
    it(`makes an unencrypted PKCS#8 DER key for ${spec} that openssl reads as such`, () => {
      const material = generateKeyMaterial(spec as never);
      const text = withTempDir((dir) => {
        const path = material.use((der) => dir.write('key.der', der));
        // -passin with a wrong password proves no password is needed: openssl would fail on an encrypted key.
        return openssl(['pkey', '-inform', 'DER', '-in', path, '-passin', 'pass:', '-noout', '-text']).toString();
      });
      expect(text).toMatch(pattern);
      // And our own parser accepts it for the spec (and only as DER PKCS#8).
      expect(material.use((der) => der[0])).toBe(0x30);
      expect(parseMaterial(material.use((d) => Uint8Array.from(d)), spec as never).equals(material)).toBe(true);
    });
  }

  it('covers every importable spec', () => {
    const covered = ['SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', ...Object.keys(expectations)];
    expect([...IMPORTABLE_KEY_SPECS].sort()).toEqual(covered.sort());
  });

  it('refuses specs that cannot be imported, with their reason', () => {
    try {
      generateKeyMaterial('ML_DSA_65');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KmsByokError);
      expect((e as KmsByokError).code).toBe('ERR_INVALID_ARGUMENT');
      expect((e as KmsByokError).hint).toBe((keySpecInfo('ML_DSA_65') as { reason: string }).reason);
    }
  });
});
