/**
 * Forged escrow versions (docs/escrow-format.md, "Anchors"): someone who can write the escrow
 * directory seals a newer version to the custodians' public recipients, holding material of their
 * choosing. Every ceremony that opens the escrow refuses it by name (ERR_ESCROW_ANCHOR_MISMATCH)
 * before importing anything; status reports it; removing the forgery brings everything back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateKeyCommand, ListKeyRotationsCommand, ListResourceTagsCommand, TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-kms';
import { SecretBytes } from '../../src/core/secret.js';
import { anchorFingerprint, anchorTagKey, sealEscrow } from '../../src/escrow/index.js';
import { writeSealedEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { onboardKey } from '../e2e/lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
const escrowDir = () => ws.path('escrow');
const flags = () => [...ws.target, '--escrow-dir', escrowDir(), '--identity', alice.path];

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

/** The attacker: seals `version` of `keyId`'s escrow to the public recipients, with random material. */
async function forge(keyId: string, keyArn: string, version: number, keySpec: 'SYMMETRIC_DEFAULT' = 'SYMMETRIC_DEFAULT'): Promise<string[]> {
  const material = SecretBytes.take(randomBytes(32));
  const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sealed = await sealEscrow(
    {
      key: { keyArn, keyId, account: '111122223333', region: 'us-east-1', keySpec, keyUsage: 'ENCRYPT_DECRYPT', multiRegion: false },
      escrowVersion: version,
      created,
      createdBy: 'mallory@host',
      materials: [{ index: 1, checkValue: checkValue(material, keySpec), material, createdAt: created }],
    },
    { recipients: [{ recipient: alice.recipient }] },
    { computeCheckValue: checkValue },
  );
  material.dispose();
  const written = await writeSealedEscrow(escrowDir(), keyId, sealed);
  // The KeyMaterialId is a public fact of the previous sidecar: the attacker copies it, so the forgery pairs with KMS.
  const previous = join(escrowDir(), `${keyId}.v${version - 1}.age.json`);
  const id = (JSON.parse(readFileSync(previous, 'utf8')) as { materials: { keyMaterialId?: string }[] }).materials[0]?.keyMaterialId;
  if (id) {
    const doc = JSON.parse(readFileSync(written.sidecarPath, 'utf8')) as { materials: { keyMaterialId?: string }[] };
    doc.materials[0]!.keyMaterialId = id;
    writeFileSync(written.sidecarPath, JSON.stringify(doc, null, 2));
  }
  return readdirSync(escrowDir()).filter((f) => f.startsWith(`${keyId}.v${version}.`));
}

function removeFiles(names: string[]): void {
  for (const n of names) rmSync(join(escrowDir(), n));
}

const since = (n: number) => operations(ws.emu).slice(n);

