/**
 * Rotation end to end (docs/lifecycle.md): in place twice, then every material deleted and restored from the
 * escrow; rotation to a new key that takes the alias; bad inputs for rotate.
 */
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, ListAliasesCommand, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { onboardKey } from './lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

const escrowFlags = () => ['--escrow-dir', ws.path('escrow'), '--identity', alice.path];

async function encrypt(keyId: string, text: string): Promise<Uint8Array> {
  return (await ws.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) }))).CiphertextBlob!;
}
async function decrypt(ct: Uint8Array): Promise<string> {
  return Buffer.from((await ws.kms.send(new DecryptCommand({ CiphertextBlob: ct }))).Plaintext!).toString();
}

describe('rotate --in-place twice, delete all material, restore', () => {
  let key: { keyId: string };
  const cts: Uint8Array[] = [];

  beforeAll(async () => {
    key = await onboardKey(ws, alice.recipient, ['--alias', 'alias/rot', '--no-expiry']);
    cts.push(await encrypt(key.keyId, 'epoch 1'));
  });

  it('each rotation seals a new escrow version with every material before importing, and RotateKeyOnDemand makes it current', async () => {
    for (const [n, epoch] of [[2, 'epoch 2'], [3, 'epoch 3']] as const) {
      const before = operations(ws.emu).length;
      const r = await run(['rotate', 'alias/rot', '--in-place', '--yes', '--no-expiry', ...ws.target, ...escrowFlags(), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = r.json<{ escrow: { version: number }; materialCount: number; keyMaterialId: string; onDemandRotationsLeft: number }>();
      expect(out).toMatchObject({ escrow: { version: n }, materialCount: n, onDemandRotationsLeft: 25 - (n - 1) });
      const ops = operations(ws.emu).slice(before);
      expect(ops.indexOf('ImportKeyMaterial')).toBeLessThan(ops.indexOf('RotateKeyOnDemand'));
      expect(r.stderr.indexOf('sealed in escrow version')).toBeLessThan(r.stderr.indexOf('imported new key material'));
      const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: key.keyId }));
      expect(d.KeyMetadata!.CurrentKeyMaterialId).toBe(out.keyMaterialId);
      cts.push(await encrypt(key.keyId, epoch));
    }
    const files = readdirSync(ws.path('escrow')).filter((f) => f.startsWith(key.keyId) && f.endsWith('.age'));
    expect(files.sort()).toEqual([1, 2, 3].map((v) => `${key.keyId}.v${v}.age`));
  });

  it('each new version keeps what KMS told us about earlier materials (first import, ValidTo history)', async () => {
    const { readFileSync } = await import('node:fs');
    type Side = { materials: { checkValue: string; keyMaterialId?: string; firstImport?: { importedAt: string }; validTo: unknown[] }[] };
    const v1 = JSON.parse(readFileSync(ws.path(`escrow/${key.keyId}.v1.age.json`), 'utf8')) as Side;
    const v3 = JSON.parse(readFileSync(ws.path(`escrow/${key.keyId}.v3.age.json`), 'utf8')) as Side;
    expect(v1.materials[0]!.firstImport).toBeDefined();
    expect(v3.materials[0]!.firstImport).toEqual(v1.materials[0]!.firstImport);
    expect(v3.materials[0]!.validTo.slice(0, v1.materials[0]!.validTo.length)).toEqual(v1.materials[0]!.validTo);
    expect(v3.materials.map((m) => m.keyMaterialId)).toEqual(expect.arrayContaining([expect.stringMatching(/^[0-9a-f]{64}$/)]));
    expect(v3.materials.every((m) => m.firstImport !== undefined)).toBe(true);
  });

  it('status shows three materials, the last rotation and rotations left', async () => {
    const r = await run(['status', key.keyId, ...ws.target, '--escrow-dir', ws.path('escrow'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const k = r.json<{ keys: { materials: { index: number }[]; onDemandRotationsLeft: number; lastRotation: string; escrow: { version: number }; escrowCheck: { matches: boolean } }[] }>().keys[0]!;
    expect(k.materials.map((m) => m.index)).toEqual([1, 2, 3]);
    expect(k.onDemandRotationsLeft).toBe(23);
    expect(k.lastRotation).toBeTruthy();
    expect(k.escrow).toMatchObject({ version: 3 });
    expect(k.escrowCheck).toMatchObject({ matches: true });
  });

  it('an escrow lacking one of the key\'s materials is refused, naming it', async () => {
    const partial = ws.path('partial');
    mkdirSync(partial);
    for (const f of readdirSync(ws.path('escrow')).filter((f) => f.startsWith(`${key.keyId}.v1.`))) cpSync(ws.path(`escrow/${f}`), `${partial}/${f}`);
    const r = await run(['reimport', key.keyId, ...ws.target, '--escrow-dir', partial, '--identity', alice.path, '--no-expiry']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: escrow .* lacks key material [0-9a-f]{64} of key .* and 1 more/);
    expect(r.stderr).toContain('ERR_ESCROW_MISSING_MATERIAL');
  });

  it('after every material is deleted, restore brings back all three and every epoch decrypts', async () => {
    const revoked = await run(['revoke', 'alias/rot', '--all', '--yes', '--reason', 'drill', ...ws.target, ...escrowFlags(), '--json']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.json<{ deleted: string[]; escrowVerified: string }>()).toMatchObject({ escrowVerified: 'proven' });
    expect(revoked.json<{ deleted: string[] }>().deleted).toHaveLength(3);
    const rot = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: key.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(rot.Rotations!.map((m) => m.ImportState)).toEqual(['PENDING_IMPORT', 'PENDING_IMPORT', 'PENDING_IMPORT']);
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: key.keyId }))).KeyMetadata!.KeyState).toBe('PendingImport');
    const r = await run(['restore', key.keyId, '--no-expiry', ...ws.target, ...escrowFlags(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ materials: { reimported: boolean }[]; keyState: string }>();
    expect(out.keyState).toBe('Enabled');
    expect(out.materials.filter((m) => m.reimported)).toHaveLength(3);
    expect(await Promise.all(cts.map(decrypt))).toEqual(['epoch 1', 'epoch 2', 'epoch 3']);
  });

  it('revoking ONE old material makes the whole key unusable; restore re-imports just that one', async () => {
    const rot = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: key.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    const first = rot.Rotations![0]!.KeyMaterialId!;
    const r = await run(['revoke', key.keyId, '--key-material-id', first, '--yes', '--reason', 'drill 2', ...ws.target, ...escrowFlags()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/state\s+PendingImport/);
    const back = await run(['restore', key.keyId, '--no-expiry', ...ws.target, ...escrowFlags(), '--json']);
    expect(back.code, back.stderr).toBe(0);
    const out = back.json<{ materials: { keyMaterialId: string; reimported: boolean }[] }>();
    expect(out.materials.filter((m) => m.reimported).map((m) => m.keyMaterialId)).toEqual([first]);
    expect(await decrypt(cts[0]!)).toBe('epoch 1');
  });
});

