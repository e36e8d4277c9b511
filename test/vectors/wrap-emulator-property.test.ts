/**
 * The wrapping property: wrap (product code: node:crypto OAEP + OpenSSL's id-aes256-wrap-pad)
 * → emulator unwrap (independent: node-forge OAEP + the emulator's own RFC 5649) returns the material,
 * for random material of every importable spec and every (WrappingAlgorithm, WrappingKeySpec) the
 * table allows. Asymmetric specs draw from a few generated keys (key generation is not the property).
 */
import { createPublicKey } from 'node:crypto';
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { SecretBytes } from '../../src/core/secret.js';
import { IMPORTABLE_KEY_SPECS, importableKeySpecInfo } from '../../src/material/key-specs.js';
import { generateKeyMaterial } from '../../src/material/generate.js';
import { wrapKeyMaterial } from '../../src/wrapping/index.js';
import { unwrapKeyMaterial } from '../../src/emulator/unwrap.js';
import { testWrappingKeys } from '../../src/emulator/emulator.test.helpers.js';
import { numRuns } from './helpers.js';

const WRAPPING = testWrappingKeys();
const PUBLIC_DER = Object.fromEntries(
  Object.entries(WRAPPING).map(([spec, pems]) => [spec, new Uint8Array(createPublicKey(pems[0]!).export({ type: 'spki', format: 'der' }))]),
) as Record<keyof typeof WRAPPING, Uint8Array>;

/** A few materials per asymmetric spec, generated once (RSA-4096 generation is slow and not the point). */
const ASYMMETRIC = new Map<string, SecretBytes[]>();
function asymmetricMaterial(spec: (typeof IMPORTABLE_KEY_SPECS)[number], pick: number): SecretBytes {
  let list = ASYMMETRIC.get(spec);
  if (!list) {
    list = [generateKeyMaterial(spec), ...(spec.startsWith('RSA_4096') ? [] : [generateKeyMaterial(spec)])];
    ASYMMETRIC.set(spec, list);
  }
  return list[pick % list.length]!.clone();
}

const cases = IMPORTABLE_KEY_SPECS.flatMap((spec) => importableKeySpecInfo(spec).wrappings.map((w) => ({ spec, w })));

const drawn = fc.record({
  c: fc.constantFrom(...cases),
  bytes: fc.uint8Array({ minLength: 128, maxLength: 128 }),
  pick: fc.nat(),
});

describe('wrapKeyMaterial → emulator unwrap', () => {
  it.prop([drawn], { numRuns: numRuns(30, 600) })('returns the material for every allowed pair', ({ c, bytes, pick }) => {
    const shape = importableKeySpecInfo(c.spec).material;
    const material =
      shape.kind === 'symmetric'
        ? SecretBytes.copyOf(bytes.subarray(0, 32))
        : shape.kind === 'hmac'
          ? SecretBytes.copyOf(bytes.subarray(0, shape.minBytes + (pick % (shape.maxBytes - shape.minBytes + 1))))
          : asymmetricMaterial(c.spec, pick);
    try {
      const wrapped = wrapKeyMaterial(material, { PublicKey: PUBLIC_DER[c.w.wrappingKeySpec], WrappingAlgorithm: c.w.algorithm, WrappingKeySpec: c.w.wrappingKeySpec }, c.spec);
      const back = unwrapKeyMaterial(c.w.algorithm, WRAPPING[c.w.wrappingKeySpec][0]!, wrapped);
      expect(material.use((m) => Buffer.from(m).equals(back)), `${c.spec} ${c.w.algorithm} ${c.w.wrappingKeySpec}`).toBe(true);
    } finally {
      material.dispose();
    }
  });
});
