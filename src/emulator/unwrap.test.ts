// The two unwrap engines agree: material wrapped by node:crypto (emulator.test.helpers) comes back the
// same from node-forge and from OpenSSL, for every algorithm and wrapping key size; both refuse a
// ciphertext for another key or algorithm with UnwrapFailure; and an emulator started with
// `unwrapEngine: 'openssl'` imports through the real SDK client.
import { createPublicKey, randomBytes } from 'node:crypto';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GetParametersForImportCommand, ImportKeyMaterialCommand, KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { ALGS, WRAP_SPECS, startTestEmulator, testWrappingKeys, wrap } from './emulator.test.helpers.js';
import { startEmulator } from './index.js';
import { UNWRAP_ENGINES, UnwrapFailure, unwrapKeyMaterial } from './unwrap.js';

const keys = testWrappingKeys();
const spki = (pem: string): Uint8Array => new Uint8Array(createPublicKey(pem).export({ type: 'spki', format: 'der' }));

describe('unwrap engines', () => {
  for (const spec of WRAP_SPECS) {
    for (const alg of ALGS) {
      it(`${alg} / ${spec}: node-forge and openssl return the wrapped material`, () => {
        const material = randomBytes(alg.startsWith('RSAES') ? 32 : 200);
        const wrapped = wrap(alg, spki(keys[spec][0]!), material);
        for (const engine of UNWRAP_ENGINES) expect(unwrapKeyMaterial(alg, keys[spec][0]!, wrapped, engine).equals(material), engine).toBe(true);
      });
    }
  }

  it('both refuse material wrapped for the other key pair, or unwrapped with the other hash', () => {
    const material = randomBytes(32);
    const forB = wrap('RSAES_OAEP_SHA_256', spki(keys.RSA_2048[1]!), material);
    const sha1 = wrap('RSA_AES_KEY_WRAP_SHA_1', spki(keys.RSA_2048[0]!), material);
    for (const engine of UNWRAP_ENGINES) {
      expect(() => unwrapKeyMaterial('RSAES_OAEP_SHA_256', keys.RSA_2048[0]!, forB, engine)).toThrow(UnwrapFailure);
      expect(() => unwrapKeyMaterial('RSA_AES_KEY_WRAP_SHA_256', keys.RSA_2048[0]!, sha1, engine)).toThrow(UnwrapFailure);
      expect(() => unwrapKeyMaterial('RSAES_OAEP_SHA_256', keys.RSA_2048[0]!, forB.subarray(1), engine)).toThrow(UnwrapFailure);
    }
  });

  it('an emulator on the openssl engine imports through the SDK, and refuses an unknown engine', async () => {
    await expect(startEmulator({ unwrapEngine: 'bogus' as never })).rejects.toThrow(/unknown unwrap engine/);
    const emu = await startTestEmulator({ unwrapEngine: 'openssl' });
    const kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
    try {
      const KeyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
      const p = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096' }));
      const material = randomBytes(32);
      await expect(
        kms.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: p.ImportToken!, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_1', p.PublicKey!, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })),
      ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
      await kms.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: p.ImportToken!, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey!, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
      const enc = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('hello') }));
      expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob! }))).Plaintext!).toString()).toBe('hello');
    } finally {
      kms.destroy();
      await emu.close();
    }
  });
});
