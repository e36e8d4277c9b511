/**
 * `onboard --custody pkcs11 --also-escrow` on SoftHSM2 and the emulator (docs/hsm.md, "Also an age
 * escrow"): the token key leaves the token only by wrapping, is sealed in an age escrow that is durable
 * before the import, and the run says (stderr, transcript, custody record) that its plaintext existed
 * outside the HSM once. The escrow opened with the custodian's identity equals what KMS holds (the
 * emulator's own unwrap, from its state file) and the token's value (read by the TEST through the
 * readable-key hook; the product never reads CKA_VALUE).
 */
import { describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../e2e/harness.js';
import { openEscrow, disposePayload } from '../../src/escrow/index.js';
import { readEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';
import { softhsmUnavailable } from '../support/softhsm.js';
import { useHsmWorkspace } from './workspace.js';

const unavailable = softhsmUnavailable();
if (unavailable) console.log(`skipping the PKCS#11 --also-escrow tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('onboard --custody pkcs11 --also-escrow (SoftHSM2)', () => {
  const w = useHsmWorkspace('ceremony', 'kms-byok-hsm-escrow-');
  const kmsMaterials = (keyId: string) => w.kmsMaterials(keyId);
  const opened = async (path: string): Promise<Buffer> => {
    const payload = await openEscrow(await readEscrow(path), { identities: [w.alice.identity] }, { computeCheckValue: checkValue });
    const copy = payload.materials[0]!.material.use((b) => Buffer.from(b));
    disposePayload(payload);
    return copy;
  };

  it('seals the token key: escrow = KMS = token; the cost is stated on stderr, in the transcript and the custody record; status and verify pass', async () => {
    const onboard = await run(['onboard', '--yes', '--no-expiry', '--json', '--also-escrow', '--recipient', w.alice.recipient, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(onboard.code, onboard.stderr).toBe(0);
    expect(onboard.stderr).toMatch(/--also-escrow: the plaintext of the token key will exist outside the HSM once/);
    const doc = onboard.json<{ keyId: string; escrow: string; record: string; checkValues: string[] }>();
    expect(doc.escrow).toMatch(/\.age$/);
    const tokenKey = w.hsm.readValue(doc.keyId);
    const fromEscrow = await opened(doc.escrow);
    const held = kmsMaterials(doc.keyId);
    expect(held).toHaveLength(1);
    expect(fromEscrow.equals(tokenKey)).toBe(true);
    expect(fromEscrow.equals(Buffer.from(held[0]!.material!, 'base64'))).toBe(true);

    const record = JSON.parse(readFileSync(doc.record, 'utf8')) as { alsoEscrowed?: boolean; alsoEscrow?: { escrow: string; statement: string } };
    expect(record.alsoEscrowed).toBe(true);
    expect(record.alsoEscrow!.escrow).toBe(doc.escrow);
    expect(record.alsoEscrow!.statement).toContain('outside the HSM once');
    const transcript = readFileSync(join(w.escrowDir(), 'transcript.md'), 'utf8');
    expect(transcript).toContain('also escrow');
    expect(transcript).toContain('outside the HSM once');
    // The escrow's sidecar records the import KMS confirmed.
    const sidecar = JSON.parse(readFileSync(`${doc.escrow}.json`, 'utf8')) as { materials: { keyMaterialId?: string; checkValue: string }[] };
    expect(sidecar.materials[0]!.keyMaterialId).toBe(held[0]!.keyMaterialId);
    expect(doc.checkValues).toContain(sidecar.materials[0]!.checkValue);

    const status = await run(['status', doc.keyId, '--escrow-dir', w.escrowDir(), ...w.target], { cwd: w.dir });
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toContain('v1 ok');
    // Both custodies prove KMS holds the material: the token, and the escrow opened by its custodian.
    const viaToken = await run(['verify', doc.keyId, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(viaToken.code, viaToken.stderr).toBe(0);
    const viaEscrow = await run(['verify', doc.keyId, '--escrow-dir', w.escrowDir(), '--identity', w.alice.path, ...w.target], { cwd: w.dir });
    expect(viaEscrow.code, viaEscrow.stderr).toBe(0);

    // No material bytes in any output or file but the sealed escrow.
    const forms = [tokenKey.toString('hex'), tokenKey.toString('hex').toUpperCase(), tokenKey.toString('base64')];
    const files = readdirSync(w.escrowDir(), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    for (const t of [onboard.stdout, onboard.stderr, ...files.map((f) => readFileSync(f, 'latin1'))]) for (const f of forms) expect(t.includes(f)).toBe(false);
    for (const f of files) expect(readFileSync(f).includes(tokenKey)).toBe(false);
  });

  it('an ECC_NIST_P256 pair: the escrow holds the token private key (PKCS#8), whose public key is the one KMS holds', async () => {
    const onboard = await run(['onboard', '--yes', '--no-expiry', '--json', '--key-spec', 'ECC_NIST_P256', '--also-escrow', '--recipient', w.alice.recipient, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(onboard.code, onboard.stderr).toBe(0);
    const doc = onboard.json<{ keyId: string; escrow: string }>();
    const pkcs8 = await opened(doc.escrow);
    const fromEscrow = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
    const state = JSON.parse(readFileSync(w.stateFile, 'utf8')) as { regions: Record<string, { keys: Record<string, { materials: { material?: string }[] }> }> };
    const held = Object.values(state.regions).map((r) => r.keys[doc.keyId]).find(Boolean)!.materials[0]!.material!;
    const fromKms = createPublicKey(createPrivateKey({ key: Buffer.from(held, 'base64'), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
    expect(fromEscrow.equals(fromKms)).toBe(true);
    const status = await run(['status', doc.keyId, '--escrow-dir', w.escrowDir(), ...w.target], { cwd: w.dir });
    expect(status.code, status.stdout + status.stderr).toBe(0);
  });

  it('rotate --in-place --also-escrow seals a new escrow version with every material (the previous custodians), each equal to its token key and to what KMS holds', async () => {
    const onboard = await run(['onboard', '--yes', '--no-expiry', '--json', '--also-escrow', '--recipient', w.alice.recipient, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(onboard.code, onboard.stderr).toBe(0);
    const { keyId } = onboard.json<{ keyId: string }>();
    const rotate = await run(['rotate', keyId, '--in-place', '--yes', '--no-expiry', '--json', '--also-escrow', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stderr).toContain('outside the HSM once');
    const doc = rotate.json<{ escrow: string; rotated: { previous: string; current: string } }>();
    expect(doc.escrow).toMatch(/\.v2\.age$/);
    const payload = await openEscrow(await readEscrow(doc.escrow), { identities: [w.alice.identity] }, { computeCheckValue: checkValue });
    const sealed = payload.materials.map((m) => m.material.use((b) => Buffer.from(b)));
    disposePayload(payload);
    expect(sealed).toHaveLength(2);
    expect(sealed[0]!.equals(w.hsm.readValue(keyId))).toBe(true);
    expect(sealed[1]!.equals(w.hsm.readValue(`${keyId}/2`))).toBe(true);
    const held = kmsMaterials(keyId);
    expect(held).toHaveLength(2);
    for (const k of sealed) expect(held.some((m) => m.material !== undefined && Buffer.from(m.material, 'base64').equals(k))).toBe(true);
    const status = await run(['status', keyId, '--escrow-dir', w.escrowDir(), ...w.target], { cwd: w.dir });
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toContain('v2 ok');
    const viaEscrow = await run(['verify', keyId, '--escrow-dir', w.escrowDir(), '--identity', w.alice.path, ...w.target], { cwd: w.dir });
    expect(viaEscrow.code, viaEscrow.stderr).toBe(0);
  });

  it('the escrow is durable before the import: an import that never gets through leaves an escrow that opens to the token key', async () => {
    w.emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'drop-before', times: 1000 });
    const failed = await run(['onboard', '--yes', '--no-expiry', '--also-escrow', '--recipient', w.alice.recipient, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(failed.code).toBe(1);
    w.emu.faults.clear();
    const keyId = /custody record written: .*\/([0-9a-f-]{36})\.pkcs11\.json/.exec(failed.stderr)?.[1];
    expect(keyId, failed.stderr).toBeDefined();
    const sealed = /material sealed in escrow (\S+\.age)/.exec(failed.stderr)?.[1];
    expect(sealed, failed.stderr).toBeDefined();
    expect(kmsMaterials(keyId!).filter((m) => m.material !== undefined)).toHaveLength(0);
    expect((await opened(sealed!)).equals(w.hsm.readValue(keyId!))).toBe(true);
    // What the user runs next: restore from the token; then KMS holds what the escrow holds.
    const restore = await run(['restore', keyId!, '--no-expiry', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(restore.code, restore.stderr).toBe(0);
    expect(Buffer.from(kmsMaterials(keyId!)[0]!.material!, 'base64').equals(await opened(sealed!))).toBe(true);
  });
});
