import { randomBytes } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ListKeyRotationsCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  type ImportKeyMaterialCommandInput,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysFrom, startTestEmulator, wrap } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';

let emu: RunningEmulator;
let east: KMSClient;
let west: KMSClient;

function client(region: string): KMSClient {
  return new KMSClient({ region, endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
}

beforeAll(async () => {
  emu = await startTestEmulator();
  east = client('us-east-1');
  west = client('eu-west-1');
});
afterAll(async () => {
  east.destroy();
  west.destroy();
  await emu.close();
});

async function importInto(kms: KMSClient, KeyId: string, material: Buffer, extra: Partial<ImportKeyMaterialCommandInput> = {}) {
  const p = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  return kms.send(
    new ImportKeyMaterialCommand({ KeyId, ImportToken: p.ImportToken!, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey!, material), ValidTo: daysFrom(emu, 90), ...extra }),
  );
}

async function rotations(kms: KMSClient, KeyId: string) {
  return (await kms.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!;
}

describe('RotateKeyOnDemand and ListKeyRotations (EXTERNAL symmetric key)', () => {
  it('NEW material waits in PENDING_ROTATION, rotation makes it CURRENT and the old one NON_CURRENT (decrypt only)', async () => {
    const keyId = (await east.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    const m1 = randomBytes(32);
    const m2 = randomBytes(32);
    const first = await importInto(east, keyId, m1, { KeyMaterialDescription: 'first material' });
    const oldCt = await east.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('old') }));
    await expect(east.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException', message: /PENDING_ROTATION/ });

    const second = await importInto(east, keyId, m2, { ImportType: 'NEW_KEY_MATERIAL', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ValidTo: undefined });
    expect(second.KeyMaterialId).not.toBe(first.KeyMaterialId);
    let list = await rotations(east, keyId);
    expect(list).toEqual([
      expect.objectContaining({ KeyId: keyId, KeyMaterialId: first.KeyMaterialId, KeyMaterialDescription: 'first material', ImportState: 'IMPORTED', KeyMaterialState: 'CURRENT', ExpirationModel: 'KEY_MATERIAL_EXPIRES' }),
      expect.objectContaining({ KeyMaterialId: second.KeyMaterialId, ImportState: 'IMPORTED', KeyMaterialState: 'PENDING_ROTATION', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
    ]);
    expect(list[0]!.ValidTo).toBeInstanceOf(Date);
    expect(list[1]!.RotationDate).toBeUndefined();
    expect((await east.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations).toEqual([]); // ROTATIONS_ONLY
    // A second NEW material while one is pending is refused.
    await expect(importInto(east, keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' })).rejects.toMatchObject({ name: 'KMSInvalidStateException' });

    await east.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    list = await rotations(east, keyId);
    expect(list.map((r) => r.KeyMaterialState)).toEqual(['NON_CURRENT', 'CURRENT']);
    expect(list[1]).toMatchObject({ RotationType: 'ON_DEMAND' });
    expect(list[1]!.RotationDate).toBeInstanceOf(Date);
    expect((await east.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations!.map((r) => r.KeyMaterialId)).toEqual([second.KeyMaterialId]);
    expect((await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId).toBe(second.KeyMaterialId);

    const newCt = await east.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('new') }));
    expect((await east.send(new DecryptCommand({ CiphertextBlob: newCt.CiphertextBlob! }))).KeyMaterialId).toBe(second.KeyMaterialId);
    const old = await east.send(new DecryptCommand({ CiphertextBlob: oldCt.CiphertextBlob! }));
    expect(old).toMatchObject({ KeyMaterialId: first.KeyMaterialId });
    expect(Buffer.from(old.Plaintext!).toString()).toBe('old');

    // Deleting the NON_CURRENT material makes the whole key unusable until it is back.
    await east.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: first.KeyMaterialId }));
    expect((await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('PendingImport');
    expect((await rotations(east, keyId))[0]).toMatchObject({ ImportState: 'PENDING_IMPORT' });
    await importInto(east, keyId, m1, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: first.KeyMaterialId });
    expect((await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Enabled');
  });

  it('material pending rotation can be deleted and replaced; rotation needs an Enabled symmetric key', async () => {
    const keyId = (await east.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    await importInto(east, keyId, randomBytes(32));
    const pending = await importInto(east, keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });
    await east.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: pending.KeyMaterialId }));
    expect((await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Enabled');
    expect((await rotations(east, keyId)).map((r) => r.KeyMaterialState)).toEqual(['CURRENT']);
    await importInto(east, keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });
    await east.send(new DisableKeyCommand({ KeyId: keyId }));
    await expect(east.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'DisabledException' });
    const hmac = (await east.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!;
    await expect(east.send(new RotateKeyOnDemandCommand({ KeyId: hmac }))).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
    await expect(east.send(new ListKeyRotationsCommand({ KeyId: hmac }))).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
  });

  it('AWS_KMS keys rotate on demand to generated material, at most 25 times', async () => {
    const keyId = (await east.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const ct = await east.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('v1') }));
    for (let i = 0; i < 25; i++) await east.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    await expect(east.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'LimitExceededException' });
    const list = (await east.send(new ListKeyRotationsCommand({ KeyId: keyId, Limit: 10 })));
    expect(list.Rotations).toHaveLength(10);
    expect(list.Truncated).toBe(true);
    expect(list.Rotations![0]!.ImportState).toBeUndefined();
    expect(Buffer.from((await east.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob! }))).Plaintext!).toString()).toBe('v1');
  });
});