describe('a forged newer escrow version of an anchored key', () => {
  let key: { keyId: string; keyArn: string };
  let forged: string[];

  beforeAll(async () => {
    key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    const tags = (await ws.kms.send(new ListResourceTagsCommand({ KeyId: key.keyId }))).Tags ?? [];
    expect(tags.find((t) => t.TagKey === 'kms-byok:material-1')?.TagValue).toMatch(/^[A-Za-z0-9_-]{43}$/);
    forged = await forge(key.keyId, key.keyArn, 2);
  });

  it.each([
    ['verify', []],
    ['reimport', ['--no-expiry']],
    ['rotate', ['--in-place', '--no-expiry', '--yes']],
  ])('%s refuses it with ERR_ESCROW_ANCHOR_MISMATCH, naming both fingerprints; nothing imported', async (cmd, extra) => {
    const before = operations(ws.emu).length;
    const r = await run([cmd, key.keyId, ...flags(), ...extra]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_ANCHOR_MISMATCH\n');
    expect(r.stderr).toMatch(/material 1 has fingerprint [A-Za-z0-9_-]{43}, but key .* vouches for [A-Za-z0-9_-]{43} \(tag kms-byok:material-1\)/);
    expect(since(before)).not.toContain('ImportKeyMaterial');
    expect(since(before)).not.toContain('TagResource');
  });

  it('revoke refuses it too (the escrow cannot prove the material), nothing deleted', async () => {
    const before = operations(ws.emu).length;
    const r = await run(['revoke', key.keyId, '--all', '--yes', '--reason', 'drill', ...flags()]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_ANCHOR_MISMATCH\n');
    expect(since(before)).not.toContain('DeleteImportedKeyMaterial');
    const rot = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: key.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(rot.Rotations!.map((m) => m.ImportState)).toEqual(['IMPORTED']);
  });

  it('status (sidecar only) reports the mismatch as attention (exit 3)', async () => {
    const r = await run(['status', key.keyId, ...ws.target, '--escrow-dir', escrowDir()]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('v2 ANCHOR MISMATCH');
  });

  it('after a revoke without escrow, restore refuses the forgery and imports nothing; without it, restore succeeds', async () => {
    const forced = await run(['revoke', key.keyId, '--all', '--yes', '--reason', 'drill', '--without-escrow', ...ws.target, '--escrow-dir', escrowDir()]);
    expect(forced.code, forced.stderr).toBe(0);
    const before = operations(ws.emu).length;
    const r = await run(['restore', key.keyId, ...flags(), '--no-expiry']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_ANCHOR_MISMATCH\n');
    expect(since(before)).not.toContain('ImportKeyMaterial');
    removeFiles(forged);
    const back = await run(['restore', key.keyId, ...flags(), '--no-expiry']);
    expect(back.code, back.stderr).toBe(0);
    expect((await run(['status', key.keyId, ...ws.target, '--escrow-dir', escrowDir()])).code).toBe(0);
  });
});

describe('a key whose onboard stopped after sealing and anchoring, before any import', () => {
  it('restore refuses a forged newer version (KMS holds no material to compare), then imports the real one', async () => {
    const md = (await ws.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;
    const material = SecretBytes.take(randomBytes(32));
    const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const fp = anchorFingerprint(material, md.KeyId!, 1);
    const sealed = await sealEscrow(
      {
        key: { keyArn: md.Arn!, keyId: md.KeyId!, account: '111122223333', region: 'us-east-1', keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', multiRegion: false },
        escrowVersion: 1,
        created,
        createdBy: 'alice@host',
        materials: [{ index: 1, checkValue: checkValue(material, 'SYMMETRIC_DEFAULT'), material, createdAt: created }],
      },
      { recipients: [{ recipient: alice.recipient }] },
      { computeCheckValue: checkValue },
    );
    material.dispose();
    await writeSealedEscrow(escrowDir(), md.KeyId!, sealed);
    await ws.kms.send(new TagResourceCommand({ KeyId: md.KeyId, Tags: [{ TagKey: anchorTagKey(1), TagValue: fp }] }));
    const forged = await forge(md.KeyId!, md.Arn!, 2);

    const before = operations(ws.emu).length;
    const r = await run(['restore', md.KeyId!, ...flags(), '--no-expiry']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_ANCHOR_MISMATCH\n');
    expect(r.stderr).toContain(fp);
    expect(since(before)).not.toContain('ImportKeyMaterial');
    expect((await ws.kms.send(new ListKeyRotationsCommand({ KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations ?? []).toEqual([]);

    removeFiles(forged);
    const back = await run(['restore', md.KeyId!, ...flags(), '--no-expiry']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout + back.stderr).toMatch(/first import of escrow material 1/);
  });
});

describe('a key onboarded before anchors existed', () => {
  it('status says "not anchored"; verify --identity proves the escrow and writes the anchors; then status is ok', async () => {
    const key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    // Make it look like an older onboard: no anchor tags, a version 1 sidecar without claims.
    await ws.kms.send(new UntagResourceCommand({ KeyId: key.keyId, TagKeys: [anchorTagKey(1)] }));
    const sidecarPath = `${key.escrow.path}.json`;
    const doc = JSON.parse(readFileSync(sidecarPath, 'utf8')) as { version: number; materials: { anchor?: string }[] };
    const claimed = doc.materials[0]!.anchor;
    doc.version = 1;
    for (const m of doc.materials) delete m.anchor;
    writeFileSync(sidecarPath, JSON.stringify(doc, null, 2));

    const status = await run(['status', key.keyId, ...ws.target, '--escrow-dir', escrowDir()]);
    expect(status.code, status.stderr).toBe(3);
    expect(status.stdout).toContain('v1 NOT ANCHORED');
    expect(status.stdout + status.stderr).toMatch(/not anchored: .*kms-byok verify .* --identity FILE/);

    const v = await run(['verify', key.keyId, ...flags()]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/anchors +written now/);
    const tags = (await ws.kms.send(new ListResourceTagsCommand({ KeyId: key.keyId }))).Tags ?? [];
    expect(tags.find((t) => t.TagKey === anchorTagKey(1))?.TagValue).toBe(claimed);
    expect((await run(['status', key.keyId, ...ws.target, '--escrow-dir', escrowDir()])).code).toBe(0);
  });

  it('a claimed-anchor sidecar on a key without tags is refused by the ceremonies (ERR_ESCROW_NOT_ANCHORED), nothing imported', async () => {
    const key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    await ws.kms.send(new UntagResourceCommand({ KeyId: key.keyId, TagKeys: [anchorTagKey(1)] }));
    const before = operations(ws.emu).length;
    const r = await run(['reimport', key.keyId, ...flags(), '--no-expiry']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_NOT_ANCHORED\n');
    expect(r.stderr).toMatch(/hint: .*kms-byok verify .* --identity FILE/);
    expect(since(before)).not.toContain('ImportKeyMaterial');
    // The way out the hint names: verify proves the escrow and writes the anchors; reimport then runs.
    const v = await run(['verify', key.keyId, ...flags()]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/anchors +written now/);
    expect((await run(['reimport', key.keyId, ...flags(), '--no-expiry'])).code).toBe(0);
  });
});
