/**
 * Test support for the emulator's own tests (not shipped: `*.test.*` is excluded from the package).
 *
 * Wrapping here uses node:crypto only — `publicEncrypt` with OAEP (`oaepHash` sets MGF1 too) and the
 * OpenSSL `id-aes256-wrap-pad` cipher — so it is independent of the emulator's node-forge / own RFC 5649
 * unwrap: a test passes only when two implementations agree. Like the emulator, it imports only node:*
 * (and the emulator itself); the tests build the real `KMSClient` themselves.
 */
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from './index.js';

export type Alg = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_1' | 'RSA_AES_KEY_WRAP_SHA_256';
export type WrapSpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096';
export const ALGS: readonly Alg[] = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'];
export const WRAP_SPECS: readonly WrapSpec[] = ['RSA_2048', 'RSA_3072', 'RSA_4096'];

const FIXTURES = fileURLToPath(new URL('../../fixtures/wrapping-keys/', import.meta.url));

/** The committed test-only wrapping key pairs, two per spec. */
export function testWrappingKeys(): Record<WrapSpec, string[]> {
  const read = (bits: number) => ['a', 'b'].map((s) => readFileSync(`${FIXTURES}TEST-ONLY-rsa-${bits}-${s}.pem`, 'utf8'));
  return { RSA_2048: read(2048), RSA_3072: read(3072), RSA_4096: read(4096) };
}

/** An emulator seeded with the test wrapping keys. */
export function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ wrappingKeys: testWrappingKeys(), ...options });
}

function oaep(publicKeyDer: Uint8Array, data: Uint8Array, hash: 'sha1' | 'sha256'): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: 'der', type: 'spki' });
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
}

/** Wraps `material` for import with node:crypto, as AWS's documented openssl procedure does. */
export function wrap(alg: Alg, publicKeyDer: Uint8Array, material: Uint8Array): Buffer {
  const hash = alg.endsWith('SHA_1') ? 'sha1' : 'sha256';
  if (alg.startsWith('RSAES_OAEP')) return oaep(publicKeyDer, material, hash);
  const aesKey = randomBytes(32);
  const kwp = createCipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('A65959A6', 'hex'));
  const wrapped = Buffer.concat([kwp.update(material), kwp.final()]);
  return Buffer.concat([oaep(publicKeyDer, aesKey, hash), wrapped]);
}

/** `days` days after the emulator's now. */
export function daysFrom(emu: RunningEmulator, days: number): Date {
  return new Date(emu.clock.now().getTime() + days * 86_400_000);
}
