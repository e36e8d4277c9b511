import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { openssl, withTempDir } from '../../test/vectors/helpers.js';
import type { SecretBytes } from '../core/secret.js';
import { parseMaterial } from './parse.js';
import { thrown } from '../../test/helpers/errors.js';


const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const bytesOf = (s: SecretBytes): Buffer => s.use((b) => Buffer.from(b));

/** Random bytes that are certainly not all printable (so they are read as raw bytes). */
function rawBytes(n: number): Uint8Array {
  const b = new Uint8Array(randomBytes(n));
  b[0] = 0x00;
  return b;
}

/** Keys made by the openssl command line, as a custodian would bring them. */
const keys: Record<string, Uint8Array> = {};
/** The PKCS#8 DER openssl gives for the PEM keys above. */
const der: Record<string, Uint8Array> = {};

beforeAll(() => {
  withTempDir((dir) => {
    const gen = (name: string, args: string[]): void => {
      openssl([...args, '-out', dir.file(name)]);
      keys[name] = dir.read(name);
    };
    gen('rsa2048.pem', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    gen('p256.pem', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    gen('p384.pem', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']);
    gen('k1.pem', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1']);
    gen('ed25519.pem', ['genpkey', '-algorithm', 'ED25519']);
    gen('pss.pem', ['genpkey', '-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048']);
    gen('ecparam.pem', ['ecparam', '-name', 'prime256v1', '-genkey']);
    gen('encrypted.pem', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-passout', 'pass:x', '-in', dir.file('p256.pem')]);
    gen('encrypted.der', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-passout', 'pass:x', '-in', dir.file('p256.pem'), '-outform', 'DER']);
    gen('pkcs1.pem', ['rsa', '-traditional', '-in', dir.file('rsa2048.pem')]);
    gen('pkcs1.der', ['rsa', '-traditional', '-in', dir.file('rsa2048.pem'), '-outform', 'DER']);
    gen('pkcs1-encrypted.pem', ['rsa', '-traditional', '-aes256', '-passout', 'pass:x', '-in', dir.file('rsa2048.pem')]);
    gen('sec1.pem', ['ec', '-in', dir.file('p256.pem')]);
    gen('sec1.der', ['ec', '-in', dir.file('p256.pem'), '-outform', 'DER']);
    gen('explicit.pem', ['pkey', '-ec_param_enc', 'explicit', '-in', dir.file('p384.pem')]);
    gen('public.pem', ['pkey', '-pubout', '-in', dir.file('p256.pem')]);
    gen('public.der', ['pkey', '-pubout', '-in', dir.file('p256.pem'), '-outform', 'DER']);
    for (const name of ['rsa2048', 'p256', 'p384', 'k1']) {
      openssl(['pkcs8', '-topk8', '-nocrypt', '-in', dir.file(`${name}.pem`), '-outform', 'DER', '-out', dir.file(`${name}.der`)]);
      der[name] = dir.read(`${name}.der`);
    }
  });
}, 60_000);

describe('parseMaterial: symmetric and HMAC key material', () => {
  const key = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');

  it('accepts 32 raw bytes, leaving the caller buffer untouched and unshared', () => {
    const input = rawBytes(32);
    const before = Buffer.from(input);
    const secret = parseMaterial(input, 'SYMMETRIC_DEFAULT');
    expect(bytesOf(secret)).toEqual(before);
    expect(Buffer.from(input)).toEqual(before);
    input.fill(7);
    expect(bytesOf(secret)).toEqual(before);
    secret.dispose();
    expect(input.every((b) => b === 7)).toBe(true);
  });

  it('accepts hex text, upper or lower case, with surrounding or inner whitespace', () => {
    for (const form of [key.toString('hex'), `${key.toString('hex').toUpperCase()}\n`, `  ${key.toString('hex').replace(/(.{8})/g, '$1 ')}\r\n`]) {
      const input = text(form);
      const before = Buffer.from(input);
      expect(bytesOf(parseMaterial(input, 'SYMMETRIC_DEFAULT'))).toEqual(key);
      expect(Buffer.from(input)).toEqual(before);
    }
  });

  it('accepts standard base64 text, padded or not', () => {
    expect(bytesOf(parseMaterial(text(`${key.toString('base64')}\n`), 'SYMMETRIC_DEFAULT'))).toEqual(key);
    expect(bytesOf(parseMaterial(text(key.toString('base64').replace(/=+$/, '')), 'SYMMETRIC_DEFAULT'))).toEqual(key);
  });

  it('reads all-hex-digit text as hex, never falling back to base64 (64 hex digits are not a 48-byte HMAC_384 key)', () => {
    const e = thrown(() => parseMaterial(text(key.toString('hex')), 'HMAC_384'));
    expect(e.code).toBe('ERR_MATERIAL');
    expect(e.message).toBe('HMAC_384 key material must be 48 to 128 bytes, got 32 (decoded from hex)');
  });

  it('refuses the wrong length, saying what it got and how it was read', () => {
    const cases: [Uint8Array, string][] = [
      [rawBytes(16), 'SYMMETRIC_DEFAULT key material must be 32 bytes, got 16'],
      [rawBytes(33), 'SYMMETRIC_DEFAULT key material must be 32 bytes, got 33'],
      [text(key.subarray(0, 16).toString('hex')), 'SYMMETRIC_DEFAULT key material must be 32 bytes, got 16 (decoded from hex)'],
      [text(Buffer.alloc(24, 1).toString('base64')), 'SYMMETRIC_DEFAULT key material must be 32 bytes, got 24 (decoded from base64)'],
    ];
    for (const [input, message] of cases) {
      const e = thrown(() => parseMaterial(input, 'SYMMETRIC_DEFAULT'));
      expect(e.code).toBe('ERR_MATERIAL');
      expect(e.message).toBe(message);
      expect(e.hint).toBe('give exactly 32 raw bytes, 64 hex digits or the base64 of 32 bytes');
    }
  });

  it('holds the documented HMAC ranges at both ends', () => {
    const ranges: [string, number, number][] = [
      ['HMAC_224', 28, 64],
      ['HMAC_256', 32, 64],
      ['HMAC_384', 48, 128],
      ['HMAC_512', 64, 128],
    ];
    for (const [spec, min, max] of ranges) {
      expect(parseMaterial(rawBytes(min), spec as never).length).toBe(min);
      expect(parseMaterial(rawBytes(max), spec as never).length).toBe(max);
      for (const bad of [min - 1, max + 1]) {
        const e = thrown(() => parseMaterial(rawBytes(bad), spec as never));
        expect(e.code).toBe('ERR_MATERIAL');
        expect(e.message).toBe(`${spec} key material must be ${min} to ${max} bytes, got ${bad}`);
        expect(e.hint).toBe(`give ${min} to ${max} raw bytes for ${spec}, or the same as hex or base64`);
      }
    }
  });

  it('refuses printable text that is neither hex nor base64 (a passphrase is not key material)', () => {
    const e = thrown(() => parseMaterial(text('correct horse battery staple!!!!'), 'SYMMETRIC_DEFAULT'));
    expect(e.code).toBe('ERR_MATERIAL');
    expect(e.message).toBe('key material looks like text but is neither hex nor base64');
    // A passphrase of letters only is valid base64, and then fails on its length.
    expect(thrown(() => parseMaterial(text('correcthorsebatterystaplexyzabcd'), 'SYMMETRIC_DEFAULT')).message).toBe(
      'SYMMETRIC_DEFAULT key material must be 32 bytes, got 24 (decoded from base64)',
    );
  });

  it('refuses non-canonical or misplaced base64 padding', () => {
    const good = Buffer.alloc(32, 0xab).toString('base64'); // ends in "="
    expect(thrown(() => parseMaterial(text(`${good.slice(0, -2)}B=`), 'SYMMETRIC_DEFAULT')).message).toBe(
      'key material looks like text but is neither hex nor base64',
    );
    expect(thrown(() => parseMaterial(text(`=${good.slice(0, -1)}`), 'SYMMETRIC_DEFAULT')).message).toBe(
      'key material looks like text but is neither hex nor base64',
    );
  });

  it('refuses empty input', () => {
    const e = thrown(() => parseMaterial(new Uint8Array(0), 'HMAC_256'));
    expect(e.code).toBe('ERR_MATERIAL');
    expect(e.message).toBe('key material is empty');
  });

  it('refuses specs that cannot be imported', () => {
    expect(thrown(() => parseMaterial(rawBytes(32), 'SM2')).code).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('parseMaterial: RSA and ECC key material', () => {
  it('accepts a PEM made by openssl genpkey for RSA and EC, giving its PKCS#8 DER', () => {
    const cases: [string, string, string][] = [
      ['rsa2048.pem', 'rsa2048', 'RSA_2048'],
      ['p256.pem', 'p256', 'ECC_NIST_P256'],
      ['p384.pem', 'p384', 'ECC_NIST_P384'],
      ['k1.pem', 'k1', 'ECC_SECG_P256K1'],
    ];
    for (const [pem, name, spec] of cases) {
      const input = keys[pem]!;
      const before = Buffer.from(input);
      expect(bytesOf(parseMaterial(input, spec as never))).toEqual(Buffer.from(der[name]!));
      expect(Buffer.from(input)).toEqual(before);
    }
  });

  it('accepts PKCS#8 DER, keeping the bytes exactly', () => {
    expect(bytesOf(parseMaterial(der.p256!, 'ECC_NIST_P256'))).toEqual(Buffer.from(der.p256!));
    expect(bytesOf(parseMaterial(der.rsa2048!, 'RSA_2048'))).toEqual(Buffer.from(der.rsa2048!));
  });

  it('accepts PKCS#8 made by node:crypto for P-521 and RSA_3072', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(parseMaterial(ec, 'ECC_NIST_P521').length).toBe(ec.length);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(parseMaterial(text(rsa.toString()), 'RSA_3072').use((d) => d[0])).toBe(0x30);
  });

  it('refuses the wrong modulus size, naming the spec that fits', () => {
    const e = thrown(() => parseMaterial(keys['rsa2048.pem']!, 'RSA_3072'));
    expect(e.code).toBe('ERR_MATERIAL');
    expect(e.message).toBe('key material is a 2048-bit RSA key, but RSA_3072 needs 3072 bits');
    expect(e.hint).toBe('create the KMS key with key spec RSA_2048, or give a 3072-bit key');
  });

  it('refuses the wrong curve, naming the spec that fits', () => {
    const e = thrown(() => parseMaterial(keys['p384.pem']!, 'ECC_NIST_P256'));
    expect(e.code).toBe('ERR_MATERIAL');
    expect(e.message).toBe('key material is on curve secp384r1, but ECC_NIST_P256 needs P-256 (prime256v1)');
    expect(e.hint).toBe('create the KMS key with key spec ECC_NIST_P384, or give a P-256 key');
    expect(thrown(() => parseMaterial(keys['k1.pem']!, 'ECC_NIST_P256')).message).toBe(
      'key material is on curve secp256k1, but ECC_NIST_P256 needs P-256 (prime256v1)',
    );
  });

  it('refuses the wrong key type', () => {
    expect(thrown(() => parseMaterial(keys['p256.pem']!, 'RSA_2048')).message).toBe(
      'key material is an EC key, but RSA_2048 needs an RSA (rsaEncryption) key',
    );
    expect(thrown(() => parseMaterial(keys['rsa2048.pem']!, 'ECC_NIST_P256')).message).toBe(
      'key material is an RSA key, but ECC_NIST_P256 needs an EC key',
    );
    expect(thrown(() => parseMaterial(keys['ed25519.pem']!, 'ECC_NIST_P256')).message).toBe(
      'key material is an Ed25519 key, but ECC_NIST_P256 needs an EC key',
    );
    expect(thrown(() => parseMaterial(keys['pss.pem']!, 'RSA_2048')).message).toBe(
      'key material is an RSA-PSS (id-RSASSA-PSS) key, but RSA_2048 needs an RSA (rsaEncryption) key',
    );
  });

  it('refuses EC keys with explicit curve parameters', () => {
    const e = thrown(() => parseMaterial(keys['explicit.pem']!, 'ECC_NIST_P384'));
    expect(e.code).toBe('ERR_MATERIAL');
    expect(e.message).toBe('key material uses explicit EC parameters, not a named curve');
    expect(e.hint).toContain('-ec_param_enc named_curve');
  });

  it('refuses an encrypted PKCS#8 key (openssl pkcs8 -topk8 -v2 aes-256-cbc), PEM or DER, saying how to decrypt it', () => {
    for (const name of ['encrypted.pem', 'encrypted.der']) {
      const e = thrown(() => parseMaterial(keys[name]!, 'ECC_NIST_P256'));
      expect(e.code).toBe('ERR_MATERIAL');
      expect(e.message).toBe('key material is an encrypted PKCS#8 private key');
      expect(e.hint).toMatch(/^decrypt it first: openssl pkcs8 -in key\.pem -outform DER -out key\.der/);
    }
  });

  it('refuses PKCS#1 and SEC1 keys, PEM or DER, saying how to convert them', () => {
    const cases: [string, string, string][] = [
      ['pkcs1.pem', 'RSA_2048', 'key material is a PKCS#1 RSA private key, not PKCS#8'],
      ['pkcs1.der', 'RSA_2048', 'key material is a PKCS#1 RSA private key, not PKCS#8'],
      ['sec1.pem', 'ECC_NIST_P256', 'key material is a SEC1 EC private key, not PKCS#8'],
      ['sec1.der', 'ECC_NIST_P256', 'key material is a SEC1 EC private key, not PKCS#8'],
      ['ecparam.pem', 'ECC_NIST_P256', 'key material is a SEC1 EC private key, not PKCS#8'],
      ['pkcs1-encrypted.pem', 'RSA_2048', 'key material is a PKCS#1 RSA private key, encrypted, not PKCS#8'],
    ];
    for (const [name, spec, message] of cases) {
      const e = thrown(() => parseMaterial(keys[name]!, spec as never));
      expect(e.code).toBe('ERR_MATERIAL');
      expect(e.message).toBe(message);
      expect(e.hint).toContain('openssl pkcs8 -topk8 -nocrypt -in key.pem -outform DER -out key.der');
    }
  });

  it('refuses public keys', () => {
    expect(thrown(() => parseMaterial(keys['public.pem']!, 'ECC_NIST_P256')).message).toBe('PEM input holds no private key (found PUBLIC KEY)');
    expect(thrown(() => parseMaterial(keys['public.der']!, 'ECC_NIST_P256')).message).toBe('key material is a public key, not a private key');
  });

  it('refuses unparseable input', () => {
    const cases: [Uint8Array, string][] = [
      [rawBytes(100), 'key material is not a PKCS#8 private key'],
      [Uint8Array.from([...der.p256!, 0x00]), 'key material is not a PKCS#8 private key'],
      [der.p256!.subarray(0, der.p256!.length - 1), 'key material is not a PKCS#8 private key'],
      [text('-----BEGIN PRIVATE KEY-----\nnot*base64\n-----END PRIVATE KEY-----\n'), 'PEM private key body is not valid base64'],
      [text('-----BEGIN PRIVATE KEY-----\nMIIB\n'), 'PEM input holds no private key (found no complete PEM block)'],
      [new Uint8Array([...keys['p256.pem']!, ...keys['p256.pem']!]), 'PEM input holds 2 private keys'],
    ];
    for (const [input, message] of cases) {
      const e = thrown(() => parseMaterial(input, 'ECC_NIST_P256'));
      expect(e.code).toBe('ERR_MATERIAL');
      expect(e.message).toBe(message);
    }
  });

  it('refuses a well-formed PKCS#8 structure that holds no readable key', () => {
    // SEQUENCE { INTEGER 0, SEQUENCE { OID id-ecPublicKey, OID prime256v1 }, OCTET STRING { 01 02 } }
    const bogus = Buffer.from('3019020100301306072a8648ce3d020106082a8648ce3d030107' + '04020102', 'hex');
    bogus[1] = bogus.length - 2;
    const e = thrown(() => parseMaterial(bogus, 'ECC_NIST_P256'));
    expect(e.message).toBe('key material is a PKCS#8 structure that cannot be read as a private key');
  });
});
