/**
 * `rotate --in-place --custody pkcs11` on SoftHSM2 and the emulator (docs/hsm.md): the new escrow
 * version of `--also-escrow` goes to the `--recipient` flags (a key onboarded without an escrow), and a
 * rotation interrupted between generating its token key and writing the custody record is finished by
 * the same command, reusing that token key. What KMS holds is read from the emulator's state file (its
 * own unwrap); the token's value by the TEST through the readable-key hook.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../e2e/harness.js';
import { openEscrow, disposePayload } from '../../src/escrow/index.js';
import { readEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';
import { KmsByokError } from '../../src/core/errors.js';
import { Pkcs11Custody } from '../../src/custody/pkcs11/custody.js';
import { softhsmUnavailable } from '../support/softhsm.js';
import { useHsmWorkspace } from './workspace.js';

const unavailable = softhsmUnavailable();
if (unavailable) console.log(`skipping the PKCS#11 rotate tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('rotate --in-place --custody pkcs11 (SoftHSM2)', () => {
  const w = useHsmWorkspace('rotation', 'kms-byok-hsm-rotate-');
  /** The materials KMS holds with key material (not deleted). */
  const kmsMaterials = (keyId: string) => w.kmsMaterials(keyId).filter((m) => m.material !== undefined);
  const sealedMaterials = async (path: string): Promise<Buffer[]> => {
    const payload = await openEscrow(await readEscrow(path), { identities: [w.alice.identity] }, { computeCheckValue: checkValue });
    const out = payload.materials.map((m) => m.material.use((b) => Buffer.from(b)));
    disposePayload(payload);
    return out;
  };
  const onboardTokenOnly = async (): Promise<string> => {
    const onboard = await run(['onboard', '--yes', '--no-expiry', '--json', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(onboard.code, onboard.stderr).toBe(0);
    return onboard.json<{ keyId: string }>().keyId;
  };
  const assertRotatedWithEscrow = async (keyId: string, escrow: string) => {
    expect(w.hsm.labels().sort()).toEqual([keyId, `${keyId}/2`].sort());
    const sealed = await sealedMaterials(escrow);
    expect(sealed).toHaveLength(2);
    expect(sealed[0]!.equals(w.hsm.readValue(keyId))).toBe(true);
    expect(sealed[1]!.equals(w.hsm.readValue(`${keyId}/2`))).toBe(true);
    const held = kmsMaterials(keyId);
    expect(held).toHaveLength(2);
    for (const k of sealed) expect(held.some((m) => Buffer.from(m.material!, 'base64').equals(k))).toBe(true);
    const status = await run(['status', keyId, '--escrow-dir', w.escrowDir(), ...w.target], { cwd: w.dir });
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const viaToken = await run(['verify', keyId, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(viaToken.code, viaToken.stderr).toBe(0);
    const viaEscrow = await run(['verify', keyId, '--escrow-dir', w.escrowDir(), '--identity', w.alice.path, ...w.target], { cwd: w.dir });
    expect(viaEscrow.code, viaEscrow.stderr).toBe(0);
  };

  it('--also-escrow --recipient on a key onboarded without an escrow seals its first escrow with both materials', async () => {
    const keyId = await onboardTokenOnly();
    const rotate = await run(['rotate', keyId, '--in-place', '--yes', '--no-expiry', '--json', '--also-escrow', '--recipient', w.alice.recipient, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(rotate.code, rotate.stderr).toBe(0);
    const doc = rotate.json<{ escrow: string }>();
    expect(doc.escrow).toMatch(/\.v1\.age$/);
    await assertRotatedWithEscrow(keyId, doc.escrow);
  });

  it('a rotation that failed between generating its token key and writing the custody record is finished by the same command, with that token key', async () => {
    const keyId = await onboardTokenOnly();
    // A token failure while sealing (SoftHSM cannot be made to fail on demand: the one mocked fault),
    // after the new token key was generated and before the custody record lists it.
    const real = Pkcs11Custody.prototype.exportByWrapping;
    Pkcs11Custody.prototype.exportByWrapping = () => {
      throw new KmsByokError('ERR_PKCS11', 'token rotation could not wrap the key: CKR_DEVICE_ERROR');
    };
    const args = ['rotate', keyId, '--in-place', '--yes', '--no-expiry', '--json', '--also-escrow', '--recipient', w.alice.recipient, ...w.custody(), ...w.target];
    let failed: Awaited<ReturnType<typeof run>>;
    try {
      failed = await run(args, { cwd: w.dir });
    } finally {
      Pkcs11Custody.prototype.exportByWrapping = real;
    }
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toContain('CKR_DEVICE_ERROR');
    expect(w.hsm.labels().sort()).toEqual([keyId, `${keyId}/2`].sort());
    const orphan = w.hsm.readValue(`${keyId}/2`);
    expect(kmsMaterials(keyId)).toHaveLength(1);
    const record = JSON.parse(readFileSync(join(w.escrowDir(), `${keyId}.pkcs11.json`), 'utf8')) as { materials: unknown[] };
    expect(record.materials).toHaveLength(1);

    const again = await run(args, { cwd: w.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('found the token key an interrupted rotation generated');
    expect(w.hsm.readValue(`${keyId}/2`).equals(orphan)).toBe(true);
    await assertRotatedWithEscrow(keyId, again.json<{ escrow: string }>().escrow);
  });

  it('a rotation whose import never got through (recorded, not imported) is finished by the same command, importing the recorded token key', async () => {
    const keyId = await onboardTokenOnly();
    const args = ['rotate', keyId, '--in-place', '--yes', '--no-expiry', '--json', ...w.custody(), ...w.target];
    w.emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'drop-before', times: 1000 });
    const failed = await run(args, { cwd: w.dir });
    w.emu.faults.clear();
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toContain('custody record updated');
    expect(kmsMaterials(keyId)).toHaveLength(1);
    const recorded = w.hsm.readValue(`${keyId}/2`);

    const again = await run(args, { cwd: w.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('that an interrupted rotation recorded and never imported');
    expect(w.hsm.labels().sort()).toEqual([keyId, `${keyId}/2`].sort());
    const held = kmsMaterials(keyId);
    expect(held).toHaveLength(2);
    expect(held.some((m) => Buffer.from(m.material!, 'base64').equals(recorded))).toBe(true);
    const record = JSON.parse(readFileSync(join(w.escrowDir(), `${keyId}.pkcs11.json`), 'utf8')) as { materials: { keyMaterialId?: string }[] };
    expect(record.materials).toHaveLength(2);
    expect(record.materials[1]!.keyMaterialId).toBe(again.json<{ rotated: { current: string } }>().rotated.current);
    const status = await run(['status', keyId, '--escrow-dir', w.escrowDir(), ...w.target], { cwd: w.dir });
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const verify = await run(['verify', keyId, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('status after a rotation without --also-escrow on a key with an escrow: the new material is held in the token (ok, exit 0); unrecorded it would be a mismatch', async () => {
    const onboard = await run(['onboard', '--yes', '--no-expiry', '--json', '--also-escrow', '--recipient', w.alice.recipient, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(onboard.code, onboard.stderr).toBe(0);
    const { keyId } = onboard.json<{ keyId: string }>();
    const rotate = await run(['rotate', keyId, '--in-place', '--yes', '--no-expiry', '--json', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stderr).toContain('stays in the token alone');
    const current = rotate.json<{ rotated: { current: string } }>().rotated.current;
    expect(kmsMaterials(keyId)).toHaveLength(2);

    const status = await run(['status', keyId, '--escrow-dir', w.escrowDir(), '--json', ...w.target], { cwd: w.dir });
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const doc = status.json<{ keys: { attention: string[]; escrowCheck: { matches: boolean }; custody?: { matches: boolean; tokenOnly?: string[] } }[] }>();
    expect(doc.keys[0]!.attention).toEqual([]);
    expect(doc.keys[0]!.escrowCheck.matches).toBe(true);
    expect(doc.keys[0]!.custody).toMatchObject({ matches: true, tokenOnly: [current] });
    const table = await run(['status', keyId, '--escrow-dir', w.escrowDir(), ...w.target], { cwd: w.dir });
    expect(table.code, table.stdout + table.stderr).toBe(0);
    expect(table.stdout).toContain('v1 ok + pkcs11 ok (1 in the token only)');

    // A material neither the escrow nor the custody record names is still a mismatch (exit 3).
    const recordPath = join(w.escrowDir(), `${keyId}.pkcs11.json`);
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as { materials: { keyMaterialId?: string }[] };
    delete record.materials[1]!.keyMaterialId;
    writeFileSync(recordPath, JSON.stringify(record), { mode: 0o600 });
    const unrecorded = await run(['status', keyId, '--escrow-dir', w.escrowDir(), ...w.target], { cwd: w.dir });
    expect(unrecorded.code, unrecorded.stdout + unrecorded.stderr).toBe(3);
    expect(unrecorded.stdout).toContain('v1 MISMATCH');
  });

  it('--recipient is still refused for an in-place rotation without --custody pkcs11 --also-escrow (exit 2, before any KMS request)', async () => {
    const keyId = await onboardTokenOnly();
    const tokenOnly = await run(['rotate', keyId, '--in-place', '--yes', '--no-expiry', '--recipient', w.alice.recipient, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(tokenOnly.code).toBe(2);
    expect(tokenOnly.stderr).toContain('ERR_USAGE');
    expect(tokenOnly.stderr).toContain('--in-place --custody pkcs11 --also-escrow');
    const software = await run(['rotate', keyId, '--in-place', '--yes', '--no-expiry', '--recipient', w.alice.recipient, '--identity', w.alice.path, ...w.target], { cwd: w.dir });
    expect(software.code).toBe(2);
    expect(software.stderr).toContain('ERR_USAGE');
    expect(w.hsm.labels()).toEqual([keyId]);
    expect(kmsMaterials(keyId)).toHaveLength(1);
  });
});
