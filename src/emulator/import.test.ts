import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, verify as nodeVerify } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type CreateKeyCommandInput,
  type ImportKeyMaterialCommandInput,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALGS, WRAP_SPECS, daysFrom, startTestEmulator, wrap, type Alg, type WrapSpec } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';

let emu: RunningEmulator;
let kms: KMSClient;

beforeAll(async () => {
  emu = await startTestEmulator();
  kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
});
afterAll(async () => {
  kms.destroy();
  await emu.close();
});

async function externalKey(input: CreateKeyCommandInput = {}): Promise<string> {
  const out = await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', ...input }));
  return out.KeyMetadata!.KeyId!;
}

async function params(KeyId: string, alg: Alg = 'RSAES_OAEP_SHA_256', spec: WrapSpec = 'RSA_2048') {
  const p = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: alg, WrappingKeySpec: spec }));
  return { token: p.ImportToken!, publicKey: p.PublicKey!, validTo: p.ParametersValidTo!, keyArn: p.KeyId! };
}

interface ImportOptions extends Partial<Omit<ImportKeyMaterialCommandInput, 'KeyId' | 'ImportToken' | 'EncryptedKeyMaterial'>> {
  alg?: Alg;
  spec?: WrapSpec;
}

/** GetParametersForImport, wrap with node:crypto, ImportKeyMaterial (ValidTo 30 days ahead unless given). */
async function importInto(KeyId: string, material: Uint8Array, o: ImportOptions = {}) {
  const { alg = 'RSAES_OAEP_SHA_256', spec = 'RSA_2048', ...rest } = o;
  const p = await params(KeyId, alg, spec);
  const expiry = rest.ExpirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE' ? {} : { ValidTo: rest.ValidTo ?? daysFrom(emu, 30) };
  return kms.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: p.token, EncryptedKeyMaterial: wrap(alg, p.publicKey, material), ...rest, ...expiry }));
}

