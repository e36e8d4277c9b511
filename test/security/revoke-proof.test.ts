/**
 * Revoke with proof: before deleting material, revoke opens the escrow and KMS accepts the escrowed
 * material as the material being deleted. A swapped escrow file (sealed to a lost identity, sidecar
 * hash edited) and a sidecar edited to name an out-of-band material's KeyMaterialId are refused by
 * name, and nothing is deleted (ListKeyRotations shows every material still IMPORTED).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constants, createHash, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { GetParametersForImportCommand, ImportKeyMaterialCommand, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { SecretBytes } from '../../src/core/secret.js';
import { sealEscrow } from '../../src/escrow/index.js';
import { writeSealedEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { onboardKey } from '../e2e/lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
let lost: { identity: string; recipient: string; path: string };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  lost = await custodian(ws.path('lost.txt'));
});
afterAll(async () => ws?.close());

const since = (n: number) => operations(ws.emu).slice(n);

async function importStates(keyId: string): Promise<string[]> {
  return ((await ws.kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations ?? []).map((m) => m.ImportState!);
}

describe('a swapped escrow file (sealed to an identity nobody has any more, sidecar hash edited)', () => {
  let key: { keyId: string; keyArn: string; escrow: { path: string } };

  beforeAll(async () => {
    key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    // The attacker seals other material to a recipient whose identity is then lost, and swaps the file in.
    const material = SecretBytes.take(randomBytes(32));
    const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const sealed = await sealEscrow(
      {
        key: { keyArn: key.keyArn, keyId: key.keyId, account: '111122223333', region: 'us-east-1', keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', multiRegion: false },
        escrowVersion: 1,
        created,
        createdBy: 'mallory@host',
        materials: [{ index: 1, checkValue: checkValue(material, 'SYMMETRIC_DEFAULT'), material, createdAt: created }],
      },
      { recipients: [{ recipient: lost.recipient }] },
      { computeCheckValue: checkValue },
    );
    material.dispose();
    mkdirSync(ws.path('elsewhere'), { mode: 0o700 });
    const other = await writeSealedEscrow(ws.path('elsewhere'), key.keyId, sealed);
    copyFileSync(other.path, key.escrow.path);
    const sidecarPath = `${key.escrow.path}.json`;
    const doc = JSON.parse(readFileSync(sidecarPath, 'utf8')) as { files: { sha256: string }[] };
    doc.files[0]!.sha256 = createHash('sha256').update(readFileSync(key.escrow.path)).digest('hex');
    writeFileSync(sidecarPath, JSON.stringify(doc, null, 2));
  });

  it('without --identity: exit 2 asking for it, before any KMS request; nothing deleted', async () => {
    const before = operations(ws.emu).length;
    const r = await run(['revoke', key.keyId, '--all', '--yes', '--reason', 'drill', ...ws.target, '--escrow-dir', ws.path('escrow')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_MISSING_INPUT\n');
    expect(r.stderr).toMatch(/hint: .*--identity FILE.*--without-escrow/);
    expect(since(before)).toEqual([]);
    expect(await importStates(key.keyId)).toEqual(['IMPORTED']);
  });

  it("with the custodians' identity: the escrow cannot be opened, so revoke refuses (ERR_REVOKE_UNSAFE); nothing deleted; restore would still work", async () => {
    const before = operations(ws.emu).length;
    const r = await run(['revoke', key.keyId, '--all', '--yes', '--reason', 'drill', ...ws.target, '--escrow-dir', ws.path('escrow'), '--identity', alice.path]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_REVOKE_UNSAFE\n');
    expect(r.stderr).toMatch(/refusing to revoke: /);
    expect(since(before)).not.toContain('DeleteImportedKeyMaterial');
    expect(await importStates(key.keyId)).toEqual(['IMPORTED']);
  });
});

describe('a sidecar edited to name an out-of-band material', () => {
  let key: { keyId: string; keyArn: string; escrow: { path: string } };
  let outOfBand: string;

  beforeAll(async () => {
    key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    // Material imported outside kms-byok (no escrow holds it): NEW_KEY_MATERIAL, pending rotation.
    const params = await ws.kms.send(new GetParametersForImportCommand({ KeyId: key.keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
    const out = await ws.kms.send(new ImportKeyMaterialCommand({ KeyId: key.keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ImportType: 'NEW_KEY_MATERIAL' }));
    outOfBand = out.KeyMaterialId!;
    // The edit: the escrow's material 1 now claims to be the out-of-band material.
    const sidecarPath = `${key.escrow.path}.json`;
    const doc = JSON.parse(readFileSync(sidecarPath, 'utf8')) as { materials: { keyMaterialId?: string; firstImport?: { keyMaterialId?: string } }[] };
    doc.materials[0]!.keyMaterialId = outOfBand;
    if (doc.materials[0]!.firstImport) doc.materials[0]!.firstImport.keyMaterialId = outOfBand;
    writeFileSync(sidecarPath, JSON.stringify(doc, null, 2));
  });

  it('revoke --key-material-id refuses: KMS does not accept the escrowed material under that id; nothing deleted', async () => {
    const before = operations(ws.emu).length;
    const r = await run(['revoke', key.keyId, '--key-material-id', outOfBand, '--yes', '--reason', 'drill', ...ws.target, '--escrow-dir', ws.path('escrow'), '--identity', alice.path]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_REVOKE_UNSAFE\n');
    expect(r.stderr).toMatch(/KMS refused escrow .* material as the material being deleted/);
    expect(since(before)).not.toContain('DeleteImportedKeyMaterial');
    expect(await importStates(key.keyId)).toEqual(['IMPORTED', 'IMPORTED']);
  });

  it('escrow verify with a target notices the sidecar names a KeyMaterialId its material is not (exit 3)', async () => {
    const before = operations(ws.emu).length;
    const r = await run(['escrow', 'verify', key.escrow.path, '--identity', alice.path, ...ws.target]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout + r.stderr).toContain(outOfBand);
    expect(r.stdout + r.stderr).toMatch(/is not key material/);
    expect(since(before)).not.toContain('DeleteImportedKeyMaterial');
    expect(await importStates(key.keyId)).toEqual(['IMPORTED', 'IMPORTED']);
  });
});

describe('import --record-only proves before recording', () => {
  it('a key holding out-of-band material (not the bundle\'s) is refused by name; the sidecar records nothing', async () => {
    const step1 = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'oob.json', '--no-expiry', '--json'], { cwd: ws.dir });
    expect(step1.code, step1.stderr).toBe(0);
    const keyId = step1.json<{ keyId: string }>().keyId;
    expect((await run(['wrap', '--parameters', 'oob.json', '--recipient', alice.recipient, '--out', 'oob-import.json', '--escrow-dir', 'escrow-oob'], { cwd: ws.dir })).code).toBe(0);
    // Someone imports other material into the key instead of the bundle's.
    const params = await ws.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
    await ws.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    const sidecarFile = ws.path(`escrow-oob/${keyId}.v1.age.json`);
    const before = readFileSync(sidecarFile, 'utf8');
    const imports = operations(ws.emu).filter((o) => o === 'ImportKeyMaterial').length;

    const r = await run(['import', ...ws.target, '--bundle', 'oob-import.json', '--escrow-dir', 'escrow-oob', '--record-only'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_NOT_ANCHORED\n');
    expect(r.stderr).toMatch(/nothing was recorded/);
    expect(readFileSync(sidecarFile, 'utf8')).toBe(before);
    expect(operations(ws.emu).filter((o) => o === 'ImportKeyMaterial').length).toBe(imports);
  });
});
