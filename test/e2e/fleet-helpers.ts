/**
 * Fleet fixtures for the end-to-end tests: many keys with imported material and a sealed escrow
 * each, made directly through the SDK (CreateKey, GetParametersForImport with RSA_2048 so the
 * emulator unwraps fast, ImportKeyMaterial) and the escrow file store — the same files onboard
 * writes — then a plan over them.
 */
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { CreateKeyCommand, GetParametersForImportCommand, ImportKeyMaterialCommand, KMSClient, TagResourceCommand } from '@aws-sdk/client-kms';
import { SecretBytes } from '../../src/core/secret.js';
import { anchorFingerprint, anchorTagKey, recordImport, sealEscrow } from '../../src/escrow/index.js';
import { updateSidecar, writeSealedEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';

const DAY = 86_400_000;

/** Creates `perRegion` symmetric EXTERNAL keys per Region with material valid 30 days and an escrow each in `<dir>/escrow`. */
export async function createFleet(
  endpoint: string,
  dir: string,
  recipient: string,
  regions: string[],
  perRegion: number,
  concurrency = 8,
  /** Another account's: its credentials (a role's, from STS AssumeRole) and its id. */
  as: { credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }; account: string } = { credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, account: '111122223333' },
): Promise<{ keyId: string; region: string }[]> {
  const clients = new Map(regions.map((r) => [r, new KMSClient({ region: r, endpoint, credentials: as.credentials, maxAttempts: 3 })]));
  mkdirSync(join(dir, 'escrow'), { recursive: true, mode: 0o700 });
  const jobs = regions.flatMap((region) => Array.from({ length: perRegion }, () => region));
  const out: { keyId: string; region: string }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const region = jobs[next++]!;
      const kms = clients.get(region)!;
      const md = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;
      const bytes = randomBytes(32);
      const params = await kms.send(new GetParametersForImportCommand({ KeyId: md.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, bytes);
      const validTo = new Date(Math.floor((Date.now() + 30 * DAY) / 1000) * 1000);
      // The anchor onboard writes before the import (docs/escrow-format.md, "Anchors").
      const fp = anchorFingerprint(SecretBytes.copyOf(bytes), md.KeyId!, 1);
      await kms.send(new TagResourceCommand({ KeyId: md.KeyId, Tags: [{ TagKey: anchorTagKey(1), TagValue: fp }] }));
      const imported = await kms.send(new ImportKeyMaterialCommand({ KeyId: md.KeyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo }));
      const material = SecretBytes.take(bytes);
      const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const sealed = await sealEscrow(
        {
          key: { keyArn: md.Arn!, keyId: md.KeyId!, account: as.account, region, keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', multiRegion: false },
          escrowVersion: 1,
          created,
          createdBy: 'test@host',
          materials: [{ index: 1, checkValue: checkValue(material, 'SYMMETRIC_DEFAULT'), material, createdAt: created }],
        },
        { recipients: [{ recipient }] },
        { computeCheckValue: checkValue },
      );
      material.dispose();
      const written = await writeSealedEscrow(join(dir, 'escrow'), md.KeyId!, sealed);
      await updateSidecar(written.sidecarPath, (s) =>
        recordImport(s, {
          materialIndex: 1,
          importedAt: created,
          region,
          expirationModel: 'KEY_MATERIAL_EXPIRES',
          validTo: validTo.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          ...(imported.KeyMaterialId ? { keyMaterialId: imported.KeyMaterialId } : {}),
          wrappingAlgorithm: 'RSAES_OAEP_SHA_256',
          wrappingKeySpec: 'RSA_2048',
        }),
      );
      out.push({ keyId: md.KeyId!, region });
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    for (const c of clients.values()) c.destroy();
  }
  return out;
}

/** Writes a plan over `keys` (identity and escrow dir beside it) and returns its path. */
export function writePlan(dir: string, name: string, keys: { keyId: string; region: string }[], defaults: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', identity: 'alice.txt', ...defaults }, keys: keys.map((k) => ({ key: k.keyId, region: k.region })) }, null, 2));
  return path;
}

/** Whether the aws CLI is installed (keys "made behind kms-byok's back" need it). */
export const hasAwsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * An EXTERNAL key created with the aws CLI, as someone outside kms-byok would, with the given
 * credentials (only those: no config or credentials file). Asynchronous: the emulator answering it
 * runs in the calling process.
 */
export async function createKeyWithAwsCli(endpoint: string, region: string, home: string, c: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): Promise<{ KeyId: string; Arn: string }> {
  const r = await promisify(execFile)('aws', ['kms', 'create-key', '--origin', 'EXTERNAL', '--description', 'made by hand', '--endpoint-url', endpoint, '--region', region, '--output', 'json'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: home, AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_SESSION_TOKEN: c.sessionToken ?? '', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' },
  });
  return (JSON.parse(r.stdout) as { KeyMetadata: { KeyId: string; Arn: string } }).KeyMetadata;
}
