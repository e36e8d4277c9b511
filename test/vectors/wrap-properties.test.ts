/**
 * Properties of wrapKeyMaterial, checked by unwrapping with code that shares nothing with it: node-forge for
 * RSA-OAEP and the RFC 5649 unwrap in helpers.ts for AES-KWP. Run counts are small by default; SLOW=1
 * raises them.
 */
import { constants, privateDecrypt } from 'node:crypto';
import { fc, it } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { WRAPPING_KEY_SPECS, type KeySpec, type WrappingAlgorithm, type WrappingKeySpec } from '../../src/core/aws-names.js';
import { SecretBytes } from '../../src/core/secret.js';
import { generateKeyMaterial } from '../../src/material/generate.js';
import { IMPORTABLE_KEY_SPECS, keySpecInfo, validWrappings } from '../../src/material/key-specs.js';
import { aesKeyWrapPad, oaepMaxPlaintextBytes, wrapKeyMaterial } from '../../src/wrapping/index.js';
import { HASH_OF, independentUnwrap, kwpUnwrap, makeWrappingKey, numRuns, type TestWrappingKey } from './helpers.js';

const wrappingKeys = {} as Record<WrappingKeySpec, TestWrappingKey>;
/**
 * Asymmetric material cannot be drawn byte by byte: real keys, made once. RSA material reuses the test
 * wrapping keys (RSA keys of the same three sizes) to save key generation time; ECC gets two keys per curve.
 */
const asymmetricPool: Partial<Record<KeySpec, Uint8Array[]>> = {};

beforeAll(() => {
  for (const wks of WRAPPING_KEY_SPECS) wrappingKeys[wks] = makeWrappingKey(wks);
  for (const spec of IMPORTABLE_KEY_SPECS) {
    const info = keySpecInfo(spec);
    if (!info.importable) continue;
    if (info.material.kind === 'rsa') {
      const der = new Uint8Array(wrappingKeys[spec as WrappingKeySpec].privateKey.export({ type: 'pkcs8', format: 'der' }));
      asymmetricPool[spec] = [der, der];
    }
    if (info.material.kind === 'ecc') asymmetricPool[spec] = [0, 1].map(() => generateKeyMaterial(spec).use((d) => Uint8Array.from(d)));
  }
}, 60_000);

interface Triple {
  spec: KeySpec;
  algorithm: WrappingAlgorithm;
  wrappingKeySpec: WrappingKeySpec;
}
const allowed: Triple[] = IMPORTABLE_KEY_SPECS.flatMap((spec) =>
  validWrappings(spec).map((w) => ({ spec, algorithm: w.algorithm, wrappingKeySpec: w.wrappingKeySpec })),
);

/** Material of the spec's whole length range (symmetric, HMAC) or one of the pooled keys (RSA, ECC). */
function materialFor(spec: KeySpec): fc.Arbitrary<Uint8Array> {
  const info = keySpecInfo(spec);
  if (!info.importable) throw new Error(`${spec} is not importable`);
  const m = info.material;
  if (m.kind === 'symmetric') return fc.uint8Array({ minLength: m.bytes, maxLength: m.bytes });
  if (m.kind === 'hmac') return fc.uint8Array({ minLength: m.minBytes, maxLength: m.maxBytes });
  return fc.integer({ min: 0, max: 1 }).map((i) => asymmetricPool[spec]![i]!);
}

const case_ = fc.constantFrom(...allowed).chain((t) => fc.record({ t: fc.constant(t), material: materialFor(t.spec) }));

