import { constants, createHash, createHmac, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, verify as nodeVerify } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type CreateKeyCommandInput,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, wrap } from './emulator.test.helpers.js';
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

/** An EXTERNAL key holding `material` (no expiry). */
async function keyWith(input: CreateKeyCommandInput, material: Buffer): Promise<string> {
  const KeyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', ...input }))).KeyMetadata!.KeyId!;
  const p = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  await kms.send(
    new ImportKeyMaterialCommand({
      KeyId,
      ImportToken: p.ImportToken!,
      EncryptedKeyMaterial: wrap('RSA_AES_KEY_WRAP_SHA_256', p.PublicKey!, material),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    }),
  );
  return KeyId;
}

describe('Encrypt and Decrypt (symmetric)', () => {
  it('round-trips with the ciphertext alone, honours EncryptionContext, and refuses tampering', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const ctx = { tenant: 'a', purpose: 'demo' };
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret'), EncryptionContext: ctx }));
    expect(enc).toMatchObject({ KeyId: `arn:aws:kms:us-east-1:111122223333:key/${keyId}`, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob!, EncryptionContext: { purpose: 'demo', tenant: 'a' } }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('secret');
    expect(dec.KeyId).toBe(enc.KeyId);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob! }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob!, EncryptionContext: { tenant: 'b', purpose: 'demo' } }))).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
    const tampered = Buffer.from(enc.CiphertextBlob!);
    tampered[tampered.length - 20]! ^= 1;
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: ctx }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: randomBytes(80) }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('Decrypt with another KeyId is IncorrectKeyException; Encrypt with a non-encryption key is InvalidKeyUsageException', async () => {
    const a = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const b = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const enc = await kms.send(new EncryptCommand({ KeyId: a, Plaintext: Buffer.from('x') }));
    await expect(kms.send(new DecryptCommand({ KeyId: b, CiphertextBlob: enc.CiphertextBlob! }))).rejects.toMatchObject({ name: 'IncorrectKeyException' });
    expect(Buffer.from((await kms.send(new DecryptCommand({ KeyId: a, CiphertextBlob: enc.CiphertextBlob! }))).Plaintext!).toString()).toBe('x');
    const mac = (await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!;
    await expect(kms.send(new EncryptCommand({ KeyId: mac, Plaintext: Buffer.from('x') }))).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
    await expect(kms.send(new EncryptCommand({ KeyId: a, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
    });
  });

  it('DryRun checks the request and answers DryRunOperationException instead of doing it', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await expect(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), DryRun: true }))).rejects.toMatchObject({ name: 'DryRunOperationException' });
  });

  it('GenerateDataKey returns a data key and its ciphertext, which Decrypt opens', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    expect(dk.Plaintext).toHaveLength(32);
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob! }))).Plaintext).toEqual(dk.Plaintext);
  });
});

describe('asymmetric and HMAC keys', () => {
  it('RSA ENCRYPT_DECRYPT keys encrypt with RSAES_OAEP_SHA_256 and decrypt what node:crypto encrypted to the public key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = await keyWith({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }, privateKey.export({ format: 'der', type: 'pkcs8' }));
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    expect(pub).toMatchObject({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] });
    const spki = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
    const ct = publicEncrypt({ key: spki, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('hi'));
    const dec = await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: ct, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('hi');
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('yo'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }));
    expect(Buffer.from((await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: enc.CiphertextBlob!, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }))).Plaintext!).toString()).toBe('yo');
  });

  it('RSA SIGN_VERIFY keys sign RAW and DIGEST messages with PKCS#1 v1.5 and PSS, verifiable by node:crypto', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = await keyWith({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }, privateKey.export({ format: 'der', type: 'pkcs8' }));
    const message = Buffer.from('the message');
    for (const alg of ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_512'] as SigningAlgorithmSpec[]) {
      const hash = `sha${alg.slice(-3)}`;
      const padding = alg.startsWith('RSASSA_PSS')
        ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
        : { padding: constants.RSA_PKCS1_PADDING };
      for (const [MessageType, Message] of [
        ['RAW', message],
        ['DIGEST', createHash(hash).update(message).digest()],
      ] as const) {
        const s = await kms.send(new SignCommand({ KeyId: keyId, Message, MessageType, SigningAlgorithm: alg }));
        expect(nodeVerify(hash, message, { key: publicKey, ...padding }, Buffer.from(s.Signature!)), `${alg} ${MessageType}`).toBe(true);
        const v = await kms.send(new VerifyCommand({ KeyId: keyId, Message, MessageType, SigningAlgorithm: alg, Signature: s.Signature! }));
        expect(v.SignatureValid).toBe(true);
      }
    }
    const s = await kms.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }));
    await expect(kms.send(new VerifyCommand({ KeyId: keyId, Message: Buffer.from('other'), SigningAlgorithm: 'RSASSA_PSS_SHA_256', Signature: s.Signature! }))).rejects.toMatchObject({
      name: 'KMSInvalidSignatureException',
    });
    await expect(kms.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }))).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
  });

  it('ECC keys sign with ECDSA (DER signatures) verifiable by node:crypto, AWS_KMS-generated or imported', async () => {
    const generated = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const imported = await keyWith({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY' }, privateKey.export({ format: 'der', type: 'pkcs8' }));
    for (const [keyId, alg] of [
      [generated, 'ECDSA_SHA_256'],
      [imported, 'ECDSA_SHA_384'],
    ] as const) {
      const s = await kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: alg }));
      const pub = createPublicKey({ key: Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!), format: 'der', type: 'spki' });
      expect(nodeVerify(`sha${alg.slice(-3)}`, Buffer.from('m'), { key: pub, dsaEncoding: 'der' }, Buffer.from(s.Signature!))).toBe(true);
    }
    await expect(kms.send(new GetPublicKeyCommand({ KeyId: (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId! }))).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
    });
  });

  it('HMAC keys generate standard HMACs and verify them; a wrong MAC is KMSInvalidMacException', async () => {
    const material = randomBytes(48);
    const keyId = await keyWith({ KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC' }, material);
    const mac = await kms.send(new GenerateMacCommand({ KeyId: keyId, Message: Buffer.from('msg'), MacAlgorithm: 'HMAC_SHA_384' }));
    expect(Buffer.from(mac.Mac!)).toEqual(createHmac('sha384', material).update('msg').digest());
    expect((await kms.send(new VerifyMacCommand({ KeyId: keyId, Message: Buffer.from('msg'), MacAlgorithm: 'HMAC_SHA_384', Mac: mac.Mac! }))).MacValid).toBe(true);
    await expect(kms.send(new VerifyMacCommand({ KeyId: keyId, Message: Buffer.from('msh'), MacAlgorithm: 'HMAC_SHA_384', Mac: mac.Mac! }))).rejects.toMatchObject({
      name: 'KMSInvalidMacException',
    });
    await expect(kms.send(new GenerateMacCommand({ KeyId: keyId, Message: Buffer.from('msg'), MacAlgorithm: 'HMAC_SHA_256' }))).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
    });
  });
});
