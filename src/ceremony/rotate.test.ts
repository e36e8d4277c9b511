/**
 * rotate --in-place over stub ports: the paths the emulator makes slow or impossible to reach (the
 * 25-rotation limit, a ConflictException from RotateKeyOnDemand).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KmsByokError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import type { KeyInfo, KeyMaterialInfo, KmsPort } from '../kms/port.js';
import { STUB_KEY } from './ceremony.test.helpers.js';
import { anchorFingerprint, anchorTagKey, type EscrowPayload, type EscrowSidecar } from '../escrow/index.js';
import { runRotateInPlace } from './rotate.js';
import { NO_JOURNAL, type EscrowRef, type LifecycleDeps } from './shared.js';

const KEY: KeyInfo = STUB_KEY;
const id = (n: number) => n.toString(16).padStart(64, '0');

function setup(materials: KeyMaterialInfo[], overrides: Partial<KmsPort> = {}) {
  const calls: string[] = [];
  // The escrow's materials, and the key's anchor tags vouching for them (docs/escrow-format.md, "Anchors").
  const secrets = materials.map(() => randomBytes(32));
  const tags = secrets.map((b, i) => ({ TagKey: anchorTagKey(i + 1), TagValue: anchorFingerprint(SecretBytes.copyOf(b), KEY.KeyId, i + 1) }));
  const kms = new Proxy({} as KmsPort, {
    get(_t, prop: string) {
      if (prop === 'region') return 'us-east-1';
      if (prop in overrides) return (...a: unknown[]) => (calls.push(prop), (overrides as Record<string, (...x: unknown[]) => unknown>)[prop]!(...a));
      return async () => {
        calls.push(prop);
        if (prop === 'describeKey') return KEY;
        if (prop === 'listKeyRotations') return materials;
        if (prop === 'listResourceTags') return tags;
        throw new Error(`unexpected ${prop}`);
      };
    },
  });
  const sidecar = { manifest: { keyId: KEY.KeyId, escrowVersion: 1 }, materials: materials.map((m, i) => ({ index: i + 1, checkValue: 'cmac-aes:000000', keyMaterialId: m.KeyMaterialId, validTo: [] })), files: [] } as unknown as EscrowSidecar;
  const ref: EscrowRef = { path: '/e/k.v1.age', sidecarPath: '/e/k.v1.age.json', sidecar, damaged: [] };
  const deps: LifecycleDeps = {
    kms,
    now: () => new Date('2026-11-22T00:00:00Z'),
    sleep: async () => {},
    progress: () => {},
    journal: NO_JOURNAL,
    escrow: {
      latest: async () => ref,
      open: async () => ({ manifest: sidecar.manifest, materials: materials.map((_, i) => ({ index: i + 1, checkValue: 'x', material: SecretBytes.copyOf(secrets[i]!), createdAt: 'x' })) }) as unknown as EscrowPayload,
      nextVersion: async () => 2,
      write: async () => {
        throw new Error('unexpected write');
      },
      recordImport: async () => {},
      sealingFor: () => ({ recipients: [] }),
    },
  };
  return { deps, calls };
}

describe('rotate --in-place limits and conflicts', () => {
  it('refuses past 25 on-demand rotations, before sealing or importing anything, and names the alternative', async () => {
    const materials = Array.from({ length: 26 }, (_, i): KeyMaterialInfo => ({
      KeyMaterialId: id(i + 1),
      ImportState: 'IMPORTED',
      KeyMaterialState: i === 25 ? 'CURRENT' : 'NON_CURRENT',
      ...(i > 0 ? { RotationDate: new Date(), RotationType: 'ON_DEMAND' as const } : {}),
    }));
    const { deps, calls } = setup(materials);
    const err = await runRotateInPlace({ key: KEY.KeyId, expiry: { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }, createdBy: 't@h' }, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KmsByokError);
    expect(err).toMatchObject({ code: 'ERR_ROTATION_LIMIT', message: expect.stringContaining('all 25 on-demand rotations'), hint: expect.stringContaining('--new-key') });
    expect(calls).toEqual(['describeKey', 'listKeyRotations']);
  });

  it('a ConflictException from RotateKeyOnDemand says the material is safe and to run again later', async () => {
    const materials: KeyMaterialInfo[] = [
      { KeyMaterialId: id(1), ImportState: 'IMPORTED', KeyMaterialState: 'CURRENT' },
      { KeyMaterialId: id(2), ImportState: 'IMPORTED', KeyMaterialState: 'PENDING_ROTATION' },
    ];
    const { deps } = setup(materials, {
      rotateKeyOnDemand: async () => {
        throw new KmsByokError('ERR_KMS_CONFLICT', 'RotateKeyOnDemand: conflict');
      },
    });
    const err = await runRotateInPlace({ key: KEY.KeyId, expiry: { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }, createdBy: 't@h' }, deps).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_KMS_CONFLICT', hint: expect.stringMatching(/escrowed and imported; run the same command again in about 20 minutes/) });
  });
});
