/**
 * Check values against published vectors (NIST SP 800-38B CMAC examples, a published AES KCV) and against
 * the openssl command line (CMAC, ECB, HMAC and SPKI hashes) for random keys.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBytes } from '../../src/core/secret.js';
import { aesCmac, checkValue, cmacKcv, ecbKcv } from '../../src/material/check-value.js';
import { generateKeyMaterial } from '../../src/material/generate.js';
import { hex, loadFixture, openssl, toHexString, withTempDir } from './helpers.js';

interface CmacFixture {
  message: string;
  vectors: { name: string; key: string; messageBytes: number; tag: string }[];
}
interface KcvFixture {
  vectors: { name: string; source: string; method: 'ecb-aes' | 'cmac-aes'; key: string; block: string; kcv: string }[];
}

const cmac = loadFixture<CmacFixture>('aes-cmac.json');
const kcv = loadFixture<KcvFixture>('aes-kcv.json');

describe('AES-CMAC known answers (NIST SP 800-38B Appendix D / RFC 4493)', () => {
  it('has the twelve examples, four for AES-256', () => {
    expect(cmac.vectors).toHaveLength(12);
    expect(cmac.vectors.filter((v) => hex(v.key).length === 32)).toHaveLength(4);
  });

  for (const v of cmac.vectors) {
    it(v.name, () => {
      const message = hex(cmac.message).subarray(0, v.messageBytes);
      expect(toHexString(aesCmac(hex(v.key), message))).toBe(v.tag);
    });
  }
});

describe('key check values', () => {
  for (const v of kcv.vectors) {
    it(`${v.name} (${v.source.split(':')[0]})`, () => {
      const key = hex(v.key);
      const value = v.method === 'ecb-aes' ? ecbKcv(key) : cmacKcv(key);
      expect(toHexString(value).toUpperCase()).toBe(v.kcv);
      expect(v.block.slice(0, 6).toUpperCase()).toBe(v.kcv);
      if (key.length === 32) expect(checkValue(SecretBytes.copyOf(key), 'SYMMETRIC_DEFAULT', v.method)).toBe(`${v.method}:${v.kcv}`);
    });
  }
});

describe('agreement with openssl for random keys', () => {
  it('cmac-aes equals openssl mac -cipher AES-256-CBC CMAC over 16 zero bytes; ecb-aes equals openssl enc -aes-256-ecb -nopad', () => {
    withTempDir((dir) => {
      const zero = dir.write('zero.bin', new Uint8Array(16));
      for (let i = 0; i < 4; i++) {
        const key = generateKeyMaterial('SYMMETRIC_DEFAULT');
        const keyHex = key.use((k) => toHexString(k));
        const mac = openssl(['mac', '-cipher', 'AES-256-CBC', '-macopt', `hexkey:${keyHex}`, '-in', zero, 'CMAC']).toString().trim();
        expect(checkValue(key, 'SYMMETRIC_DEFAULT')).toBe(`cmac-aes:${mac.slice(0, 6)}`);
        const ecb = openssl(['enc', '-aes-256-ecb', '-nopad', '-K', keyHex, '-in', zero]);
        expect(ecb.length).toBe(16);
        expect(checkValue(key, 'SYMMETRIC_DEFAULT', 'ecb-aes')).toBe(`ecb-aes:${ecb.subarray(0, 3).toString('hex').toUpperCase()}`);
      }
    });
  });

  it('aesCmac equals openssl for messages of every boundary length and all AES key sizes', () => {
    withTempDir((dir) => {
      for (const [keyBytes, cipher] of [[16, 'AES-128-CBC'], [24, 'AES-192-CBC'], [32, 'AES-256-CBC']] as const) {
        for (const n of [0, 1, 15, 16, 17, 31, 32, 33, 48, 70]) {
          const key = randomBytes(keyBytes);
          const msg = randomBytes(n);
          const path = dir.write(`m-${keyBytes}-${n}.bin`, msg);
          const theirs = openssl(['mac', '-cipher', cipher, '-macopt', `hexkey:${key.toString('hex')}`, '-in', path, 'CMAC']).toString().trim();
          expect(toHexString(aesCmac(key, msg)).toUpperCase()).toBe(theirs);
        }
      }
    });
  });

  it('hmac-sha* equals openssl mac HMAC over 16 zero bytes with the spec’s hash', () => {
    withTempDir((dir) => {
      const zero = dir.write('zero.bin', new Uint8Array(16));
      for (const [spec, digest] of [['HMAC_224', 'SHA224'], ['HMAC_256', 'SHA256'], ['HMAC_384', 'SHA384'], ['HMAC_512', 'SHA512']] as const) {
        const key = generateKeyMaterial(spec);
        const keyHex = key.use((k) => toHexString(k));
        const mac = openssl(['mac', '-digest', digest, '-macopt', `hexkey:${keyHex}`, '-in', zero, 'HMAC']).toString().trim();
        expect(checkValue(key, spec)).toBe(`hmac-${digest.toLowerCase()}:${mac.slice(0, 6)}`);
      }
    });
  });

  it('spki-sha256 equals the SHA-256 of openssl pkey -pubout -outform DER', () => {
    withTempDir((dir) => {
      for (const spec of ['RSA_2048', 'ECC_NIST_P384', 'ECC_SECG_P256K1'] as const) {
        const material = generateKeyMaterial(spec);
        const path = material.use((d) => dir.write(`${spec}.der`, d));
        const spki = openssl(['pkey', '-inform', 'DER', '-in', path, '-pubout', '-outform', 'DER']);
        expect(checkValue(material, spec)).toBe(`spki-sha256:${createHash('sha256').update(spki).digest('hex').toUpperCase()}`);
      }
    });
  });
});
