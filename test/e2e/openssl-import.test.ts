/**
 * The AWS-documented manual procedure, run for real: material from `openssl rand`, wrapped with
 * `openssl pkeyutl` (and `openssl enc -id-aes256-wrap-pad` for RSA_AES_KEY_WRAP on an ECC key), imported
 * into the emulator through the SDK. Together with test/vectors (openssl decrypting our wrapping), this
 * shows neither our wrapping nor the emulator only agrees with itself.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  GetPublicKeyCommand,
} from '@aws-sdk/client-kms';
import { workspace, type Workspace } from './harness.js';

let ws: Workspace;
let dir: string;
beforeAll(async () => {
  ws = await workspace();
  dir = mkdtempSync(join(tmpdir(), 'kms-byok-openssl-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await ws?.close();
});

const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const OAEP = (md: string) => ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${md}`, '-pkeyopt', `rsa_mgf1_md:${md}`];

async function newExternalKey(KeySpec: 'SYMMETRIC_DEFAULT' | 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY') {
  const k = await ws.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', KeySpec, KeyUsage }));
  return k.KeyMetadata!.KeyId!;
}

async function importParameters(keyId: string, WrappingAlgorithm: 'RSAES_OAEP_SHA_256' | 'RSAES_OAEP_SHA_1' | 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' | 'RSA_4096') {
  const p = await ws.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm, WrappingKeySpec }));
  writeFileSync(join(dir, 'WrappingPublicKey.bin'), p.PublicKey!);
  return p.ImportToken!;
}

describe('material wrapped by openssl as the AWS documentation shows is accepted', () => {
  for (const [alg, md, spec] of [['RSAES_OAEP_SHA_256', 'sha256', 'RSA_4096'], ['RSAES_OAEP_SHA_1', 'sha1', 'RSA_2048']] as const) {
    it(`${alg} with ${spec}: openssl rand + openssl pkeyutl -encrypt`, async () => {
      const keyId = await newExternalKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
      const token = await importParameters(keyId, alg, spec);
      openssl('rand', '-out', 'PlaintextKeyMaterial.bin', '32');
      openssl('pkeyutl', '-encrypt', '-in', 'PlaintextKeyMaterial.bin', '-out', 'EncryptedKeyMaterial.bin', '-inkey', 'WrappingPublicKey.bin', '-keyform', 'DER', '-pubin', ...OAEP(md));
      await ws.kms.send(new ImportKeyMaterialCommand({
        KeyId: keyId, ImportToken: token, EncryptedKeyMaterial: readFileSync(join(dir, 'EncryptedKeyMaterial.bin')), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }));
      expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('Enabled');
      const ct = await ws.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('hello') }));
      const pt = await ws.kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }));
      expect(Buffer.from(pt.Plaintext!).toString()).toBe('hello');
    });
  }

  it('RSA_AES_KEY_WRAP_SHA_256: openssl enc -id-aes256-wrap-pad + pkeyutl, for an ECC_NIST_P256 private key', async () => {
    const keyId = await newExternalKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const token = await importParameters(keyId, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_4096');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(join(dir, 'PrivateKey.der'), privateKey.export({ type: 'pkcs8', format: 'der' }), { mode: 0o600 });
    const aesKey = randomBytes(32).toString('hex');
    writeFileSync(join(dir, 'aes-key.bin'), Buffer.from(aesKey, 'hex'), { mode: 0o600 });
    openssl('enc', '-id-aes256-wrap-pad', '-K', aesKey, '-iv', 'A65959A6', '-in', 'PrivateKey.der', '-out', 'key-material-wrapped.bin');
    openssl('pkeyutl', '-encrypt', '-in', 'aes-key.bin', '-out', 'aes-key-wrapped.bin', '-inkey', 'WrappingPublicKey.bin', '-keyform', 'DER', '-pubin', ...OAEP('sha256'));
    const wrapped = Buffer.concat([readFileSync(join(dir, 'aes-key-wrapped.bin')), readFileSync(join(dir, 'key-material-wrapped.bin'))]);
    await ws.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: token, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    const pub = await ws.kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    expect(Buffer.from(pub.PublicKey!).equals(publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
  });

  it('a token from one call with the public key of another is refused (InvalidCiphertextException)', async () => {
    const keyId = await newExternalKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
    const token = await importParameters(keyId, 'RSAES_OAEP_SHA_256', 'RSA_2048');
    await importParameters(keyId, 'RSAES_OAEP_SHA_256', 'RSA_2048'); // overwrites WrappingPublicKey.bin with the second call's key
    openssl('rand', '-out', 'PlaintextKeyMaterial.bin', '32');
    openssl('pkeyutl', '-encrypt', '-in', 'PlaintextKeyMaterial.bin', '-out', 'EncryptedKeyMaterial.bin', '-inkey', 'WrappingPublicKey.bin', '-keyform', 'DER', '-pubin', ...OAEP('sha256'));
    await expect(ws.kms.send(new ImportKeyMaterialCommand({
      KeyId: keyId, ImportToken: token, EncryptedKeyMaterial: readFileSync(join(dir, 'EncryptedKeyMaterial.bin')), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });
});
