import { createCipheriv, randomBytes } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { KeyUnwrapError, aesKeyUnwrapWithPadding } from './aes-kwp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** OpenSSL's own KWP, used only as an independent reference in these tests. */
function opensslWrapPad(kek: Buffer, data: Buffer): Buffer {
  const c = createCipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, hex('A65959A6'));
  return Buffer.concat([c.update(data), c.final()]);
}

describe('RFC 5649 AES key unwrap with padding', () => {
  // RFC 5649 section 6, both examples (192-bit KEK).
  const kek = hex('5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8');

  it('unwraps RFC 5649 section 6 example 1 (20 octets of key data)', () => {
    const wrapped = hex('138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a');
    expect(aesKeyUnwrapWithPadding(kek, wrapped).toString('hex')).toBe('c37b7e6492584340bed12207808941155068f738');
  });

  it('unwraps RFC 5649 section 6 example 2 (7 octets of key data, the single-block case)', () => {
    const wrapped = hex('afbeb0f07dfbf541 9200f2ccb50bb24f');
    expect(aesKeyUnwrapWithPadding(kek, wrapped).toString('hex')).toBe('466f7250617369');
  });

  it('the example 1 vector is the one OpenSSL id-aes192-wrap-pad produces (a check on the vector itself)', () => {
    expect(opensslWrapPad(kek, hex('c37b7e6492584340bed12207808941155068f738')).toString('hex')).toBe(
      '138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a',
    );
  });

  test.prop([fc.constantFrom(16, 24, 32), fc.uint8Array({ minLength: 1, maxLength: 600 })], { numRuns: process.env.SLOW ? 500 : 60 })(
    'unwraps whatever OpenSSL wraps, for every KEK size and length',
    (kekBytes, data) => {
      const k = randomBytes(kekBytes);
      expect(aesKeyUnwrapWithPadding(k, opensslWrapPad(k, Buffer.from(data)))).toEqual(Buffer.from(data));
    },
  );

  it('rejects a tampered ciphertext, a wrong KEK and bad lengths', () => {
    const k = randomBytes(32);
    const wrapped = opensslWrapPad(k, randomBytes(32));
    const tampered = Buffer.from(wrapped);
    tampered[10]! ^= 1;
    expect(() => aesKeyUnwrapWithPadding(k, tampered)).toThrow(KeyUnwrapError);
    expect(() => aesKeyUnwrapWithPadding(randomBytes(32), wrapped)).toThrow(KeyUnwrapError);
    expect(() => aesKeyUnwrapWithPadding(k, wrapped.subarray(0, 20))).toThrow(/multiple of 8/);
    expect(() => aesKeyUnwrapWithPadding(k, wrapped.subarray(0, 8))).toThrow(/at least 16/);
    expect(() => aesKeyUnwrapWithPadding(randomBytes(20), wrapped)).toThrow(/KEK must be/);
  });

  it('rejects a valid RFC 3394 (unpadded) wrap, whose IV is not the RFC 5649 one', () => {
    const k = randomBytes(32);
    const c = createCipheriv('id-aes256-wrap', k, hex('A6A6A6A6A6A6A6A6'));
    const wrapped = Buffer.concat([c.update(randomBytes(32)), c.final()]);
    expect(() => aesKeyUnwrapWithPadding(k, wrapped)).toThrow(/alternative IV/);
  });
});
