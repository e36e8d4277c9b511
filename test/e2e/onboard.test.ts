/**
 * `onboard` end to end: main(argv, io) against a started emulator, through the real SDK client.
 * The escrow is opened by the test and its material re-imported independently (node:crypto
 * wrapping), so "the escrow holds what KMS holds" is proven by KMS's own answer.
 */
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import { openEscrow, disposePayload } from '../../src/escrow/index.js';
import { readEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

interface OnboardJson {
  keyId: string;
  keyArn: string;
  alias: string;
  keyState: string;
  origin: string;
  validTo: string;
  expirationModel: string;
  keyMaterialId: string;
  checkValue: string;
  wrappingAlgorithm: string;
  wrappingKeySpec: string;
  escrow: { path: string; sidecarPath: string };
  verified: { enabled: boolean; method: string; keyMaterialIdConfirmed: boolean };
}

async function openedMaterial(path: string): Promise<Uint8Array> {
  const payload = await openEscrow(await readEscrow(path), { identities: [alice.identity] }, { computeCheckValue: checkValue });
  const copy = payload.materials[0]!.material.use((b) => Uint8Array.from(b));
  disposePayload(payload);
  return copy;
}

/** Re-imports `material` into `keyId` with node:crypto OAEP-SHA256 wrapping (independent of src/wrapping). */
async function reimport(keyId: string, material: Uint8Array, validTo: Date) {
  const params = await ws.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  const key = createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' });
  const wrapped = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
  return ws.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapped, ValidTo: validTo, ImportType: 'EXISTING_KEY_MATERIAL' }));
}

describe('onboard', () => {
  let out: OnboardJson;
  let stderr: string;

  beforeAll(async () => {
    const r = await run(['onboard', ...ws.target, '--yes', '--json', '--alias', 'alias/e2e-payments', '--expires-in', '90d', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow')]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code, r.stderr).toBe(0);
    out = r.json<OnboardJson>();
    stderr = r.stderr;
  });

  it('prints one JSON document with the key, alias, expiry, KeyMaterialId, labelled check value and escrow', () => {
    expect(out.keyArn).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\/[0-9a-f-]{36}$/);
    expect(out.alias).toBe('alias/e2e-payments');
    expect(out.keyState).toBe('Enabled');
    expect(out.origin).toBe('EXTERNAL');
    expect(out.expirationModel).toBe('KEY_MATERIAL_EXPIRES');
    expect(out.keyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect(out.checkValue).toMatch(/^cmac-aes:[0-9A-F]{6}$/);
    expect([out.wrappingAlgorithm, out.wrappingKeySpec]).toEqual(['RSAES_OAEP_SHA_256', 'RSA_4096']);
    expect(out.verified).toMatchObject({ enabled: true, method: 'encrypt-decrypt', keyMaterialIdConfirmed: true });
    const days = (Date.parse(out.validTo) - ws.emu.clock.now().getTime()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);
  });

  it('reports each step on stderr, the escrow before the import', () => {
    const sealed = stderr.indexOf('material sealed in escrow');
    const imported = stderr.indexOf('imported key material');
    expect(sealed).toBeGreaterThan(0);
    expect(imported).toBeGreaterThan(sealed);
    expect(stderr).toContain('verified: key Enabled, Encrypt/Decrypt round trip ok');
    expect(stderr).toContain('verified: KMS accepted a re-import of the escrowed material under KeyMaterialId');
  });

  it('called ImportKeyMaterial only after the escrow existed (request order)', () => {
    const ops = ws.emu.requests.map((r) => r.operation);
    expect(ops.indexOf('CreateKey')).toBeLessThan(ops.indexOf('GetParametersForImport'));
    expect(ops.indexOf('GetParametersForImport')).toBeLessThan(ops.indexOf('ImportKeyMaterial'));
  });

  it('writes the escrow and its sidecar with mode 0600', () => {
    expect(statSync(out.escrow.path).mode & 0o777).toBe(0o600);
    expect(statSync(out.escrow.sidecarPath).mode & 0o777).toBe(0o600);
  });

  it('leaves the key Enabled, EXTERNAL, with the ValidTo it printed, behind the alias', async () => {
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: 'alias/e2e-payments' }));
    expect(d.KeyMetadata?.KeyState).toBe('Enabled');
    expect(d.KeyMetadata?.Origin).toBe('EXTERNAL');
    expect(d.KeyMetadata?.Arn).toBe(out.keyArn);
    expect(d.KeyMetadata?.ValidTo?.toISOString()).toBe(new Date(out.validTo).toISOString());
    const aliases = await ws.kms.send(new ListAliasesCommand({ KeyId: out.keyId }));
    expect(aliases.Aliases?.map((a) => a.AliasName)).toEqual(['alias/e2e-payments']);
  });

  it('the escrowed material is the material KMS holds: KMS accepts its re-import, refuses other material', async () => {
    const material = await openedMaterial(out.escrow.path);
    expect(material).toHaveLength(32);
    const ct = await ws.kms.send(new EncryptCommand({ KeyId: out.keyId, Plaintext: Buffer.from('proof') }));
    const validTo = new Date(ws.emu.clock.now().getTime() + 30 * 86_400_000);
    const accepted = await reimport(out.keyId, material, validTo);
    expect(accepted.KeyMaterialId).toBe(out.keyMaterialId);
    const back = await ws.kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }));
    expect(Buffer.from(back.Plaintext!).toString()).toBe('proof');
    await expect(reimport(out.keyId, randomBytes(32), validTo)).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException' });
  });

  it('records the KeyMaterialId and ValidTo in the sidecar, and escrow verify shows them', async () => {
    const r = await run(['escrow', 'verify', out.escrow.path, '--identity', alice.path, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = r.json<{ escrow: { path: string }; materials: { checkValue: string; keyMaterialId: string; validTo: string }[] }>();
    expect(v.escrow.path).toBe(out.escrow.path);
    expect(v.materials).toHaveLength(1);
    expect(v.materials[0]).toMatchObject({ checkValue: out.checkValue, keyMaterialId: out.keyMaterialId });
    expect(Date.parse(v.materials[0]!.validTo)).toBe(Date.parse(out.validTo));
    expect(r.stdout).not.toContain(Buffer.from(await openedMaterial(out.escrow.path)).toString('hex'));
  });
});
