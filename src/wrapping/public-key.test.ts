import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseWrappingPublicKey } from './public-key.js';
import { thrown } from '../../test/helpers/errors.js';


const spki = (key: { export(o: { type: 'spki'; format: 'der' }): Buffer }): Uint8Array => new Uint8Array(key.export({ type: 'spki', format: 'der' }));

let rsa2048: Uint8Array;
let rsa3072: Uint8Array;

/** The RSA_2048 test key's modulus with another public exponent, encoded by node-forge. */
function withExponent(e: string): Uint8Array {
  const key = forge.pki.publicKeyFromAsn1(forge.asn1.fromDer(Buffer.from(rsa2048).toString('binary'))) as forge.pki.rsa.PublicKey;
  const other = forge.pki.setRsaPublicKey(key.n, new forge.jsbn.BigInteger(e));
  return new Uint8Array(Buffer.from(forge.asn1.toDer(forge.pki.publicKeyToAsn1(other)).getBytes(), 'binary'));
}

beforeAll(() => {
  rsa2048 = spki(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
  rsa3072 = spki(generateKeyPairSync('rsa', { modulusLength: 3072 }).publicKey);
});

describe('parseWrappingPublicKey', () => {
  it('accepts a DER SPKI RSA key of exactly the requested size', () => {
    const k = parseWrappingPublicKey(rsa2048, 'RSA_2048');
    expect(k.modulusBits).toBe(2048);
    expect(k.publicExponent).toBe(65537n);
    expect(k.wrappingKeySpec).toBe('RSA_2048');
    expect(k.key.asymmetricKeyType).toBe('rsa');
    expect(parseWrappingPublicKey(rsa3072, 'RSA_3072').modulusBits).toBe(3072);
  });

  it('checks a key once: a known key is answered from the cache, the same bytes under another spec or changed bytes are checked afresh', () => {
    const first = parseWrappingPublicKey(rsa2048, 'RSA_2048');
    expect(parseWrappingPublicKey(rsa2048.slice(), 'RSA_2048')).toBe(first);
    expect(thrown(() => parseWrappingPublicKey(rsa2048, 'RSA_3072')).code).toBe('ERR_KMS_BAD_RESPONSE');
    const changed = rsa2048.slice();
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 1; // the exponent's last byte: 65536, even
    expect(thrown(() => parseWrappingPublicKey(changed, 'RSA_2048')).code).toBe('ERR_KMS_BAD_RESPONSE');
    expect(thrown(() => parseWrappingPublicKey(new Uint8Array([...rsa2048, 0]), 'RSA_2048')).code).toBe('ERR_KMS_BAD_RESPONSE');
  });

  it('accepts a small odd exponent such as 3', () => {
    expect(parseWrappingPublicKey(withExponent('3'), 'RSA_2048').publicExponent).toBe(3n);
  });

  const bad: [string, () => Uint8Array, string][] = [
    ['a modulus of another size', () => rsa3072, 'wrapping public key from GetParametersForImport has a 3072-bit modulus, but RSA_2048 was requested'],
    ['an empty key', () => new Uint8Array(0), 'GetParametersForImport returned no wrapping public key'],
    ['bytes that are not DER', () => new Uint8Array(64).fill(0x41), 'wrapping public key from GetParametersForImport is not a DER SubjectPublicKeyInfo'],
    ['a PEM text', () => new Uint8Array(Buffer.from(`-----BEGIN PUBLIC KEY-----\n${Buffer.from(rsa2048).toString('base64')}\n-----END PUBLIC KEY-----\n`)), 'wrapping public key from GetParametersForImport is not a DER SubjectPublicKeyInfo'],
    ['a PKCS#8 private key', () => new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'der' })), 'wrapping public key from GetParametersForImport is not a DER SubjectPublicKeyInfo'],
    ['an SPKI followed by a stray byte', () => Uint8Array.from([...rsa2048, 0]), 'wrapping public key from GetParametersForImport is not canonical DER'],
    ['an EC key', () => spki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey), 'wrapping public key from GetParametersForImport is not an RSA key (got ec)'],
    ['an RSA-PSS key', () => spki(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey), 'wrapping public key from GetParametersForImport is not an RSA key (got rsa-pss)'],
    ['an even exponent', () => withExponent('65536'), 'wrapping public key from GetParametersForImport has an unusable public exponent 65536'],
    ['the exponent 1', () => withExponent('1'), 'wrapping public key from GetParametersForImport has an unusable public exponent 1'],
    ['an exponent of 2^31 + 1', () => withExponent('2147483649'), 'wrapping public key from GetParametersForImport has an unusable public exponent 2147483649'],
  ];
  for (const [what, make, message] of bad) {
    it(`refuses ${what} with ERR_KMS_BAD_RESPONSE`, () => {
      const e = thrown(() => parseWrappingPublicKey(make(), 'RSA_2048'));
      expect(e.code).toBe('ERR_KMS_BAD_RESPONSE');
      expect(e.message).toBe(message);
      expect(e.hint).toMatch(/^request new import parameters/);
    });
  }

  it('refuses an unknown expected spec as a usage error', () => {
    expect(thrown(() => parseWrappingPublicKey(rsa2048, 'RSA_1024' as never)).code).toBe('ERR_INVALID_ARGUMENT');
  });
});
