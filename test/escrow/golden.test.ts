/**
 * The format is a promise: these golden escrows (fixtures/escrow, written once by an earlier build)
 * must open with the current code, forever, with the same materials and manifest. If this test fails,
 * the change broke format v1 — do not regenerate the fixtures; fix the code (or add format v2).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readEscrow, readIdentityFile, readPassphraseFile } from '../../src/escrow/file-store.js';
import { disposePayload, inspectEscrow, openCustodianFile, openEscrow, type EscrowOpener } from '../../src/escrow/vault.js';
import { GOLDEN_DIR, GOLDEN_KEY_MATERIAL_ID, writeGoldenFixtures } from './golden-fixtures.js';
import { KEY_FACTS, KEY_ID, bytesOf, knownMaterial, testDeps } from './helpers.js';

test.runIf(process.env.KMS_BYOK_WRITE_GOLDEN === '1')('write the golden fixtures (deliberate, once)', async () => {
  await writeGoldenFixtures();
});

const id = (name: string) => readIdentityFile(join(GOLDEN_DIR, 'identities', `${name}.key`));
const stem = (dir: string, v = 1) => join(GOLDEN_DIR, dir, `${KEY_ID}.v${v}`);

/** What each golden escrow must contain, written down when the fixtures were made. */
const GOLDEN = [
  {
    dir: 'x25519',
    version: 2,
    escrowId: '701a0ea1fe8578c41aa07585f6b9d476',
    sealing: 'recipients',
    files: { 'v2.age': '2bfa18a252049ba2a2d4a9251213ae5b62e31c3f58bc9c9bcd0260e72db90ac4' },
    materials: 2,
    opener: async (): Promise<EscrowOpener> => ({ identities: await id('alice') }),
  },
  {
    dir: 'passphrase',
    version: 1,
    escrowId: '00600dfe81e06e07bfb714fd6668e3ef',
    sealing: 'passphrase',
    files: { 'v1.age': '4be8efbe3f936dac2eaf4f44ebecce2dff09c69303403be33c316b1eac2bd67a' },
    materials: 1,
    opener: async (): Promise<EscrowOpener> => ({ passphrase: await readPassphraseFile(join(GOLDEN_DIR, 'passphrase.txt')) }),
  },
  {
    dir: 'shares-2-of-3',
    version: 1,
    escrowId: '89cbc0b79470a7647f3b7e3846a35894',
    sealing: 'threshold',
    files: {
      'v1.age': 'f0924bca8cd5211f86420deabde1de8c58e657f5ed7b727228544bdc1179cf6c',
      'v1.share-1.age': 'fd858961cfe0fc0143d21431bd85bc57d26ed1ec2249a297b74ee18dba0dd0cc',
      'v1.share-2.age': 'f1ac8dc5a82d19181cb21aabcd16590cc3182274ea5f98e3d4b50e89aa4b82ec',
      'v1.share-3.age': '1fe6013b70f2461c90929411b85d962c2cd4208d90fed7991b4db885d9182e46',
    },
    materials: 2,
    opener: async (): Promise<EscrowOpener> => ({ identities: [...(await id('bob')), ...(await id('carol'))] }),
  },
  {
    dir: 'xor-2',
    version: 1,
    escrowId: '03d548fb28bb1bb1ba20285a0466f39e',
    sealing: 'xor',
    files: {
      'v1.component-1.age': '11e154866d45e065aeff7d1cd17a812f3ddd3b246f76278fafd273a59bfc0d96',
      'v1.component-2.age': '8e6eb7d27e8ad68953927ae2855ea3be1242f1c5732a56634de4af48d516195f',
    },
    materials: 1,
    opener: async (): Promise<EscrowOpener> => ({ identities: [...(await id('alice')), ...(await id('bob'))] }),
  },
  {
    dir: 'pq-hybrid',
    version: 1,
    escrowId: '3344fe1217677e22b5b90badc76ddc36',
    sealing: 'recipients',
    files: { 'v1.age': 'dcd2f8c344a7c3ba9b06648a87ddf8f235dfe880afbce5cef7e268b0c5798965' },
    materials: 1,
    opener: async (): Promise<EscrowOpener> => ({ identities: await id('dave-pq') }),
  },
] as const;

describe.each(GOLDEN)('golden escrow $dir', (g) => {
  test('opens with the current code and holds the known materials and manifest', async () => {
    const loaded = await readEscrow(`${stem(g.dir, g.version)}.age.json`);
    expect(loaded.missing).toEqual([]);
    expect(Object.fromEntries(loaded.sidecar.files.map((f) => [f.name.slice(KEY_ID.length + 1), f.sha256]))).toEqual(g.files);
    const payload = await openEscrow(loaded, await g.opener(), testDeps);
    try {
      const { custodians, escrowId, ...rest } = payload.manifest;
      expect(rest).toEqual({ ...KEY_FACTS, formatVersion: 1, escrowVersion: g.version, created: '2026-01-02T03:04:05Z', createdBy: 'tester@testhost' });
      expect(escrowId).toBe(g.escrowId);
      expect(inspectEscrow(loaded.sidecar).sealing).toBe(g.sealing);
      expect(custodians.recipients.every((r) => r.label?.endsWith('(test)') || r.label?.includes('(test,'))).toBe(true);
      expect(payload.materials.map((m) => m.index)).toEqual(g.materials === 2 ? [1, 2] : [1]);
      expect(bytesOf(payload.materials[0]!.material)).toEqual(knownMaterial(1));
      if (g.materials === 2) {
        expect(bytesOf(payload.materials[1]!.material)).toEqual(knownMaterial(2));
        expect(payload.materials[0]!.keyMaterialId).toBe(GOLDEN_KEY_MATERIAL_ID);
        expect(payload.materials[1]!.description).toBe('rotated material');
      }
    } finally {
      disposePayload(payload);
    }
  });
});

test('golden x25519 sidecar keeps the facts recorded after sealing', async () => {
  const s = inspectEscrow((await readEscrow(`${stem('x25519', 2)}.age`)).sidecar);
  expect(s.materials).toEqual([
    expect.objectContaining({ index: 1, keyMaterialId: GOLDEN_KEY_MATERIAL_ID, firstImportedAt: '2026-01-02T03:10:00Z', validTo: '2027-01-01T00:00:00Z' }),
    expect.objectContaining({ index: 2, keyMaterialId: 'b2'.repeat(32), validTo: null }),
  ]);
});

test('golden 2-of-3: every pair of custodians opens it, one custodian alone does not', async () => {
  const loaded = await readEscrow(`${stem('shares-2-of-3')}.age`);
  const names = ['alice', 'bob', 'carol'] as const;
  const docs = await Promise.all(
    names.map(async (n, i) => openCustodianFile(await readFile(`${stem('shares-2-of-3')}.share-${i + 1}.age`), await id(n), `share-${i + 1}`)),
  );
  for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as const) {
    const p = await openEscrow(loaded, { shares: [docs[a]!.clone(), docs[b]!.clone()] }, testDeps);
    expect(bytesOf(p.materials[1]!.material)).toEqual(knownMaterial(2));
    disposePayload(p);
  }
  for (const n of names) {
    await expect(openEscrow(loaded, { identities: await id(n) }, testDeps)).rejects.toMatchObject({
      code: 'ERR_ESCROW_TOO_FEW_SHARES',
      message: '2 of 3 shares are needed, 1 given: 1 more needed',
    });
  }
});