describe('ReplicateKey (multi-Region EXTERNAL key)', () => {
  it('creates a replica without material in PendingImport; the same material imports as EXISTING and ciphertexts cross Regions', async () => {
    const primary = (await east.send(new CreateKeyCommand({ Origin: 'EXTERNAL', MultiRegion: true }))).KeyMetadata!;
    const material = randomBytes(32);
    const { KeyMaterialId } = await importInto(east, primary.KeyId!, material);
    const rep = await east.send(new ReplicateKeyCommand({ KeyId: primary.KeyId!, ReplicaRegion: 'eu-west-1', Description: 'replica' }));
    const replicaArn = `arn:aws:kms:eu-west-1:111122223333:key/${primary.KeyId}`;
    expect(rep.ReplicaKeyMetadata).toMatchObject({
      KeyId: primary.KeyId,
      Arn: replicaArn,
      KeyState: 'PendingImport',
      Origin: 'EXTERNAL',
      MultiRegion: true,
      MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA', PrimaryKey: { Arn: primary.Arn, Region: 'us-east-1' }, ReplicaKeys: [{ Arn: replicaArn, Region: 'eu-west-1' }] },
    });
    expect(rep.ReplicaPolicy).toContain('kms:*');
    await expect(east.send(new ReplicateKeyCommand({ KeyId: primary.KeyId!, ReplicaRegion: 'eu-west-1' }))).rejects.toMatchObject({ name: 'AlreadyExistsException' });
    expect((await east.send(new DescribeKeyCommand({ KeyId: primary.KeyId! }))).KeyMetadata!.MultiRegionConfiguration!.ReplicaKeys).toEqual([{ Arn: replicaArn, Region: 'eu-west-1' }]);

    await expect(importInto(west, primary.KeyId!, randomBytes(32))).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException' });
    const imported = await importInto(west, primary.KeyId!, material, { ImportType: 'EXISTING_KEY_MATERIAL' });
    expect(imported.KeyMaterialId).toBe(KeyMaterialId);
    expect((await west.send(new DescribeKeyCommand({ KeyId: primary.KeyId! }))).KeyMetadata!.KeyState).toBe('Enabled');
    const ct = await east.send(new EncryptCommand({ KeyId: primary.KeyId!, Plaintext: Buffer.from('mrk') }));
    expect(Buffer.from((await west.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob! }))).Plaintext!).toString()).toBe('mrk');
  });

  it('rotates a multi-Region key only after the new material is in every replica', async () => {
    const primary = (await east.send(new CreateKeyCommand({ Origin: 'EXTERNAL', MultiRegion: true }))).KeyMetadata!.KeyId!;
    const m1 = randomBytes(32);
    const m2 = randomBytes(32);
    await importInto(east, primary, m1);
    await east.send(new ReplicateKeyCommand({ KeyId: primary, ReplicaRegion: 'eu-west-1' }));
    await importInto(west, primary, m1);
    const next = await importInto(east, primary, m2, { ImportType: 'NEW_KEY_MATERIAL' });
    expect((await rotations(east, primary))[1]).toMatchObject({ KeyMaterialId: next.KeyMaterialId, KeyMaterialState: 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION' });
    await expect(east.send(new RotateKeyOnDemandCommand({ KeyId: primary }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(importInto(west, primary, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' })).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
    await importInto(west, primary, m2, { ImportType: 'EXISTING_KEY_MATERIAL' });
    expect((await rotations(east, primary))[1]!.KeyMaterialState).toBe('PENDING_ROTATION');
    await expect(west.send(new RotateKeyOnDemandCommand({ KeyId: primary }))).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
    await east.send(new RotateKeyOnDemandCommand({ KeyId: primary }));
    for (const kms of [east, west]) {
      expect((await kms.send(new DescribeKeyCommand({ KeyId: primary }))).KeyMetadata!.CurrentKeyMaterialId).toBe(next.KeyMaterialId);
    }
  });

  it('a replica made before the primary has material learns the primary material and imports it (default ImportType)', async () => {
    const primary = (await east.send(new CreateKeyCommand({ Origin: 'EXTERNAL', MultiRegion: true }))).KeyMetadata!.KeyId!;
    await east.send(new ReplicateKeyCommand({ KeyId: primary, ReplicaRegion: 'eu-west-1' }));
    const material = randomBytes(32);
    const { KeyMaterialId } = await importInto(east, primary, material);
    expect((await west.send(new DescribeKeyCommand({ KeyId: primary }))).KeyMetadata).toMatchObject({ KeyState: 'PendingImport', CurrentKeyMaterialId: KeyMaterialId });
    await importInto(west, primary, material);
    expect((await west.send(new DescribeKeyCommand({ KeyId: primary }))).KeyMetadata!.KeyState).toBe('Enabled');
  });

  it('refuses to replicate a single-Region key (UnsupportedOperationException)', async () => {
    const keyId = (await east.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    await expect(east.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'eu-west-1' }))).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
  });
});
