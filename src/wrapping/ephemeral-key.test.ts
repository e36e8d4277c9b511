/**
 * The production path's ephemeral AES key: `node:crypto`'s randomFillSync is wrapped (not replaced) so the
 * test can see the buffer wrapKeyMaterial filled, and check it is all zeros once wrapping returns.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

const filled: Uint8Array[] = [];

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const randomFillSync = ((buf: Uint8Array, ...rest: never[]) => {
    const out = (actual.randomFillSync as (b: Uint8Array, ...r: never[]) => Uint8Array)(buf, ...rest);
    filled.push(buf);
    return out;
  }) as typeof actual.randomFillSync;
  return { ...actual, default: { ...actual, randomFillSync }, randomFillSync };
});

const { wrapKeyMaterial } = await import('./index.js');
const { SecretBytes } = await import('../core/secret.js');
const { forgeOaepDecrypt, makeWrappingKey } = await import('../../test/vectors/helpers.js');

describe('the RSA_AES_KEY_WRAP ephemeral key', () => {
  it('is random, used, and zeroed after wrapKeyMaterial returns', () => {
    const wk = makeWrappingKey('RSA_2048');
    const material = SecretBytes.take(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' }));
    filled.length = 0;
    const wrapped = wrapKeyMaterial(
      material,
      { PublicKey: wk.spkiDer, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' },
      'ECC_NIST_P256',
    );
    const ephemeral = filled.filter((b) => b.length === 32);
    expect(ephemeral).toHaveLength(1);
    expect(ephemeral[0]!.every((b) => b === 0)).toBe(true);
    // The key that was used was not all zeros: the RSA part decrypts to something else.
    expect(forgeOaepDecrypt(wk.forgeKey, 'sha256', wrapped.subarray(0, 256)).some((b) => b !== 0)).toBe(true);
    expect(material.disposed).toBe(false);
  });
});