describe('wrapKeyMaterial properties', () => {
  it('covers 94 allowed (spec, algorithm, wrapping key) triples', () => {
    expect(allowed).toHaveLength(94);
  });

  it.prop([case_], { numRuns: numRuns(20, 300) })(
    'for random material and any allowed pair, node-forge + the RFC 5649 oracle recover the material; the caller keeps it',
    ({ t, material }) => {
      const secret = SecretBytes.copyOf(material);
      const key = wrappingKeys[t.wrappingKeySpec];
      const wrapped = wrapKeyMaterial(secret, { PublicKey: key.spkiDer, WrappingAlgorithm: t.algorithm, WrappingKeySpec: t.wrappingKeySpec }, t.spec);
      expect(Buffer.from(independentUnwrap(key, t.algorithm, wrapped))).toEqual(Buffer.from(material));
      expect(secret.disposed).toBe(false);
      expect(secret.use((b) => Buffer.from(b))).toEqual(Buffer.from(material));
    },
  );

  it.prop([fc.constantFrom('RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256') as fc.Arbitrary<'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256'>, fc.integer({ min: 1, max: 214 }), fc.nat()], {
    numRuns: numRuns(20, 200),
  })('RSAES_OAEP wraps any 1..k-2hLen-2 bytes (no key spec), recovered by node-forge', (algorithm, n, seed) => {
    const key = wrappingKeys.RSA_2048;
    const length = Math.min(n, oaepMaxPlaintextBytes(2048, HASH_OF[algorithm]));
    const material = Uint8Array.from({ length }, (_, i) => (seed + i * 131) & 0xff);
    const wrapped = wrapKeyMaterial(SecretBytes.copyOf(material), { PublicKey: key.spkiDer, WrappingAlgorithm: algorithm, WrappingKeySpec: 'RSA_2048' });
    expect(Buffer.from(independentUnwrap(key, algorithm, wrapped))).toEqual(Buffer.from(material));
  });

  it.prop([fc.constantFrom('RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256') as fc.Arbitrary<WrappingAlgorithm>, fc.uint8Array({ minLength: 1, maxLength: 3000 })], {
    numRuns: numRuns(20, 200),
  })('RSA_AES_KEY_WRAP wraps any 1..3000 bytes (no key spec), recovered by node-forge + the RFC 5649 oracle', (algorithm, material) => {
    const key = wrappingKeys.RSA_2048;
    const wrapped = wrapKeyMaterial(SecretBytes.copyOf(material), { PublicKey: key.spkiDer, WrappingAlgorithm: algorithm, WrappingKeySpec: 'RSA_2048' });
    expect(wrapped.length).toBe(256 + Math.ceil(material.length / 8) * 8 + 8);
    expect(Buffer.from(independentUnwrap(key, algorithm, wrapped))).toEqual(Buffer.from(material));
  });
});

describe('every allowed pair, once each', () => {
  // node-forge is too slow to run 94 RSA-4096 decryptions in the default budget, so this exhaustive pass uses
  // OpenSSL's OAEP *decryption* (not code kms-byok has) and the RFC 5649 oracle; the property above uses forge.
  for (const t of allowed) {
    it(`${t.spec} × ${t.algorithm} × ${t.wrappingKeySpec}`, () => {
      const key = wrappingKeys[t.wrappingKeySpec];
      const pooled = asymmetricPool[t.spec]?.[0];
      const material = pooled === undefined ? generateKeyMaterial(t.spec) : SecretBytes.copyOf(pooled);
      const wrapped = wrapKeyMaterial(material, { PublicKey: key.spkiDer, WrappingAlgorithm: t.algorithm, WrappingKeySpec: t.wrappingKeySpec }, t.spec);
      const oaep = (c: Uint8Array) =>
        privateDecrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: HASH_OF[t.algorithm] }, c);
      let recovered: Uint8Array;
      if (t.algorithm.startsWith('RSAES_OAEP_')) recovered = oaep(wrapped);
      else {
        const k = key.privateKey.asymmetricKeyDetails!.modulusLength! / 8;
        recovered = kwpUnwrap(oaep(wrapped.subarray(0, k)), wrapped.subarray(k))!;
      }
      expect(SecretBytes.copyOf(recovered).equals(material)).toBe(true);
    });
  }
});

describe('aesKeyWrapPad properties', () => {
  it.prop([fc.constantFrom(16, 24, 32), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 1, maxLength: 300 })], {
    numRuns: numRuns(100, 1000),
  })('the RFC 5649 oracle unwraps it, for any KEK size and length', (kekBytes, kekSource, plaintext) => {
    const kek = kekSource.subarray(0, kekBytes);
    const wrapped = aesKeyWrapPad(kek, plaintext);
    expect(wrapped.length).toBe(Math.ceil(plaintext.length / 8) * 8 + 8);
    expect(Buffer.from(kwpUnwrap(kek, wrapped)!)).toEqual(Buffer.from(plaintext));
  });
});
