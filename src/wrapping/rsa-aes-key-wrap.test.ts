import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { forgeOaepDecrypt, kwpUnwrap, makeWrappingKey, type TestWrappingKey } from '../../test/vectors/helpers.js';
import { KmsByokError } from '../core/errors.js';
import { aesKeyWrapPad, rsaAesKeyWrap, rsaAesKeyWrapWithKey } from './rsa-aes-key-wrap.js';

let wk: TestWrappingKey;

beforeAll(() => {
  wk = makeWrappingKey('RSA_2048');
});

const publicKeyOf = (k: TestWrappingKey) => k.privateKey; // publicEncrypt accepts the private KeyObject too

describe('aesKeyWrapPad', () => {
  it('accepts 16-, 24- and 32-byte KEKs and refuses others', () => {
    for (const n of [16, 24, 32]) {
      const kek = randomBytes(n);
      const p = randomBytes(20);
      expect(Buffer.from(kwpUnwrap(kek, aesKeyWrapPad(kek, p))!)).toEqual(p);
    }
    for (const n of [0, 8, 31, 33, 64]) {
      try {
        aesKeyWrapPad(new Uint8Array(n), new Uint8Array(8));
        expect.unreachable();
      } catch (e) {
        expect((e as KmsByokError).code).toBe('ERR_INVALID_ARGUMENT');
        expect((e as KmsByokError).message).toBe(`an AES key-wrap key must be 16, 24 or 32 bytes, got ${n}`);
      }
    }
  });

  it('refuses an empty plaintext', () => {
    expect(() => aesKeyWrapPad(new Uint8Array(32), new Uint8Array(0))).toThrow('key wrap input must be 1 to 65536 bytes, got 0');
  });

  it('pads to a multiple of 8 and adds one semiblock', () => {
    const kek = randomBytes(32);
    expect(aesKeyWrapPad(kek, new Uint8Array(1)).length).toBe(16);
    expect(aesKeyWrapPad(kek, new Uint8Array(8)).length).toBe(16);
    expect(aesKeyWrapPad(kek, new Uint8Array(9)).length).toBe(24);
    expect(aesKeyWrapPad(kek, new Uint8Array(1218)).length).toBe(1232);
  });
});

describe('rsaAesKeyWrapWithKey (the seam)', () => {
  it('is OAEP(ephemeral key) ‖ KWP(material), and zeroes the ephemeral key it was given', () => {
    const ephemeral = randomBytes(32);
    const copy = Buffer.from(ephemeral);
    const material = randomBytes(1218);
    const out = rsaAesKeyWrapWithKey(publicKeyOf(wk), 'sha256', material, ephemeral);
    expect(ephemeral.every((b) => b === 0)).toBe(true);
    expect(out.length).toBe(256 + 1232);
    expect(Buffer.from(forgeOaepDecrypt(wk.forgeKey, 'sha256', out.subarray(0, 256)))).toEqual(copy);
    expect(Buffer.from(kwpUnwrap(copy, out.subarray(256))!)).toEqual(material);
  });

  it('zeroes the ephemeral key when wrapping fails', () => {
    const ephemeral = randomBytes(32);
    expect(() => rsaAesKeyWrapWithKey(publicKeyOf(wk), 'sha1', new Uint8Array(0), ephemeral)).toThrow(KmsByokError);
    expect(ephemeral.every((b) => b === 0)).toBe(true);
  });

  it('refuses an ephemeral key that is not 32 bytes (and zeroes it)', () => {
    const ephemeral = randomBytes(16);
    expect(() => rsaAesKeyWrapWithKey(publicKeyOf(wk), 'sha1', new Uint8Array(1), ephemeral)).toThrow('ephemeral AES key must be 32 bytes, got 16');
    expect(ephemeral.every((b) => b === 0)).toBe(true);
  });
});

describe('rsaAesKeyWrap', () => {
  it('uses a fresh AES key each time and wraps material longer than one OAEP block', () => {
    const material = new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'der' }));
    const a = rsaAesKeyWrap(publicKeyOf(wk), 'sha1', material);
    const b = rsaAesKeyWrap(publicKeyOf(wk), 'sha1', material);
    const keyA = forgeOaepDecrypt(wk.forgeKey, 'sha1', a.subarray(0, 256));
    const keyB = forgeOaepDecrypt(wk.forgeKey, 'sha1', b.subarray(0, 256));
    expect(Buffer.from(keyA)).not.toEqual(Buffer.from(keyB));
    expect(Buffer.from(kwpUnwrap(keyA, a.subarray(256))!)).toEqual(Buffer.from(material));
    expect(Buffer.from(kwpUnwrap(keyB, b.subarray(256))!)).toEqual(Buffer.from(material));
  });
});
