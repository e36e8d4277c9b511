import { randomBytes } from 'node:crypto';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
  type CreateKeyCommandInput,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysFrom, startTestEmulator, wrap } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';

let emu: RunningEmulator;
let kms: KMSClient;
const ARN = 'arn:aws:kms:us-east-1:111122223333:key/';

function client(region: string): KMSClient {
  return new KMSClient({ region, endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
}

beforeAll(async () => {
  emu = await startTestEmulator();
  kms = client('us-east-1');
});
afterAll(async () => {
  kms.destroy();
  await emu.close();
});

async function create(input: CreateKeyCommandInput = {}) {
  return (await kms.send(new CreateKeyCommand(input))).KeyMetadata!;
}
async function state(KeyId: string) {
  return (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
}
async function importMaterial(KeyId: string, material: Buffer) {
  const p = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  await kms.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: p.ImportToken!, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey!, material), ValidTo: daysFrom(emu, 30) }));
}

describe('CreateKey', () => {
  it('defaults to an Enabled SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key with AWS_KMS material, described as AWS describes it', async () => {
    const before = emu.clock.now().getTime();
    const m = await create({ Description: 'demo', Tags: [{ TagKey: 'team', TagValue: 'x' }] });
    expect(m.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(m).toMatchObject({
      AWSAccountId: '111122223333',
      Arn: ARN + m.KeyId,
      Enabled: true,
      Description: 'demo',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
    });
    expect(m.CurrentKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect(m.ExpirationModel).toBeUndefined();
    expect(Math.abs(m.CreationDate!.getTime() - before)).toBeLessThan(5_000);
  });

  it('creates EXTERNAL keys in PendingImport, without material, expiry or current material id', async () => {
    const m = await create({ Origin: 'EXTERNAL' });
    expect(m).toMatchObject({ KeyState: 'PendingImport', Enabled: false, Origin: 'EXTERNAL' });
    expect(m.ExpirationModel).toBeUndefined();
    expect(m.ValidTo).toBeUndefined();
    expect(m.CurrentKeyMaterialId).toBeUndefined();
  });

  it('reports the algorithms AWS gives for each key spec and usage', async () => {
    const cases: [CreateKeyCommandInput, Record<string, unknown>][] = [
      [{ KeySpec: 'HMAC_512', KeyUsage: 'GENERATE_VERIFY_MAC' }, { MacAlgorithms: ['HMAC_SHA_512'] }],
      [{ KeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT_DECRYPT' }, { EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] }],
      [
        { KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY' },
        { SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512', 'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512'] },
      ],
      [{ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY' }, { SigningAlgorithms: ['ECDSA_SHA_384'] }],
      [{ KeySpec: 'ECC_NIST_P521', KeyUsage: 'SIGN_VERIFY' }, { SigningAlgorithms: ['ECDSA_SHA_512'] }],
      [{ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' }, { SigningAlgorithms: ['ECDSA_SHA_256'] }],
      [{ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' }, { KeyAgreementAlgorithms: ['ECDH'] }],
    ];
    for (const [input, expected] of cases) {
      const m = await create({ Origin: 'EXTERNAL', ...input });
      expect(m, input.KeySpec).toMatchObject({ KeySpec: input.KeySpec, CustomerMasterKeySpec: input.KeySpec, KeyUsage: input.KeyUsage, ...expected });
      expect(m.EncryptionAlgorithms === undefined || 'EncryptionAlgorithms' in expected).toBe(true);
    }
    const hmac = await create({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' }); // AWS_KMS-generated HMAC key
    expect(hmac).toMatchObject({ KeyState: 'Enabled', MacAlgorithms: ['HMAC_SHA_224'] });
  });

  it('validates KeySpec, KeyUsage, Origin, Policy and Tags as AWS does', async () => {
    await expect(create({ KeySpec: 'HMAC_256' })).rejects.toMatchObject({ name: 'ValidationException', message: /KeyUsage/ });
    await expect(create({ KeySpec: 'RSA_2048', KeyUsage: 'GENERATE_VERIFY_MAC' })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(create({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'KEY_AGREEMENT' })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(create({ KeySpec: 'SYMMETRIC_DEFAULT', CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT' })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(create({ KeySpec: 'AES_256' as never })).rejects.toMatchObject({ name: 'ValidationException', message: /enum value set/ });
    await expect(create({ KeySpec: 'ML_DSA_44', KeyUsage: 'SIGN_VERIFY' })).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
    await expect(create({ Origin: 'AWS_CLOUDHSM' })).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
    await expect(create({ Policy: '{not json' })).rejects.toMatchObject({ name: 'MalformedPolicyDocumentException' });
    await expect(create({ Tags: [{ TagKey: 'a', TagValue: '1' }, { TagKey: 'a', TagValue: '2' }] })).rejects.toMatchObject({ name: 'TagException' });
  });

  it('gives multi-Region keys an mrk- key id and a MultiRegionConfiguration naming the primary', async () => {
    const m = await create({ Origin: 'EXTERNAL', MultiRegion: true });
    expect(m.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(m.MultiRegion).toBe(true);
    expect(m.MultiRegionConfiguration).toEqual({ MultiRegionKeyType: 'PRIMARY', PrimaryKey: { Arn: ARN + m.KeyId, Region: 'us-east-1' }, ReplicaKeys: [] });
  });
});

describe('DescribeKey and ListKeys', () => {
  it('finds a key by key id, key ARN, alias name and alias ARN', async () => {
    const m = await create();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/describe-me', TargetKeyId: m.KeyId! }));
    for (const id of [m.KeyId!, m.Arn!, 'alias/describe-me', 'arn:aws:kms:us-east-1:111122223333:alias/describe-me']) {
      expect((await state(id)).KeyId, id).toBe(m.KeyId);
    }
  });

  it('answers NotFoundException for unknown ids and aliases and for ARNs of another Region, InvalidArnException for malformed ARNs', async () => {
    const m = await create();
    await expect(state('00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({ name: 'NotFoundException', message: /does not exist/ });
    await expect(state('alias/nobody')).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(state(`arn:aws:kms:eu-west-1:111122223333:key/${m.KeyId}`)).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(state('arn:aws:kms:nonsense')).rejects.toMatchObject({ name: 'InvalidArnException' });
  });

  it('pages ListKeys with Limit and Marker', async () => {
    const eu = client('eu-west-3');
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await eu.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!);
    const seen: string[] = [];
    let Marker: string | undefined;
    let pages = 0;
    do {
      const page = await eu.send(new ListKeysCommand({ Limit: 2, ...(Marker ? { Marker } : {}) }));
      pages++;
      for (const k of page.Keys!) {
        expect(k.KeyArn).toBe(`arn:aws:kms:eu-west-3:111122223333:key/${k.KeyId}`);
        seen.push(k.KeyId!);
      }
      Marker = page.Truncated ? page.NextMarker : undefined;
    } while (Marker);
    expect(pages).toBe(3);
    expect(new Set(seen)).toEqual(ids);
    await expect(eu.send(new ListKeysCommand({ Marker: 'garbage' }))).rejects.toMatchObject({ name: 'InvalidMarkerException' });
    await expect(eu.send(new ListKeysCommand({ Limit: 0 }))).rejects.toMatchObject({ name: 'ValidationException' });
    eu.destroy();
  });
});

describe('key state transitions', () => {
  it('walks an EXTERNAL key through every state with AWS exceptions on the way', async () => {
    const keyId = (await create({ Origin: 'EXTERNAL' })).KeyId!;
    const enc = () => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('p') }));
    // PendingImport
    await expect(kms.send(new EnableKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException', message: /pending import/ });
    await expect(kms.send(new DisableKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(enc()).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    // → Enabled
    const material = randomBytes(32);
    await importMaterial(keyId, material);
    expect((await state(keyId)).KeyState).toBe('Enabled');
    const ct = await enc();
    // → Disabled
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    expect(await state(keyId)).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    await expect(enc()).rejects.toMatchObject({ name: 'DisabledException', message: /is disabled/ });
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob! }))).rejects.toMatchObject({ name: 'DisabledException' });
    // re-import into a Disabled key keeps it Disabled
    await importMaterial(keyId, material);
    expect((await state(keyId)).KeyState).toBe('Disabled');
    // deleting material from a Disabled key → PendingImport; re-import → Enabled
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    expect((await state(keyId)).KeyState).toBe('PendingImport');
    await importMaterial(keyId, material);
    expect((await state(keyId)).KeyState).toBe('Enabled');
    // → PendingDeletion
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    const sched = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(sched).toMatchObject({ KeyId: ARN + keyId, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    const meta = await state(keyId);
    expect(meta.KeyState).toBe('PendingDeletion');
    expect(meta.DeletionDate!.getTime()).toBe(sched.DeletionDate!.getTime());
    expect(Math.abs(meta.DeletionDate!.getTime() - daysFrom(emu, 7).getTime())).toBeLessThan(5_000);
    await expect(enc()).rejects.toMatchObject({ name: 'KMSInvalidStateException', message: /pending deletion/ });
    await expect(kms.send(new EnableKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    // → Disabled (CancelKeyDeletion)
    expect(await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }))).toMatchObject({ KeyId: ARN + keyId });
    const after = await state(keyId);
    expect(after.KeyState).toBe('Disabled');
    expect(after.DeletionDate).toBeUndefined();
    await expect(kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException', message: /not pending deletion/ });
  });

  it('a key without material goes back to PendingImport when its deletion is cancelled', async () => {
    const keyId = (await create({ Origin: 'EXTERNAL' })).KeyId!;
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId }));
    await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect((await state(keyId)).KeyState).toBe('PendingImport');
  });

  it('ScheduleKeyDeletion takes 7–30 days (default 30) and the key is gone, with its aliases, when the clock passes DeletionDate', async () => {
    const keyId = (await create()).KeyId!;
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 6 }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 31 }))).rejects.toMatchObject({ name: 'ValidationException' });
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: keyId }));
    const s = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId }));
    expect(s.PendingWindowInDays).toBe(30);
    emu.clock.advance(29 * 86_400_000);
    expect((await state(keyId)).KeyState).toBe('PendingDeletion');
    emu.clock.advance(86_400_000 + 1000);
    await expect(state(keyId)).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(state('alias/doomed')).rejects.toMatchObject({ name: 'NotFoundException' });
  });
});

describe('aliases', () => {
  it('creates, lists, updates and deletes aliases per AWS rules', async () => {
    const a = (await create()).KeyId!;
    const b = (await create()).KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/app/main', TargetKeyId: a }));
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/app/main', TargetKeyId: b }))).rejects.toMatchObject({ name: 'AlreadyExistsException' });
    const list = await kms.send(new ListAliasesCommand({ KeyId: a }));
    expect(list.Aliases).toHaveLength(1);
    expect(list.Aliases![0]).toMatchObject({ AliasName: 'alias/app/main', AliasArn: 'arn:aws:kms:us-east-1:111122223333:alias/app/main', TargetKeyId: a });
    expect(list.Aliases![0]!.CreationDate).toBeInstanceOf(Date);
    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/app/main', TargetKeyId: ARN + b }));
    expect((await state('alias/app/main')).KeyId).toBe(b);
    expect((await kms.send(new ListAliasesCommand({ KeyId: a }))).Aliases).toEqual([]);
    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/main' }));
    await expect(kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/main' }))).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(kms.send(new UpdateAliasCommand({ AliasName: 'alias/app/main', TargetKeyId: a }))).rejects.toMatchObject({ name: 'NotFoundException' });
  });

  it('refuses bad names, the reserved alias/aws/ prefix, alias targets and targets pending deletion', async () => {
    const a = (await create()).KeyId!;
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'no-prefix', TargetKeyId: a }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: /must start with the prefix "alias\/"/,
    });
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/has space', TargetKeyId: a }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/s3', TargetKeyId: a }))).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/ok:1_a-b', TargetKeyId: a }));
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/other', TargetKeyId: 'alias/ok:1_a-b' }))).rejects.toMatchObject({ name: 'NotFoundException' });
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: a }));
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/late', TargetKeyId: a }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
  });
});