async function describe_(KeyId: string) {
  return (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
}

describe('GetParametersForImport', () => {
  it('returns the key ARN, a DER SPKI RSA public key of the requested size, an opaque token and ParametersValidTo = now + 24 h', async () => {
    const keyId = await externalKey();
    for (const spec of WRAP_SPECS) {
      const before = emu.clock.now().getTime();
      const p = await params(keyId, 'RSA_AES_KEY_WRAP_SHA_256', spec);
      expect(p.keyArn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${keyId}`);
      const pub = createPublicKey({ key: Buffer.from(p.publicKey), format: 'der', type: 'spki' });
      expect(pub.asymmetricKeyType).toBe('rsa');
      expect(pub.asymmetricKeyDetails?.modulusLength).toBe(Number(spec.slice(4)));
      expect(p.token.length).toBeGreaterThan(16);
      expect(Math.abs(p.validTo.getTime() - (before + 86_400_000))).toBeLessThan(5_000);
    }
  });

  it('refuses RSAES_PKCS1_V1_5 with ValidationException', async () => {
    const keyId = await externalKey();
    await expect(kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_PKCS1_V1_5', WrappingKeySpec: 'RSA_2048' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('refuses a key whose origin is not EXTERNAL with UnsupportedOperationException', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    await expect(params(KeyMetadata!.KeyId!)).rejects.toMatchObject({ name: 'UnsupportedOperationException', message: /origin is AWS_KMS/ });
  });

  it('refuses an unknown key (NotFoundException), a missing algorithm (ValidationException) and a key pending deletion (KMSInvalidStateException)', async () => {
    await expect(params('11111111-2222-3333-4444-555555555555')).rejects.toMatchObject({ name: 'NotFoundException' });
    const keyId = await externalKey();
    await expect(kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingKeySpec: 'RSA_2048' } as never))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    await expect(params(keyId)).rejects.toMatchObject({ name: 'KMSInvalidStateException', message: /pending deletion/ });
  });
});

describe('ImportKeyMaterial: every wrapping algorithm with every wrapping key spec', () => {
  const cases = ALGS.flatMap((alg) => WRAP_SPECS.map((spec) => [alg, spec] as const));
  it.each(cases)('%s with %s: PendingImport → Enabled, and the key encrypts and decrypts', async (alg, spec) => {
    const keyId = await externalKey();
    expect((await describe_(keyId)).KeyState).toBe('PendingImport');
    const material = randomBytes(32);
    const out = await importInto(keyId, material, { alg, spec });
    expect(out.KeyId).toBe(`arn:aws:kms:us-east-1:111122223333:key/${keyId}`);
    expect(out.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    const meta = await describe_(keyId);
    expect(meta).toMatchObject({ KeyState: 'Enabled', Enabled: true, Origin: 'EXTERNAL', ExpirationModel: 'KEY_MATERIAL_EXPIRES', CurrentKeyMaterialId: out.KeyMaterialId });
    const ct = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('hello') }));
    const pt = await kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob! }));
    expect(Buffer.from(pt.Plaintext!).toString()).toBe('hello');
  });
});

describe('ImportKeyMaterial: the import token', () => {
  it('is bound to its key: a token of key A used on key B is InvalidImportTokenException', async () => {
    const a = await externalKey();
    const b = await externalKey();
    const p = await params(a);
    await expect(
      kms.send(new ImportKeyMaterialCommand({ KeyId: b, ImportToken: p.token, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.publicKey, randomBytes(32)), ValidTo: daysFrom(emu, 1) })),
    ).rejects.toMatchObject({ name: 'InvalidImportTokenException' });
  });

  it('is bound to the public key returned with it: token of call 1 with the public key of call 2 is InvalidCiphertextException', async () => {
    const keyId = await externalKey();
    const p1 = await params(keyId);
    const p2 = await params(keyId);
    expect(Buffer.from(p1.publicKey).equals(Buffer.from(p2.publicKey))).toBe(false);
    await expect(
      kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p1.token, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p2.publicKey, randomBytes(32)), ValidTo: daysFrom(emu, 1) })),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('is bound to its wrapping algorithm: material wrapped with another algorithm is InvalidCiphertextException', async () => {
    const keyId = await externalKey();
    const p = await params(keyId, 'RSAES_OAEP_SHA_256');
    await expect(
      kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.token, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_1', p.publicKey, randomBytes(32)), ValidTo: daysFrom(emu, 1) })),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    const q = await params(keyId, 'RSA_AES_KEY_WRAP_SHA_256');
    await expect(
      kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: q.token, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', q.publicKey, randomBytes(32)), ValidTo: daysFrom(emu, 1) })),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('garbled or unknown tokens are InvalidImportTokenException', async () => {
    const keyId = await externalKey();
    const p = await params(keyId);
    const garbled = Buffer.from(p.token);
    garbled[garbled.length - 1]! ^= 0xff;
    for (const token of [garbled, randomBytes(64)]) {
      await expect(
        kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: token, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.publicKey, randomBytes(32)), ValidTo: daysFrom(emu, 1) })),
      ).rejects.toMatchObject({ name: 'InvalidImportTokenException' });
    }
  });

  it('expires 24 hours after GetParametersForImport: ExpiredImportTokenException', async () => {
    const keyId = await externalKey();
    const p = await params(keyId);
    emu.clock.advance(24 * 3600_000 + 1000);
    await expect(
      kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.token, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.publicKey, randomBytes(32)), ValidTo: daysFrom(emu, 1) })),
    ).rejects.toMatchObject({ name: 'ExpiredImportTokenException' });
    // A fresh token works.
    await importInto(keyId, randomBytes(32));
  });

  it('may be used more than once while valid (re-importing the same material)', async () => {
    const keyId = await externalKey();
    const p = await params(keyId);
    const material = randomBytes(32);
    const wrapped = wrap('RSAES_OAEP_SHA_256', p.publicKey, material);
    await kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.token, EncryptedKeyMaterial: wrapped, ValidTo: daysFrom(emu, 2) }));
    await kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.token, EncryptedKeyMaterial: wrapped, ValidTo: daysFrom(emu, 3) }));
  });
});

describe('ImportKeyMaterial: ExpirationModel and ValidTo', () => {
  it('requires ValidTo by default (KEY_MATERIAL_EXPIRES) and forbids it with KEY_MATERIAL_DOES_NOT_EXPIRE', async () => {
    const keyId = await externalKey();
    const p = await params(keyId);
    const EncryptedKeyMaterial = wrap('RSAES_OAEP_SHA_256', p.publicKey, randomBytes(32));
    await expect(kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.token, EncryptedKeyMaterial }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: /ValidTo/,
    });
    await expect(
      kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.token, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ValidTo: daysFrom(emu, 1) })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.token, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    const meta = await describe_(keyId);
    expect(meta.ExpirationModel).toBe('KEY_MATERIAL_DOES_NOT_EXPIRE');
    expect(meta.ValidTo).toBeUndefined();
  });

  it('refuses a ValidTo in the past or more than 365 days ahead (by the emulator clock), accepts 365 days', async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    await expect(importInto(keyId, material, { ValidTo: daysFrom(emu, -1) })).rejects.toMatchObject({ name: 'ValidationException', message: /future/ });
    await expect(importInto(keyId, material, { ValidTo: daysFrom(emu, 366) })).rejects.toMatchObject({ name: 'ValidationException', message: /365 days/ });
    emu.clock.advance(400 * 86_400_000); // ValidTo is judged by the emulator clock, not the wall clock
    const validTo = daysFrom(emu, 364.9);
    await importInto(keyId, material, { ValidTo: validTo });
    expect((await describe_(keyId)).ValidTo?.getTime()).toBe(validTo.getTime());
  });
});

describe('ImportKeyMaterial: same material, different material, KeyMaterialId', () => {
  it('accepts the same material again (also through another wrapping) and updates ValidTo and ExpirationModel', async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    const first = await importInto(keyId, material, { ValidTo: daysFrom(emu, 10) });
    const later = daysFrom(emu, 200);
    const again = await importInto(keyId, material, { alg: 'RSA_AES_KEY_WRAP_SHA_1', spec: 'RSA_4096', ValidTo: later });
    expect(again.KeyMaterialId).toBe(first.KeyMaterialId);
    expect((await describe_(keyId)).ValidTo?.getTime()).toBe(later.getTime());
    await importInto(keyId, material, { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    const meta = await describe_(keyId);
    expect(meta).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(meta.ValidTo).toBeUndefined();
  });

  it('refuses different material with IncorrectKeyMaterialException', async () => {
    const keyId = await externalKey();
    await importInto(keyId, randomBytes(32));
    await expect(importInto(keyId, randomBytes(32))).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException' });
    await expect(importInto(keyId, randomBytes(32), { ImportType: 'EXISTING_KEY_MATERIAL' })).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException' });
  });

  it('checks a given KeyMaterialId: a mismatch is IncorrectKeyMaterialException, with NEW_KEY_MATERIAL it is ValidationException', async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    const { KeyMaterialId } = await importInto(keyId, material);
    await importInto(keyId, material, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId });
    await expect(importInto(keyId, material, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: 'a'.repeat(64) })).rejects.toMatchObject({
      name: 'IncorrectKeyMaterialException',
    });
    await expect(importInto(keyId, material, { KeyMaterialId: KeyMaterialId!.toUpperCase() })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(importInto(keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialId })).rejects.toMatchObject({ name: 'ValidationException' });
    // NEW with material already associated with the key
    await expect(importInto(keyId, material, { ImportType: 'NEW_KEY_MATERIAL' })).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException' });
  });

  it('derives KeyMaterialId from key id and material: the same bytes in two keys get two ids', async () => {
    const material = randomBytes(32);
    const a = await importInto(await externalKey(), material);
    const b = await importInto(await externalKey(), material);
    expect(a.KeyMaterialId).not.toBe(b.KeyMaterialId);
  });

  it('refuses material that does not fit the key spec (31 bytes for SYMMETRIC_DEFAULT) with IncorrectKeyMaterialException', async () => {
    const keyId = await externalKey();
    await expect(importInto(keyId, randomBytes(31))).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException', message: /256 bits/ });
    expect((await describe_(keyId)).KeyState).toBe('PendingImport');
  });

  it('refuses EncryptedKeyMaterial over 6144 bytes with ValidationException', async () => {
    const keyId = await externalKey();
    const p = await params(keyId);
    await expect(
      kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.token, EncryptedKeyMaterial: randomBytes(6145), ValidTo: daysFrom(emu, 1) })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('ImportKeyMaterial: HMAC and asymmetric keys', () => {
  it('HMAC key lengths follow AWS: HMAC_256 takes 256–1024 bits, HMAC_224 from 224 bits; the MAC is standard HMAC', async () => {
    const hmac256 = await externalKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await expect(importInto(hmac256, randomBytes(31))).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException' });
    await expect(importInto(hmac256, randomBytes(129))).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException' });
    const material = randomBytes(128);
    const out = await importInto(hmac256, material);
    expect(out.KeyMaterialId).toBeUndefined(); // KeyMaterialId is a symmetric encryption key feature
    const mac = await kms.send(new GenerateMacCommand({ KeyId: hmac256, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' }));
    expect(Buffer.from(mac.Mac!)).toEqual(createHmac('sha256', material).update('m').digest());
    const hmac224 = await externalKey({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await importInto(hmac224, randomBytes(28), { alg: 'RSA_AES_KEY_WRAP_SHA_256' });
    expect((await describe_(hmac224)).KeyState).toBe('Enabled');
    await expect(importInto(hmac224, randomBytes(28), { ImportType: 'EXISTING_KEY_MATERIAL' })).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('RSA keys take a PKCS#8 private key of their modulus size through RSA_AES_KEY_WRAP, and sign with it', async () => {
    const keyId = await externalKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    const wrongSize = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'der', type: 'pkcs8' });
    await expect(importInto(keyId, wrongSize, { alg: 'RSA_AES_KEY_WRAP_SHA_256', spec: 'RSA_4096' })).rejects.toMatchObject({
      name: 'IncorrectKeyMaterialException',
      message: /2048-bit modulus/,
    });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await importInto(keyId, privateKey.export({ format: 'der', type: 'pkcs8' }), { alg: 'RSA_AES_KEY_WRAP_SHA_256', spec: 'RSA_3072' });
    const sig = await kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('doc'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }));
    expect(nodeVerify('sha256', Buffer.from('doc'), publicKey, Buffer.from(sig.Signature!))).toBe(true);
  });

  it('ECC keys take a PKCS#8 private key on their curve through RSAES_OAEP; GetPublicKey returns its public key', async () => {
    const keyId = await externalKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const otherCurve = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    await expect(importInto(keyId, otherCurve, { spec: 'RSA_3072' })).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException', message: /prime256v1/ });
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await importInto(keyId, privateKey.export({ format: 'der', type: 'pkcs8' }), { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    expect(Buffer.from(pub.PublicKey!)).toEqual(publicKey.export({ format: 'der', type: 'spki' }));
    expect(pub.SigningAlgorithms).toEqual(['ECDSA_SHA_256']);
  });
});

describe('expiry and deletion of imported material', () => {
  it('when the clock passes ValidTo the key goes to PendingImport, Encrypt and Decrypt fail, and re-import restores it', async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    await importInto(keyId, material, { ValidTo: daysFrom(emu, 2) });
    const ct = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before expiry') }));
    emu.clock.advance(2 * 86_400_000 + 1000);
    const meta = await describe_(keyId);
    expect(meta).toMatchObject({ KeyState: 'PendingImport', Enabled: false });
    expect(meta.ValidTo).toBeUndefined();
    await expect(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: /is pending import/,
    });
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob! }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(importInto(keyId, randomBytes(32))).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException' });
    await importInto(keyId, material);
    const pt = await kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob! }));
    expect(Buffer.from(pt.Plaintext!).toString()).toBe('before expiry');
  });

  it('DeleteImportedKeyMaterial is immediate: PendingImport, and after re-import ciphertexts from before decrypt again', async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    const { KeyMaterialId } = await importInto(keyId, material);
    const ct = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept'), EncryptionContext: { purpose: 'test' } }));
    const del = await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    expect(del).toMatchObject({ KeyId: `arn:aws:kms:us-east-1:111122223333:key/${keyId}`, KeyMaterialId });
    expect((await describe_(keyId)).KeyState).toBe('PendingImport');
    await expect(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await importInto(keyId, material, { alg: 'RSA_AES_KEY_WRAP_SHA_256' });
    const pt = await kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob!, EncryptionContext: { purpose: 'test' } }));
    expect(Buffer.from(pt.Plaintext!).toString()).toBe('kept');
    expect(pt.KeyMaterialId).toBe(KeyMaterialId);
  });

  it('DeleteImportedKeyMaterial keeps a key PendingDeletion, refuses AWS_KMS keys, and an unknown KeyMaterialId is NotFoundException', async () => {
    const keyId = await externalKey();
    await importInto(keyId, randomBytes(32));
    await expect(kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: 'b'.repeat(64) }))).rejects.toMatchObject({ name: 'NotFoundException' });
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    expect((await describe_(keyId)).KeyState).toBe('PendingDeletion');
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    await expect(kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: KeyMetadata!.KeyId! }))).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
  });
});
