import { constants, generateKeyPairSync, privateDecrypt, randomBytes, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { KmsByokError } from '../core/errors.js';
import { oaepMaxPlaintextBytes, rsaesOaepEncrypt } from './rsaes-oaep.js';

let publicKey: KeyObject;
let privateKey: KeyObject;

beforeAll(() => {
  ({ publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
});

/** OpenSSL's OAEP decryption (a different operation from the encryption under test; node-forge and the openssl CLI check it in test/vectors). */
const decrypt = (hash: 'sha1' | 'sha256', c: Uint8Array): Buffer =>
  privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, c);

describe('rsaesOaepEncrypt', () => {
  it('computes the RFC 8017 limit k - 2hLen - 2', () => {
    expect(oaepMaxPlaintextBytes(2048, 'sha256')).toBe(190);
    expect(oaepMaxPlaintextBytes(2048, 'sha1')).toBe(214);
    expect(oaepMaxPlaintextBytes(3072, 'sha256')).toBe(318);
    expect(oaepMaxPlaintextBytes(4096, 'sha256')).toBe(446);
  });

  for (const hash of ['sha1', 'sha256'] as const) {
    it(`encrypts up to the limit with ${hash} (one modulus-sized block, fresh randomness each time)`, () => {
      const max = oaepMaxPlaintextBytes(2048, hash);
      const m = randomBytes(max);
      const c1 = rsaesOaepEncrypt(publicKey, hash, m);
      const c2 = rsaesOaepEncrypt(publicKey, hash, m);
      expect(c1.length).toBe(256);
      expect(Buffer.from(c1)).not.toEqual(Buffer.from(c2));
      expect(decrypt(hash, c1)).toEqual(m);
    });

    it(`refuses one byte more than the limit with ${hash}`, () => {
      const max = oaepMaxPlaintextBytes(2048, hash);
      try {
        rsaesOaepEncrypt(publicKey, hash, new Uint8Array(max + 1));
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(KmsByokError);
        const err = e as KmsByokError;
        const alg = hash === 'sha1' ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256';
        expect(err.code).toBe('ERR_INVALID_COMBINATION');
        expect(err.message).toBe(`key material of ${max + 1} bytes is too long for ${alg} with a 2048-bit wrapping key (at most ${max})`);
      }
    });
  }
});
