/** RFC 5649 section 6 known answers for AES Key Wrap with Padding, and agreement with the openssl command line. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aesKeyWrapPad } from '../../src/wrapping/index.js';
import { hex, kwpUnwrap, loadFixture, openssl, toHexString, withTempDir } from './helpers.js';

interface KwpFixture {
  source: string;
  vectors: { name: string; kek: string; keyData: string; wrapped: string }[];
}
const fixture = loadFixture<KwpFixture>('rfc5649-kwp.json');

describe('AES-KWP known answers (RFC 5649 section 6)', () => {
  it('has both RFC examples', () => {
    expect(fixture.vectors.map((v) => hex(v.keyData).length)).toEqual([20, 7]);
  });

  for (const v of fixture.vectors) {
    it(`aesKeyWrapPad: ${v.name}`, () => {
      expect(toHexString(aesKeyWrapPad(hex(v.kek), hex(v.keyData)))).toBe(v.wrapped);
    });

    it(`the test-only unwrap oracle: ${v.name}`, () => {
      expect(toHexString(kwpUnwrap(hex(v.kek), hex(v.wrapped))!)).toBe(v.keyData);
    });
  }

  it('the test-only unwrap oracle refuses a tampered or wrongly keyed ciphertext', () => {
    for (const v of fixture.vectors) {
      const tampered = hex(v.wrapped);
      tampered[tampered.length - 1]! ^= 1;
      expect(kwpUnwrap(hex(v.kek), tampered)).toBeUndefined();
      const otherKek = hex(v.kek);
      otherKek[0]! ^= 1;
      expect(kwpUnwrap(otherKek, hex(v.wrapped))).toBeUndefined();
    }
  });
});

describe('AES-KWP agrees with openssl enc -id-aes256-wrap-pad', () => {
  it.each([1, 7, 8, 9, 32, 241, 1218])('for %i bytes of key data under a 256-bit KEK', (n) => {
    const kek = randomBytes(32);
    const data = randomBytes(n);
    const ours = aesKeyWrapPad(kek, data);
    withTempDir((dir) => {
      const input = dir.write('data.bin', data);
      const theirs = openssl(['enc', '-id-aes256-wrap-pad', '-K', kek.toString('hex'), '-iv', 'A65959A6', '-in', input]);
      expect(toHexString(ours)).toBe(theirs.toString('hex'));
    });
  });
});
