/**
 * Shared test helpers for the escrow suite. Nothing here is production code.
 */
import { createHash } from 'node:crypto';
import * as age from 'age-encryption';
import type { KeySpec } from '../../src/core/aws-names.js';
import { SecretBytes } from '../../src/core/secret.js';
import type { EscrowKeyFacts, EscrowMaterial } from '../../src/escrow/format.js';
import type { ComputeCheckValue, EscrowContents, EscrowDeps } from '../../src/escrow/vault.js';

/** The label of the TEST STAND-IN check value below. */
export const TEST_CHECK_METHOD = 'test-sha256';

/**
 * TEST STAND-IN for material/check-value.ts (the escrow takes the real one by injection):
 * `test-sha256:` + the leftmost 3 bytes of SHA-256(material), upper-case hex. Not a real KCV.
 */
export const testStandInCheckValue: ComputeCheckValue = (material: SecretBytes, _spec: KeySpec, method: string) => {
  if (method !== TEST_CHECK_METHOD) throw new Error(`test stand-in check value does not know method ${method}`);
  return `${TEST_CHECK_METHOD}:${material.use((b) => createHash('sha256').update(b).digest('hex').slice(0, 6).toUpperCase())}`;
};

/** Deps for tests: the stand-in check value and a low scrypt work factor (production: 18). */
export const testDeps: EscrowDeps = { computeCheckValue: testStandInCheckValue, scryptWorkFactor: 10 };

export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

export const KEY_FACTS: EscrowKeyFacts = {
  keyArn: `arn:aws:kms:eu-west-1:111122223333:key/${KEY_ID}`,
  keyId: KEY_ID,
  account: '111122223333',
  region: 'eu-west-1',
  keySpec: 'SYMMETRIC_DEFAULT',
  keyUsage: 'ENCRYPT_DECRYPT',
  multiRegion: false,
};

/** A material entry for `bytes` with its stand-in check value. */
export function material(index: number, bytes: Uint8Array, extra: Partial<EscrowMaterial> = {}): EscrowMaterial {
  const secret = SecretBytes.copyOf(bytes);
  return {
    index,
    checkValue: testStandInCheckValue(secret, 'SYMMETRIC_DEFAULT', TEST_CHECK_METHOD),
    material: secret,
    createdAt: '2026-01-02T03:04:05Z',
    ...extra,
  };
}

/** Known test material: bytes 0x00..0x1f (material 1) and 0x20..0x3f (material 2). */
export function knownMaterial(index: 1 | 2): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => i + (index - 1) * 32);
}

export function contents(materials: EscrowMaterial[], escrowVersion = 1): EscrowContents {
  return { key: KEY_FACTS, escrowVersion, created: '2026-01-02T03:04:05Z', createdBy: 'tester@testhost', materials };
}

export async function newIdentity(kind: 'x25519' | 'pq' = 'x25519'): Promise<{ identity: string; recipient: string }> {
  const identity = kind === 'pq' ? await age.generateHybridIdentity() : await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}

export function secretText(text: string): SecretBytes {
  return SecretBytes.adopt(new TextEncoder().encode(text));
}

export function bytesOf(s: SecretBytes): Uint8Array {
  return s.use((b) => Uint8Array.from(b));
}

/** Runs `fn` and returns the KmsByokError code it throws (fails the test if it does not throw). */
export async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? code : `not a KmsByokError: ${String(e)}`;
  }
  return 'did not throw';
}

/** Property-test run count: small by default, more with SLOW=1. */
export const RUNS = process.env.SLOW ? 200 : 12;