describe('rotate --new-key', () => {
  it('creates a new key, moves the alias, leaves the old key enabled for old ciphertexts', async () => {
    const old = await onboardKey(ws, alice.recipient, ['--alias', 'alias/moving', '--no-expiry']);
    const ct = await encrypt('alias/moving', 'before rotation');
    const r = await run(['rotate', 'alias/moving', '--new-key', '--yes', '--no-expiry', ...ws.target, '--escrow-dir', ws.path('escrow'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ keyId: string; oldKeyId: string; aliases: string[]; oldKeyState: string; escrow: { path: string } }>();
    expect(out.oldKeyId).toBe(old.keyId);
    expect(out.keyId).not.toBe(old.keyId);
    expect(out.aliases).toEqual(['alias/moving']);
    expect(out.oldKeyState).toBe('Enabled');
    expect(out.escrow.path).toContain(`${out.keyId}.v1.age`);
    const aliases = await ws.kms.send(new ListAliasesCommand({ KeyId: out.keyId }));
    expect(aliases.Aliases!.map((a) => a.AliasName)).toEqual(['alias/moving']);
    expect(await decrypt(ct)).toBe('before rotation');
    const fresh = await encrypt('alias/moving', 'after');
    expect((await ws.kms.send(new DecryptCommand({ CiphertextBlob: fresh }))).KeyId).toContain(out.keyId);
  });
});

describe('rotate: bad input', () => {
  it('an HMAC key cannot rotate in place: refused with the --new-key alternative, nothing changed', async () => {
    const hmac = await onboardKey(ws, alice.recipient, ['--key-spec', 'HMAC_256', '--key-usage', 'GENERATE_VERIFY_MAC', '--no-expiry']);
    const before = operations(ws.emu).length;
    const r = await run(['rotate', hmac.keyId, '--in-place', '--yes', '--no-expiry', ...ws.target, ...escrowFlags()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: key .* \(HMAC_256\) cannot rotate in place/);
    expect(r.stderr).toMatch(/hint: use kms-byok rotate .* --new-key/);
    expect(r.stderr).toContain('ERR_ROTATE_UNSUPPORTED');
    expect(operations(ws.emu).slice(before)).toEqual(['DescribeKey']);
  });

  it('no strategy: exit 2 naming the flags', async () => {
    const r = await run(['rotate', 'alias/x', '--yes', '--no-expiry', ...ws.target]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing --in-place or --new-key');
  });
});
