/**
 * Key lifecycle end to end (docs/lifecycle.md): status, reimport, restore of an expired key, and the bad inputs
 * that must be refused before anything changes. main(argv, io) against the seeded emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand, ListKeyRotationsCommand, ScheduleKeyDeletionCommand, CancelKeyDeletionCommand } from '@aws-sdk/client-kms';
import { readFileSync, writeFileSync } from 'node:fs';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { SecretBytes } from '../../src/core/secret.js';
import { sealEscrow } from '../../src/escrow/index.js';
import { writeSealedEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { emuValidTo, onboardKey } from './lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
const DAY = 86_400_000;

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

function escrowFlags(): string[] {
  return ['--escrow-dir', ws.path('escrow'), '--identity', alice.path];
}

describe('status, reimport and restore of an expiring key', () => {
  let key: { keyId: string; keyArn: string; escrow: { path: string } };
  let oldCiphertext: Uint8Array;

  beforeAll(async () => {
    key = await onboardKey(ws, alice.recipient, ['--alias', 'alias/life', '--expires-in', '10d']);
    const ct = await ws.kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('old secret') }));
    oldCiphertext = ct.CiphertextBlob!;
  });

  it('status shows the key, its material, days left and a matching escrow; exit 3 inside --warn-days', async () => {
    const ok = await run(['status', key.keyId, ...ws.target, '--escrow-dir', ws.path('escrow'), '--warn-days', '5', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const s = ok.json<{ keys: { keyState: string; daysLeft: number; materials: unknown[]; escrowCheck: { exists: boolean; matches: boolean }; onDemandRotationsLeft: number }[] }>();
    expect(s.keys[0]).toMatchObject({ keyState: 'Enabled', escrowCheck: { exists: true, matches: true }, onDemandRotationsLeft: 25 });
    expect(s.keys[0]!.daysLeft).toBeGreaterThanOrEqual(9);
    expect(s.keys[0]!.materials).toHaveLength(1);
    const warn = await run(['status', 'alias/life', ...ws.target, '--escrow-dir', ws.path('escrow'), '--warn-days', '30']);
    expect(warn.code).toBe(3);
    expect(warn.stdout).toMatch(/KEY\s+STATE\s+VALIDTO/);
    expect(warn.stderr).toContain('within 30 days');
  });

  it('reimport --before 30d renews the due key, records ValidTo in the sidecar; running it again is a no-op with exit 0', async () => {
    const args = ['reimport', 'alias/life', ...ws.target, ...escrowFlags(), '--before', '30d', '--expires-in', '90d', '--json'];
    const first = await run(args);
    expect(first.code, first.stderr).toBe(0);
    const r1 = first.json<{ action: string; materials: { reimported: boolean; validTo: string }[] }>();
    expect(r1.action).toBe('reimported');
    expect(r1.materials[0]!.reimported).toBe(true);
    const after1 = await ws.kms.send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(after1.KeyMetadata!.ValidTo!.toISOString()).toBe(r1.materials[0]!.validTo);
    const sidecar = JSON.parse(readFileSync(key.escrow.path + '.json', 'utf8')) as { materials: { validTo: { validTo: string }[] }[] };
    expect(sidecar.materials[0]!.validTo.at(-1)!.validTo).toBe(r1.materials[0]!.validTo.replace('.000Z', 'Z'));

    const second = await run(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json<{ action: string }>().action).toBe('not-due');
    const after2 = await ws.kms.send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(after2.KeyMetadata!.ValidTo).toEqual(after1.KeyMetadata!.ValidTo);
    expect(after2.KeyMetadata!.KeyState).toBe('Enabled');
  });

  it('when the clock passes ValidTo the key is unusable and status exits 3; restore brings it back and old ciphertexts decrypt', async () => {
    ws.emu.clock.advance(91 * DAY);
    await expect(ws.kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x') }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    const st = await run(['status', key.keyId, ...ws.target, '--escrow-dir', ws.path('escrow'), '--json']);
    expect(st.code).toBe(3);
    expect(st.json<{ keys: { keyState: string }[] }>().keys[0]!.keyState).toBe('PendingImport');

    const r = await run(['restore', 'alias/life', ...ws.target, ...escrowFlags(), '--valid-to', emuValidTo(ws, 30), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ action: string; keyState: string }>()).toMatchObject({ action: 'restored', keyState: 'Enabled' });
    const back = await ws.kms.send(new DecryptCommand({ CiphertextBlob: oldCiphertext }));
    expect(Buffer.from(back.Plaintext!).toString()).toBe('old secret');
    const fresh = await ws.kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('new') }));
    expect(Buffer.from((await ws.kms.send(new DecryptCommand({ CiphertextBlob: fresh.CiphertextBlob }))).Plaintext!).toString()).toBe('new');
    const again = await run(['restore', 'alias/life', ...ws.target, ...escrowFlags(), '--valid-to', emuValidTo(ws, 30), '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ action: string }>().action).toBe('nothing-to-restore');
  });

  it('each ceremony appended a chained transcript entry, and transcript verify checks it', async () => {
    const file = ws.path('escrow/transcript.md');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('reimport');
    expect(text).toContain('restore');
    expect(text).toMatch(/ImportKeyMaterial \S+/);
    expect(text).toMatch(/\*\*escrow v1 files \(SHA-256\)\*\*:\n  - \S+\.v1\.age [0-9a-f]{64}/);
    expect(text).toMatch(/\*\*check values\*\*:\n  - material 1: cmac-aes:[0-9A-F]{6}/);
    expect(text).toMatch(/\*\*custodians\*\*:\n  - age1/);
    expect(text).toMatch(/\*\*wrapping\*\*: RSAES_OAEP_SHA_256 with RSA_4096/);
    expect(text).toMatch(/\*\*operator\*\*: \S+@\S+/);
    const ok = await run(['transcript', 'verify', file]);
    expect(ok.code, ok.stderr).toBe(0);
    writeFileSync(ws.path('edited.md'), text.replace(/- \*\*outcome\*\*: restored/, '- **outcome**: nothing happened'));
    const bad = await run(['transcript', 'verify', ws.path('edited.md'), '--json']);
    expect(bad.code).toBe(3);
    expect(bad.json<{ intact: boolean; broken: { reason: string } }>()).toMatchObject({ intact: false, broken: { reason: expect.stringContaining('edited') } });
  });
});

describe('bad input is refused before anything changes', () => {
  let a: { keyId: string; escrow: { path: string } };
  let b: { keyId: string; escrow: { path: string } };

  beforeAll(async () => {
    a = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    b = await onboardKey(ws, alice.recipient, ['--no-expiry']);
  });

  it('reimport run twice with the same flags: exit 0 both times, the same end state', async () => {
    const args = ['reimport', `arn:aws:kms:us-east-1:111122223333:key/${b.keyId}`, ...ws.target, ...escrowFlags(), '--valid-to', emuValidTo(ws, 100), '--json'];
    const one = await run(args);
    expect(one.code, one.stderr).toBe(0);
    const state1 = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: b.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    const two = await run(args);
    expect(two.code, two.stderr).toBe(0);
    const state2 = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: b.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(state2.Rotations).toEqual(state1.Rotations);
    type Out = { materials: { validToBefore?: string }[] };
    const strip = (o: Out) => o.materials.map(({ validToBefore: _before, ...m }) => m);
    expect(strip(two.json<Out>())).toEqual(strip(one.json<Out>()));
  });

  it('reimport of several keys renews every key it can and exits 1 naming the ones that failed', async () => {
    const r = await run(['reimport', b.keyId, 'alias/does-not-exist', ...ws.target, ...escrowFlags(), '--no-expiry', '--json']);
    expect(r.code).toBe(1);
    const out = r.json<{ keys: { keyId: string; action: string }[]; failures: { key: string; error: { code: string } }[] }>();
    expect(out.keys.map((k) => [k.keyId, k.action])).toEqual([[b.keyId, 'reimported']]);
    expect(out.failures).toEqual([expect.objectContaining({ key: 'alias/does-not-exist', error: expect.objectContaining({ code: 'ERR_KMS_NOT_FOUND' }) })]);
    expect(r.stderr).toMatch(/error: 1 of 2 keys failed: alias\/does-not-exist/);
  });

  it('an escrow that belongs to another key: ERR_ESCROW_WRONG_KEY, no KMS call at all', async () => {
    const before = operations(ws.emu).length;
    const r = await run(['reimport', a.keyId, ...ws.target, '--escrow', b.escrow.path, '--identity', alice.path, '--expires-in', '30d']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kms-byok: error: escrow .* belongs to key [0-9a-f-]+, not [0-9a-f-]+$/m);
    expect(r.stderr).toContain('ERR_ESCROW_WRONG_KEY');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(operations(ws.emu).length).toBe(before);
  });

  it('a ValidTo in the past or beyond 365 days: exit 2 before any KMS call', async () => {
    const before = operations(ws.emu).length;
    const past = await run(['reimport', a.keyId, ...ws.target, ...escrowFlags(), '--valid-to', '2001-01-01T00:00:00Z']);
    expect(past.code).toBe(2);
    expect(past.stderr).toContain('ERR_INVALID_VALID_TO');
    const far = await run(['reimport', a.keyId, ...ws.target, ...escrowFlags(), '--expires-in', '400d']);
    expect(far.code).toBe(2);
    expect(far.stderr).toMatch(/more than 365 days/);
    expect(operations(ws.emu).length).toBe(before);
  });

  it('a key pending deletion: refused with the cancel-key-deletion hint', async () => {
    await ws.kms.send(new ScheduleKeyDeletionCommand({ KeyId: a.keyId, PendingWindowInDays: 7 }));
    try {
      const r = await run(['reimport', a.keyId, ...ws.target, ...escrowFlags(), '--no-expiry']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/error: key .* is pending deletion/);
      expect(r.stderr).toMatch(/hint: .*cancel-key-deletion/);
      expect(operations(ws.emu).slice(-1)).toEqual(['DescribeKey']);
    } finally {
      await ws.kms.send(new CancelKeyDeletionCommand({ KeyId: a.keyId }));
    }
  });

});

describe('the proof after a re-import', () => {
  let k: { keyId: string };
  beforeAll(async () => {
    k = await onboardKey(ws, alice.recipient, ['--no-expiry']);
  });

  it('re-imports prove an Enabled key with the round trip alone; a Disabled key is reported as Disabled, and re-running after EnableKey finishes', async () => {
    const args = ['reimport', k.keyId, ...ws.target, ...escrowFlags(), '--expires-in', '60d', '--json'];
    const before = operations(ws.emu).length;
    const ok = await run(args);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json<{ keyState: string; verified: { summary: string } }>()).toMatchObject({ keyState: 'Enabled', verified: { summary: 'Encrypt/Decrypt round trip ok' } });
    // One DescribeKey, before the import: the Encrypt that KMS answers shows the key Enabled.
    expect(operations(ws.emu).slice(before).filter((o) => o === 'DescribeKey')).toHaveLength(1);
    const afterImport = operations(ws.emu).slice(before).slice(operations(ws.emu).slice(before).indexOf('ImportKeyMaterial') + 1);
    expect(afterImport.filter((o) => o === 'Encrypt' || o === 'Decrypt' || o === 'DescribeKey')).toEqual(['Encrypt', 'Decrypt']);

    await ws.kms.send(new DisableKeyCommand({ KeyId: k.keyId }));
    try {
      const disabled = await run(args);
      expect(disabled.code).toBe(1);
      expect(disabled.stderr).toMatch(/error: key [0-9a-f-]+ is Disabled, expected Enabled/);
      expect(disabled.stderr).toContain('ERR_VERIFY_FAILED');
      expect(disabled.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await ws.kms.send(new EnableKeyCommand({ KeyId: k.keyId }));
    }
    const again = await run(args);
    expect(again.code, again.stderr).toBe(0);
    const status = await run(['status', k.keyId, ...ws.target, '--escrow-dir', ws.path('escrow'), '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.json<{ keys: { keyState: string; escrowCheck: { matches: boolean } }[] }>().keys[0]).toMatchObject({ keyState: 'Enabled', escrowCheck: { matches: true } });
    const rotations = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: k.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(rotations.Rotations?.map((r) => r.ImportState)).toEqual(['IMPORTED']);
  });
});

describe('revoke', () => {
  let k: { keyId: string };
  beforeAll(async () => {
    k = await onboardKey(ws, alice.recipient, ['--no-expiry']);
  });

  it('unattended without --yes and --reason: exit 2 naming both, nothing deleted', async () => {
    const r = await run(['revoke', k.keyId, '--all', ...ws.target, '--escrow-dir', ws.path('escrow')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: missing --yes and --reason: revoke deletes key material/);
  });

  it('without --identity or --passphrase-file: exit 2 asking for it (naming --without-escrow), before any KMS request', async () => {
    const before = operations(ws.emu).length;
    const r = await run(['revoke', k.keyId, '--all', '--yes', '--reason', 'test', ...ws.target, '--escrow-dir', ws.path('escrow')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_MISSING_INPUT\n');
    expect(r.stderr).toMatch(/error: missing --identity or --passphrase-file: revoke proves the escrow holds the material/);
    expect(r.stderr).toMatch(/hint: .*--without-escrow/);
    expect(operations(ws.emu).slice(before)).toEqual([]);
  });

  it('refused without an escrow of every material (ERR_REVOKE_UNSAFE), nothing deleted', async () => {
    const before = operations(ws.emu).length;
    const r = await run(['revoke', k.keyId, '--all', '--yes', '--reason', 'test', ...ws.target, '--escrow-dir', ws.path('nowhere'), '--identity', alice.path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_REVOKE_UNSAFE');
    expect(r.stderr).toMatch(/hint: .*--without-escrow/);
    expect(operations(ws.emu).slice(before)).not.toContain('DeleteImportedKeyMaterial');
  });

  it('--without-escrow overrides the refusal, loudly', async () => {
    const r = await run(['revoke', k.keyId, '--all', '--yes', '--reason', 'drill', '--without-escrow', ...ws.target, '--escrow-dir', ws.path('nowhere')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: --without-escrow: .*lost for good/);
    expect(r.stderr).toMatch(/WARNING: revoking WITHOUT a verified escrow/);
    const back = await run(['restore', k.keyId, '--no-expiry', ...ws.target, ...escrowFlags()]);
    expect(back.code, back.stderr).toBe(0);
  });

  it('deletes at once, the key is PendingImport, the reason is in the transcript; restore brings it back', async () => {
    const ct = (await ws.kms.send(new EncryptCommand({ KeyId: k.keyId, Plaintext: Buffer.from('kept') }))).CiphertextBlob!;
    const r = await run(['revoke', k.keyId, '--all', '--yes', '--reason', 'incident 4711', ...ws.target, ...escrowFlags(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ keyState: string; escrowVerified: string }>()).toMatchObject({ keyState: 'PendingImport', escrowVerified: 'proven' });
    await expect(ws.kms.send(new DecryptCommand({ CiphertextBlob: ct }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    expect(readFileSync(ws.path('escrow/transcript.md'), 'utf8')).toContain('incident 4711');
    const back = await run(['restore', k.keyId, '--no-expiry', ...ws.target, ...escrowFlags()]);
    expect(back.code, back.stderr).toBe(0);
    expect(Buffer.from((await ws.kms.send(new DecryptCommand({ CiphertextBlob: ct }))).Plaintext!).toString()).toBe('kept');
  });
});

describe('an onboard interrupted after its escrow was sealed', () => {
  it('restore makes the first import from the escrow and verifies the key', async () => {
    const md = (await ws.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;
    const material = SecretBytes.take(randomBytes(32));
    const kcv = checkValue(material, 'SYMMETRIC_DEFAULT');
    const created = '2026-11-22T00:00:00Z';
    const sealed = await sealEscrow(
      {
        key: { keyArn: md.Arn!, keyId: md.KeyId!, account: '111122223333', region: 'us-east-1', keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', multiRegion: false },
        escrowVersion: 1,
        created,
        createdBy: 'test@host',
        materials: [{ index: 1, checkValue: kcv, material, createdAt: created }],
      },
      { recipients: [{ recipient: alice.recipient }] },
      { computeCheckValue: checkValue },
    );
    await writeSealedEscrow(ws.path('escrow'), md.KeyId!, sealed);
    material.dispose();
    const r = await run(['restore', md.KeyId!, '--no-expiry', ...ws.target, ...escrowFlags(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ keyState: string; materials: { keyMaterialId: string }[] }>()).toMatchObject({ keyState: 'Enabled', materials: [{ keyMaterialId: expect.stringMatching(/^[0-9a-f]{64}$/) }] });
    const st = await run(['status', md.KeyId!, ...ws.target, '--escrow-dir', ws.path('escrow'), '--json']);
    expect(st.code, st.stderr).toBe(0);
  });
});

describe('status of every EXTERNAL key, and the help texts', () => {
  it('status with no KEY lists every EXTERNAL key the caller can list', async () => {
    const r = await run(['status', ...ws.target, '--escrow-dir', ws.path('escrow'), '--json']);
    expect([0, 3]).toContain(r.code);
    const keys = r.json<{ keys: { keyId: string }[] }>().keys;
    expect(keys.length).toBeGreaterThanOrEqual(4);
  });

  it.each(['status', 'reimport', 'restore', 'rotate', 'revoke'])('%s --help prints usage with an example and exits 0', async (cmd) => {
    const r = await run([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage:\\n    kms-byok ${cmd}`));
    expect(r.stdout).toMatch(/Example/);
  });
});
