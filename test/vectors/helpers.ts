/**
 * Test-only oracles that do not share code with kms-byok's wrapping: an RFC 5649 unwrap written from the
 * RFC over raw AES-ECB decryption, node-forge's RSA-OAEP decryption, and the openssl command line. Also
 * fixture loading and a 0700 temp directory whose files are written 0600 and removed afterwards.
 */

import { execFileSync } from 'node:child_process';
import { createDecipheriv, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import type { WrappingAlgorithm, WrappingKeySpec } from '../../src/core/aws-names.js';

export function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

export function toHexString(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

const FIXTURES = new URL('../../fixtures/vectors/', import.meta.url);

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

/** Runs openssl with `args`, returning stdout. Throws with stderr on failure. */
export function openssl(args: string[], input?: Uint8Array): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * Runs `fn` with a fresh 0700 directory, in which {@link TempDir.write} creates files with mode 0600
 * (create-only), and removes the directory afterwards whatever happens.
 */
export function withTempDir<T>(fn: (dir: TempDir) => T): T {
  const path = mkdtempSync(join(tmpdir(), 'kms-byok-test-'));
  chmodSync(path, 0o700);
  try {
    return fn({
      path,
      file: (name) => join(path, name),
      write(name, data) {
        const p = join(path, name);
        writeFileSync(p, data, { mode: 0o600, flag: 'wx' });
        return p;
      },
      read: (name) => new Uint8Array(readFileSync(join(path, name))),
    });
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

export interface TempDir {
  readonly path: string;
  file(name: string): string;
  write(name: string, data: Uint8Array | string): string;
  read(name: string): Uint8Array;
}

/** An RSA key pair for a wrapping key spec, as KMS would hold it: the DER SPKI is what GetParametersForImport returns. */
export interface TestWrappingKey {
  readonly wrappingKeySpec: WrappingKeySpec;
  readonly privateKey: KeyObject;
  readonly privatePem: string;
  readonly spkiDer: Uint8Array;
  readonly forgeKey: forge.pki.rsa.PrivateKey;
}

const BITS: Record<WrappingKeySpec, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

export function makeWrappingKey(wrappingKeySpec: WrappingKeySpec): TestWrappingKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: BITS[wrappingKeySpec] });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    wrappingKeySpec,
    privateKey,
    privatePem,
    spkiDer: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    forgeKey: forge.pki.privateKeyFromPem(privatePem) as forge.pki.rsa.PrivateKey,
  };
}

/** RSAES-OAEP decryption by node-forge (pure JavaScript, independent of OpenSSL), MGF1 with the same hash. */
export function forgeOaepDecrypt(key: forge.pki.rsa.PrivateKey, hash: 'sha1' | 'sha256', ciphertext: Uint8Array): Uint8Array {
  const md = () => (hash === 'sha1' ? forge.md.sha1.create() : forge.md.sha256.create());
  const plain = key.decrypt(Buffer.from(ciphertext).toString('binary'), 'RSA-OAEP', { md: md(), mgf1: { md: md() } });
  return new Uint8Array(Buffer.from(plain, 'binary'));
}

function aesEcbDecryptBlock(kek: Uint8Array, block: Uint8Array): Uint8Array {
  const name = kek.length === 16 ? 'aes-128-ecb' : kek.length === 24 ? 'aes-192-ecb' : 'aes-256-ecb';
  const d = createDecipheriv(name, kek, null).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([d.update(block), d.final()]));
}

/**
 * RFC 5649 section 4.2 unwrap, written from the RFC: the single-block case is one AES decryption; otherwise
 * the RFC 3394 unwrap W⁻¹ with t = n·j + i, then the AIV check (A65959A6 ‖ MLI) and zero-padding check.
 * Returns undefined when the integrity check fails.
 */
export function kwpUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array | undefined {
  if (wrapped.length < 16 || wrapped.length % 8 !== 0) return undefined;
  const n = wrapped.length / 8 - 1;
  let a: Uint8Array;
  const r: Uint8Array[] = [];
  if (n === 1) {
    const b = aesEcbDecryptBlock(kek, wrapped);
    a = b.slice(0, 8);
    r.push(b.slice(8, 16));
  } else {
    a = wrapped.slice(0, 8);
    for (let i = 1; i <= n; i++) r.push(wrapped.slice(i * 8, i * 8 + 8));
    for (let j = 5; j >= 0; j--) {
      for (let i = n; i >= 1; i--) {
        const t = BigInt(n * j + i);
        const aXor = Buffer.from(a).readBigUInt64BE(0) ^ t;
        const input = new Uint8Array(16);
        Buffer.from(input.buffer).writeBigUInt64BE(aXor, 0);
        input.set(r[i - 1]!, 8);
        const b = aesEcbDecryptBlock(kek, input);
        a = b.slice(0, 8);
        r[i - 1] = b.slice(8, 16);
      }
    }
  }
  if (a[0] !== 0xa6 || a[1] !== 0x59 || a[2] !== 0x59 || a[3] !== 0xa6) return undefined;
  const mli = Buffer.from(a).readUInt32BE(4);
  if (mli <= 8 * (n - 1) || mli > 8 * n) return undefined;
  const p = new Uint8Array(8 * n);
  r.forEach((block, i) => p.set(block, i * 8));
  if (p.subarray(mli).some((x) => x !== 0)) return undefined;
  return p.slice(0, mli);
}

export const HASH_OF: Record<WrappingAlgorithm, 'sha1' | 'sha256'> = {
  RSAES_OAEP_SHA_1: 'sha1',
  RSAES_OAEP_SHA_256: 'sha256',
  RSA_AES_KEY_WRAP_SHA_1: 'sha1',
  RSA_AES_KEY_WRAP_SHA_256: 'sha256',
};

/**
 * Unwraps `EncryptedKeyMaterial` the way KMS would, with node-forge for RSA-OAEP and {@link kwpUnwrap}
 * for AES-KWP: nothing here calls kms-byok code.
 */
export function independentUnwrap(key: TestWrappingKey, algorithm: WrappingAlgorithm, wrapped: Uint8Array): Uint8Array {
  const hash = HASH_OF[algorithm];
  if (algorithm.startsWith('RSAES_OAEP_')) return forgeOaepDecrypt(key.forgeKey, hash, wrapped);
  const k = Math.ceil(key.forgeKey.n.bitLength() / 8);
  const aesKey = forgeOaepDecrypt(key.forgeKey, hash, wrapped.subarray(0, k));
  if (aesKey.length !== 32) throw new Error(`RSA part held ${aesKey.length} bytes, expected a 32-byte AES key`);
  const material = kwpUnwrap(aesKey, wrapped.subarray(k));
  if (material === undefined) throw new Error('AES-KWP integrity check failed');
  return material;
}

/** Loads a DER or PEM PKCS#8 key into a node KeyObject (for cross-checks). */
export function privateKeyOf(der: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

/** Number of fast-check runs: small by default, larger with SLOW=1. */
export function numRuns(fast: number, slow = fast * 10): number {
  return process.env.SLOW === '1' ? slow : fast;
}
