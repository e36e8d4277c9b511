import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBytes } from '../core/secret.js';
import {
  aesCmac,
  checkValue,
  checkValueMethods,
  defaultCheckValueMethod,
  parseCheckValue,
  publicKeyFromMaterial,
  verifyCheckValue,
} from './check-value.js';
import { generateKeyMaterial } from './generate.js';
import { thrown } from '../../test/helpers/errors.js';


const secret = (hex: string): SecretBytes => SecretBytes.adopt(new Uint8Array(Buffer.from(hex, 'hex')));
const NIST_AES256 = '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4';

describe('check value methods', () => {
  it('defaults to cmac-aes, hmac-<spec hash> and spki-sha256', () => {
    expect(defaultCheckValueMethod('SYMMETRIC_DEFAULT')).toBe('cmac-aes');
    expect(checkValueMethods('SYMMETRIC_DEFAULT')).toEqual(['cmac-aes', 'ecb-aes']);
    expect(defaultCheckValueMethod('HMAC_224')).toBe('hmac-sha224');
    expect(defaultCheckValueMethod('HMAC_512')).toBe('hmac-sha512');
    expect(defaultCheckValueMethod('RSA_4096')).toBe('spki-sha256');
    expect(defaultCheckValueMethod('ECC_SECG_P256K1')).toBe('spki-sha256');
  });
});

describe('checkValue', () => {
  it('labels the value with its method, uppercase hex, 3 bytes (cmac and ecb differ)', () => {
    const key = secret(NIST_AES256);
    const cmac = checkValue(key, 'SYMMETRIC_DEFAULT');
    const ecb = checkValue(key, 'SYMMETRIC_DEFAULT', 'ecb-aes');
    expect(cmac).toMatch(/^cmac-aes:[0-9A-F]{6}$/);
    expect(ecb).toMatch(/^ecb-aes:[0-9A-F]{6}$/);
    expect(cmac.slice(-6)).not.toBe(ecb.slice(-6));
  });

  it('is the leftmost 3 bytes of the CMAC of 16 zero bytes', () => {
    const key = randomBytes(32);
    const tag = aesCmac(key, new Uint8Array(16));
    expect(checkValue(SecretBytes.copyOf(key), 'SYMMETRIC_DEFAULT')).toBe(`cmac-aes:${Buffer.from(tag.subarray(0, 3)).toString('hex').toUpperCase()}`);
  });

  it('does not dispose or change the material', () => {
    const key = generateKeyMaterial('HMAC_256');
    const copy = key.clone();
    checkValue(key, 'HMAC_256');
    expect(key.disposed).toBe(false);
    expect(key.equals(copy)).toBe(true);
  });

  it('is the SHA-256 of the SPKI for asymmetric keys, the same SPKI as the generated public key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const material = SecretBytes.take(privateKey.export({ type: 'pkcs8', format: 'der' }));
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    expect(Buffer.from(publicKeyFromMaterial(material, 'ECC_NIST_P256'))).toEqual(spki);
    expect(checkValue(material, 'ECC_NIST_P256')).toBe(`spki-sha256:${createHash('sha256').update(spki).digest('hex').toUpperCase()}`);
  });

  it('refuses a method that does not apply to the spec, naming the valid ones', () => {
    const e = thrown(() => checkValue(generateKeyMaterial('HMAC_256'), 'HMAC_256', 'cmac-aes'));
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    expect(e.message).toBe('check value method "cmac-aes" does not apply to HMAC_256');
    expect(e.hint).toBe('valid for HMAC_256: hmac-sha256');
    expect(thrown(() => checkValue(generateKeyMaterial('HMAC_384'), 'HMAC_384', 'hmac-sha256')).code).toBe('ERR_INVALID_ARGUMENT');
  });

  it('refuses material that does not fit the spec', () => {
    const e = thrown(() => checkValue(secret('00'.repeat(16)), 'SYMMETRIC_DEFAULT'));
    expect(e.code).toBe('ERR_MATERIAL');
    expect(e.message).toBe('SYMMETRIC_DEFAULT key material must be 32 bytes, got 16');
    expect(thrown(() => checkValue(generateKeyMaterial('ECC_NIST_P256'), 'ECC_NIST_P384')).code).toBe('ERR_MATERIAL');
  });

  it('has no public key for symmetric material', () => {
    const e = thrown(() => publicKeyFromMaterial(generateKeyMaterial('SYMMETRIC_DEFAULT'), 'SYMMETRIC_DEFAULT'));
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    expect(e.message).toBe('SYMMETRIC_DEFAULT key material has no public key');
  });
});

