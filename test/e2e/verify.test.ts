/**
 * `kms-byok verify KEY`: the on-demand proof that KMS holds exactly the escrowed material.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

let ws: Workspace;
let alice: { recipient: string; path: string };
beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

async function onboard(extra: string[]): Promise<{ keyId: string; escrow: { path: string } }> {
  const r = await run(['onboard', ...ws.target, '--yes', '--json', '--no-expiry', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow'), ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r.json();
}
const verify = (key: string, extra: string[] = []) => run(['verify', key, ...ws.target, '--identity', alice.path, '--escrow-dir', ws.path('escrow'), '--json', ...extra]);

describe('verify', () => {
  it('a symmetric key: every material confirmed by re-import, current one by Encrypt/Decrypt; nothing created', async () => {
    const k = await onboard(['--alias', 'alias/v1']);
    const rot = await run(['rotate', 'alias/v1', '--in-place', '--yes', '--no-expiry', ...ws.target, '--identity', alice.path, '--escrow-dir', ws.path('escrow')]);
    expect(rot.code, rot.stderr).toBe(0);
    const before = operations(ws.emu).length;
    const r = await verify('alias/v1');
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ error?: unknown; materials: { confirmedByReimport: boolean }[]; verified: { method: string } }>();
    expect(out.error).toBeUndefined();
    expect(out.materials).toHaveLength(2);
    expect(out.materials.every((m) => m.confirmedByReimport)).toBe(true);
    expect(out.verified.method).toBe('encrypt-decrypt');
    const ops = operations(ws.emu).slice(before);
    expect(ops).not.toContain('CreateKey');
    expect(ops).not.toContain('RotateKeyOnDemand');
    expect(ops.filter((o) => o === 'ImportKeyMaterial')).toHaveLength(2);

    // The first escrow version lacks the rotated material: KMS and that escrow disagree — exit 3.
    const old = await verify(k.keyId, ['--escrow', k.escrow.path]);
    expect(old.code, old.stderr).toBe(3);
    expect(old.stderr).toContain('kms-byok: code: ERR_VERIFY_FAILED');
    // --json: a mismatch is the error document (docs/json.md), with the same code
    expect(old.json()).toMatchObject({ schemaVersion: 1, ok: false, error: { code: 'ERR_VERIFY_FAILED' } });
  });

  it('an HMAC key: GenerateMac equals the local HMAC', async () => {
    const k = await onboard(['--key-spec', 'HMAC_384']);
    const r = await verify(k.keyId);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ verified: { method: string } }>().verified.method).toBe('generate-mac');
  });

  it('an ECC signing key: public key and a KMS signature checked locally', async () => {
    const k = await onboard(['--key-spec', 'ECC_NIST_P384']);
    const r = await verify(k.keyId);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ verified: { method: string } }>().verified.method).toBe('public-key+sign');
  });

  it('an escrow of another key is refused before anything is imported', async () => {
    const a = await onboard([]);
    const b = await onboard([]);
    const before = operations(ws.emu).length;
    const r = await verify(b.keyId, ['--escrow', a.escrow.path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_WRONG_KEY');
    expect(operations(ws.emu).slice(before)).not.toContain('ImportKeyMaterial');
  });
});
