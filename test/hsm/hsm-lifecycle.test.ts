/**
 * HSM custody end to end on SoftHSM2 and the emulator (docs/hsm.md): onboard → reimport → revoke →
 * restore → rotate in place → verify of an AES-256 key generated in the token. The emulator's own
 * unwrap (its state file holds what KMS holds) is compared with CKA_VALUE the TEST reads from the token
 * (the test hook makes keys non-sensitive; the product never reads a key value).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../e2e/harness.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { softhsmUnavailable } from '../support/softhsm.js';
import { useHsmWorkspace } from './workspace.js';

const unavailable = softhsmUnavailable();
if (unavailable) console.log(`skipping the PKCS#11 lifecycle tests: ${unavailable}`);

// The --json documents of HSM-custody ceremonies, validated against docs/schemas/hsm.schema.json.
const SCHEMAS = join(import.meta.dirname, '../../docs/schemas');
const ajv = new Ajv2020({ strict: true, allErrors: true });
((addFormatsModule as unknown as { default?: (a: Ajv2020) => void }).default ?? (addFormatsModule as unknown as (a: Ajv2020) => void))(ajv);
for (const f of readdirSync(SCHEMAS).filter((n) => n.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as object);
function valid(doc: unknown): void {
  const v = ajv.getSchema('hsm.schema.json')!;
  expect(v(doc), JSON.stringify(v.errors)).toBe(true);
}

describe.skipIf(unavailable !== undefined)('HSM custody lifecycle (SoftHSM2)', () => {
  const w = useHsmWorkspace('ceremony', 'kms-byok-hsm-');
  const kmsMaterials = (keyId: string) => w.kmsMaterials(keyId);

  it('onboard, reimport, revoke, restore, rotate in place and verify: KMS holds exactly the token key', async () => {
    const onboard = await run(['onboard', '--yes', '--no-expiry', '--json', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(onboard.stderr).toContain('generated SYMMETRIC_DEFAULT material in token ceremony');
    expect(onboard.code).toBe(0);
    const doc = onboard.json<{ keyId: string; keyMaterialId: string; checkValues: string[]; record: string; object: string }>();
    const keyId = doc.keyId;
    valid(doc);
    // The independent proof: what KMS unwrapped is the token's key.
    const tokenKey = w.hsm.readValue(keyId);
    expect(tokenKey.length).toBe(32);
    const held = kmsMaterials(keyId);
    expect(held).toHaveLength(1);
    expect(Buffer.from(held[0]!.material!, 'base64').equals(tokenKey)).toBe(true);
    expect(doc.checkValues[0]).toMatch(/^cmac-aes:[0-9A-F]{6}$/);
    // The custody record: a reference, check values, no material.
    const record = JSON.parse(readFileSync(doc.record, 'utf8')) as { materials: { object: { label: string }; token: { serial: string } }[] };
    expect(record.materials[0]!.object.label).toBe(keyId);
    expect(record.materials[0]!.token.serial).toBe(w.hsm.serial());

    const reimport = await run(['reimport', keyId, '--expires-in', '30d', '--json', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(reimport.code, reimport.stderr).toBe(0);
    expect(kmsMaterials(keyId)[0]!.keyMaterialId).toBe(doc.keyMaterialId);

    const revoke = await run(['revoke', keyId, '--all', '--yes', '--reason', 'test', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(kmsMaterials(keyId)[0]!.material).toBeUndefined();

    const restore = await run(['restore', keyId, '--no-expiry', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(restore.code, restore.stderr).toBe(0);
    expect(Buffer.from(kmsMaterials(keyId)[0]!.material!, 'base64').equals(tokenKey)).toBe(true);

    const rotate = await run(['rotate', keyId, '--in-place', '--yes', '--no-expiry', '--json', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(rotate.code, rotate.stderr).toBe(0);
    const rotated = rotate.json<{ keyMaterialId: string; rotated: { previous: string; current: string } }>();
    valid(rotated);
    valid(reimport.json());
    expect(rotated.rotated.previous).toBe(doc.keyMaterialId);
    const newKey = w.hsm.readValue(`${keyId}/2`);
    expect(newKey.equals(tokenKey)).toBe(false);
    const after = kmsMaterials(keyId);
    expect(after).toHaveLength(2);
    expect(Buffer.from(after.find((m) => m.keyMaterialId === rotated.rotated.current)!.material!, 'base64').equals(newKey)).toBe(true);

    const verify = await run(['verify', keyId, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stderr).toContain('token holds material 1');
    expect(verify.stderr).toContain('token holds material 2');

    const status = await run(['status', keyId, '--escrow-dir', join(w.dir, 'escrow'), ...w.target], { cwd: w.dir });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('pkcs11 ok');

    // No material bytes in any output, record or transcript.
    const forms = [tokenKey, newKey].flatMap((k) => [k.toString('hex'), k.toString('hex').toUpperCase(), k.toString('base64'), k.toString('base64url')]);
    const texts = [onboard, reimport, revoke, restore, rotate, verify, status].flatMap((r) => [r.stdout, r.stderr]);
    // Every file the commands left (custody record, transcript, journals), however deep.
    const files = readdirSync(join(w.dir, 'escrow'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    expect(files.some((f) => f.endsWith('.pkcs11.json'))).toBe(true);
    expect(files.some((f) => f.endsWith('transcript.md'))).toBe(true);
    for (const f of files) texts.push(readFileSync(f, 'latin1'));
    for (const t of texts) for (const f of forms) expect(t.includes(f)).toBe(false);
    for (const f of files) {
      const bytes = readFileSync(f);
      expect(bytes.includes(tokenKey) || bytes.includes(newKey)).toBe(false);
    }
  });

  it('HMAC_256 generated in the token: KMS holds its bytes, GenerateMac equals the token HMAC, reimport and verify work', async () => {
    const onboard = await run(['onboard', '--yes', '--no-expiry', '--json', '--key-spec', 'HMAC_256', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(onboard.code, onboard.stderr).toBe(0);
    const doc = onboard.json<{ keyId: string; checkValues: string[]; verified: string }>();
    expect(doc.checkValues[0]).toMatch(/^hmac-sha256:[0-9A-F]{6}$/);
    valid(doc);
    expect(doc.verified).toContain("GenerateMac (HMAC_SHA_256) equals the token's HMAC");
    const tokenKey = w.hsm.readValue(doc.keyId);
    expect(tokenKey.length).toBe(32);
    expect(Buffer.from(kmsMaterials(doc.keyId)[0]!.material!, 'base64').equals(tokenKey)).toBe(true);
    const reimport = await run(['reimport', doc.keyId, '--expires-in', '30d', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(reimport.code, reimport.stderr).toBe(0);
    const verify = await run(['verify', doc.keyId, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(verify.code, verify.stderr).toBe(0);
    // KMS lists an HMAC key's one material without an id: status matches it to the record's one
    // (its only attention is the 30-day ValidTo of the reimport above).
    const status = await run(['status', doc.keyId, '--escrow-dir', join(w.dir, 'escrow'), ...w.target], { cwd: w.dir });
    expect(status.stdout).toContain('pkcs11 ok');
    expect(status.stderr).not.toContain('lacks key material');
  });

  it('verify refuses a token key whose check values differ from the custody record (exit 1, ERR_CHECK_VALUE_MISMATCH)', async () => {
    const onboard = await run(['onboard', '--yes', '--no-expiry', '--json', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(onboard.code, onboard.stderr).toBe(0);
    const doc = onboard.json<{ keyId: string; record: string }>();
    const record = JSON.parse(readFileSync(doc.record, 'utf8')) as { materials: { checkValues: string[] }[] };
    record.materials[0]!.checkValues = ['cmac-aes:000000'];
    writeFileSync(doc.record, JSON.stringify(record));
    const verify = await run(['verify', doc.keyId, ...w.custody(), ...w.target], { cwd: w.dir });
    expect(verify.code).toBe(1);
    expect(verify.stderr).toContain('ERR_CHECK_VALUE_MISMATCH');
  });

  it('an onboard whose import never got through leaves the record before the import; restore makes the first import from the token', async () => {
    w.emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'drop-before', times: 1000 });
    const failed = await run(['onboard', '--yes', '--no-expiry', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('restore');
    w.emu.faults.clear();
    const keyId = /custody record written: .*\/([0-9a-f-]{36})\.pkcs11\.json/.exec(failed.stderr)?.[1];
    expect(keyId, failed.stderr).toBeDefined();
    const record = JSON.parse(readFileSync(join(w.dir, 'escrow', `${keyId}.pkcs11.json`), 'utf8')) as { materials: { keyMaterialId?: string }[] };
    expect(record.materials[0]!.keyMaterialId).toBeUndefined();
    expect(kmsMaterials(keyId!).filter((m) => m.material !== undefined)).toHaveLength(0);
    const restore = await run(['restore', keyId!, '--no-expiry', ...w.custody(), ...w.target], { cwd: w.dir });
    expect(restore.code, restore.stderr).toBe(0);
    expect(Buffer.from(kmsMaterials(keyId!)[0]!.material!, 'base64').equals(w.hsm.readValue(keyId!))).toBe(true);
    const status = await run(['status', keyId!, '--escrow-dir', join(w.dir, 'escrow'), ...w.target], { cwd: w.dir });
    expect(status.code, status.stdout + status.stderr).toBe(0);
  });
});