describe('aesCmac', () => {
  it('refuses keys that are not AES keys', () => {
    expect(thrown(() => aesCmac(new Uint8Array(15), new Uint8Array(0))).message).toBe('an AES key must be 16, 24 or 32 bytes, got 15');
  });

  it('does not modify its inputs', () => {
    const key = randomBytes(32);
    const msg = randomBytes(40);
    const [k, m] = [Buffer.from(key), Buffer.from(msg)];
    aesCmac(key, msg);
    expect(key).toEqual(k);
    expect(msg).toEqual(m);
  });
});

describe('parseCheckValue', () => {
  it('normalizes to <method>:<UPPERCASE HEX>', () => {
    expect(parseCheckValue(' CMAC-AES:1a0b2d\n')).toEqual({ method: 'cmac-aes', value: '1A0B2D', text: 'cmac-aes:1A0B2D' });
    const spki = 'ab'.repeat(32);
    expect(parseCheckValue(`spki-sha256:${spki}`).text).toBe(`spki-sha256:${spki.toUpperCase()}`);
  });

  it('refuses unknown methods, naming the valid ones', () => {
    for (const text of ['1A0B2D', 'kcv:1A0B2D', 'sha1:1A0B2D']) {
      const e = thrown(() => parseCheckValue(text));
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect(e.message).toBe(`check value ${JSON.stringify(text)} has no known method`);
      expect(e.hint).toBe('write it as <method>:<hex>, method one of cmac-aes, ecb-aes, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512, spki-sha256');
    }
  });

  it('refuses values of the wrong length or not hex', () => {
    expect(thrown(() => parseCheckValue('ecb-aes:1A0B')).message).toBe('ecb-aes check value must be 6 hex digits, got "1A0B"');
    expect(thrown(() => parseCheckValue('hmac-sha256:1A0B2G')).message).toBe('hmac-sha256 check value must be 6 hex digits, got "1A0B2G"');
    expect(thrown(() => parseCheckValue('spki-sha256:1A0B2D')).message).toBe('spki-sha256 check value must be 64 hex digits, got "1A0B2D"');
  });
});

describe('verifyCheckValue', () => {
  it('accepts the right material with the expected value’s own method, and refuses other material', () => {
    const key = secret(NIST_AES256);
    // ecb-aes of this key is E568F6 (fixtures/vectors/aes-kcv.json); its cmac-aes is 1A0B2D.
    expect(() => verifyCheckValue(key, 'SYMMETRIC_DEFAULT', 'ecb-aes:e568f6')).not.toThrow();
    expect(() => verifyCheckValue(key, 'SYMMETRIC_DEFAULT', 'cmac-aes:1A0B2D')).not.toThrow();
    const e = thrown(() => verifyCheckValue(secret('00'.repeat(32)), 'SYMMETRIC_DEFAULT', 'ecb-aes:E568F6'));
    expect(e.code).toBe('ERR_CHECK_VALUE_MISMATCH');
    expect(e.message).toBe('key material check value is ecb-aes:DC95C0, expected ecb-aes:E568F6');
  });
});

describe('readable check values', () => {
  it('shows an spki-sha256 value as spki-sha256-3 and its first 3 bytes; leaves 3-byte kinds alone', async () => {
    const { readableCheckValue } = await import('./check-value.js');
    const full = `spki-sha256:${'584bb775'}${'0'.repeat(56)}`;
    expect(readableCheckValue(full)).toBe('spki-sha256-3:584BB7');
    expect(readableCheckValue('cmac-aes:1A2B3C')).toBe('cmac-aes:1A2B3C');
    expect(readableCheckValue('hmac-sha256:ABCDEF')).toBe('hmac-sha256:ABCDEF');
    // Not a full spki value: shown as stored, never cut.
    expect(readableCheckValue('spki-sha256:584BB7')).toBe('spki-sha256:584BB7');
  });
});
