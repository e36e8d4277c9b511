// Creates fleet keys for the benchmark against an emulator: CreateKey, GetParametersForImport
// (RSA_2048, fast for the emulator to unwrap), ImportKeyMaterial, and a sealed escrow per key written
// by kms-byok's escrow file store (dist/), exactly the files onboard writes.
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateKeyCommand, GetParametersForImportCommand, ImportKeyMaterialCommand, KMSClient, TagResourceCommand } from '@aws-sdk/client-kms';
import { SecretBytes } from '../../dist/core/secret.js';
import { anchorFingerprint, anchorTagKey, recordImport, sealEscrow } from '../../dist/escrow/index.js';
import { updateSidecar, writeSealedEscrow } from '../../dist/escrow/file-store.js';
import { checkValue } from '../../dist/material/check-value.js';

const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function createFleet(endpoint, dir, recipient, regions, total, concurrency = 8) {
  mkdirSync(join(dir, 'escrow'), { recursive: true, mode: 0o700 });
  const clients = new Map(regions.map((r) => [r, new KMSClient({ region: r, endpoint, credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' }, maxAttempts: 3 })]));
  const out = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const region = regions[next++ % regions.length];
      const kms = clients.get(region);
      const md = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata;
      const bytes = randomBytes(32);
      const p = await kms.send(new GetParametersForImportCommand({ KeyId: md.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(p.PublicKey), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, bytes);
      const validTo = new Date(Math.floor((Date.now() + 30 * 86_400_000) / 1000) * 1000);
      const imported = await kms.send(new ImportKeyMaterialCommand({ KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo }));
      const material = SecretBytes.take(bytes);
      // The escrow anchor a ceremony writes before the first import (docs/escrow-format.md, "Anchors"):
      // without it every lifecycle command refuses the escrow (ERR_ESCROW_NOT_ANCHORED).
      await kms.send(new TagResourceCommand({ KeyId: md.KeyId, Tags: [{ TagKey: anchorTagKey(1), TagValue: anchorFingerprint(material, md.KeyId, 1) }] }));
      const created = iso(new Date());
      const sealed = await sealEscrow(
        {
          key: { keyArn: md.Arn, keyId: md.KeyId, account: '111122223333', region, keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', multiRegion: false },
          escrowVersion: 1,
          created,
          createdBy: 'bench@host',
          materials: [{ index: 1, checkValue: checkValue(material, 'SYMMETRIC_DEFAULT'), material, createdAt: created }],
        },
        { recipients: [{ recipient }] },
        { computeCheckValue: checkValue },
      );
      material.dispose();
      const written = await writeSealedEscrow(join(dir, 'escrow'), md.KeyId, sealed);
      await updateSidecar(written.sidecarPath, (s) =>
        recordImport(s, { materialIndex: 1, importedAt: created, region, expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: iso(validTo), keyMaterialId: imported.KeyMaterialId, wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKeySpec: 'RSA_2048' }),
      );
      out.push({ keyId: md.KeyId, region });
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    for (const c of clients.values()) c.destroy();
  }
  return out;
}
