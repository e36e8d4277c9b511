/**
 * Share check values in the sidecar (docs/escrow-format.md, "Share check values"): a 2-of-3 escrow
 * records each share's `sha256-kcv` at seal time; `escrow hand-over` prints the same value and refuses
 * a share that differs from it; the host refuses a handed-over share whose share differs from the
 * sidecar's value — even when the hand-over file is self-consistent (claim and inside agree) — naming
 * the custodian, exit 1, before combining and before any import; then the restore with honest shares
 * succeeds. A sidecar without the values (written before them) still opens.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DeleteImportedKeyMaterialCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBytes } from '../../src/core/secret.js';
import { handOver, openHandovers } from '../../src/escrow/index.js';
import { parseShare, parseSidecar, serializeShare, sha256Hex, type EscrowSidecar } from '../../src/escrow/format.js';
import { sealArmored, unsealArmored } from '../../src/escrow/seal.js';
import { readEscrow } from '../../src/escrow/file-store.js';
import { createHandoverIdentity, loadHandoverIdentities } from '../../src/records/handover-identity.js';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

let ws: Workspace;
let keyId: string;
const people = ['alice', 'bob', 'carol'] as const;
const ids = {} as Record<(typeof people)[number], { identity: string; recipient: string; path: string }>;

beforeAll(async () => {
  ws = await workspace();
  for (const n of people) ids[n] = await custodian(ws.path(`${n}.txt`));
  const r = await run(['onboard', '--yes', ...ws.target, '--alias', 'alias/kcv', ...people.flatMap((n) => ['--recipient', `${n}=${ids[n].recipient}`]), '--threshold', '2', '--expires-in', '30d', '--escrow-dir', 'escrow', '--json'], { cwd: ws.dir });
  expect(r.code, r.stderr).toBe(0);
  keyId = r.json<{ keyId: string }>().keyId;
});
afterAll(async () => ws?.close());

const sidecarPath = () => ws.path(`escrow/${keyId}.v1.age.json`);
const loadSidecar = (): EscrowSidecar => parseSidecar(new Uint8Array(readFileSync(sidecarPath())));

/** Bob's share file, re-sealed to bob with one byte of the share changed; and the sidecar entry made to match the file (not the share). */
async function forgedBobEscrow(): Promise<{ sidecar: EscrowSidecar; files: { name: string; bytes: Uint8Array }[] }> {
  const loaded = await readEscrow(ws.path(`escrow/${keyId}.v1.age`), { found: true });
  const entry = loaded.sidecar.files.find((f) => f.role === 'share' && f.holder?.label === 'bob')!;
  const file = loaded.files.find((f) => f.name === entry.name)!;
  const plain = await unsealArmored(file.bytes, { identities: [ids.bob.identity] }, entry.name);
  const doc = plain.use((b) => parseShare(b));
  plain.dispose();
  const bytes = doc.share.use((b) => Uint8Array.from(b));
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
  doc.share.dispose();
  const forged = await sealArmored(serializeShare({ ...doc, share: SecretBytes.adopt(bytes) }), { recipients: [ids.bob.recipient] });
  const files = loaded.files.map((f) => (f.name === entry.name ? { name: f.name, bytes: forged } : f));
  const sidecar: EscrowSidecar = { ...loaded.sidecar, files: loaded.sidecar.files.map((f) => (f.name === entry.name ? { ...f, sha256: sha256Hex(forged) } : f)) };
  return { sidecar, files };
}

describe('share check values in the sidecar', () => {
  it('each share file of a new 2-of-3 escrow records its sha256-kcv; escrow hand-over prints that value', async () => {
    const shares = loadSidecar().files.filter((f) => f.role === 'share');
    expect(shares).toHaveLength(3);
    for (const f of shares) expect(f.checkValue).toMatch(/^sha256-kcv:[0-9A-F]{6}$/);
    const to = (await createHandoverIdentity(ws.path('escrow'))).recipient;
    const r = await run(['escrow', 'hand-over', `escrow/${keyId}.v1.age`, '--identity', ids.carol.path, '--to', to, '--out', 'carol-1.handover', '--json'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ checkValues: string[] }>().checkValues).toEqual([shares.find((f) => f.holder?.label === 'carol')!.checkValue]);
  });

  it('hand-over refuses a share that differs from the value its sidecar recorded (ERR_CHECK_VALUE_MISMATCH, naming bob)', async () => {
    const forged = await forgedBobEscrow();
    const to = (await createHandoverIdentity(ws.path('escrow'))).recipient;
    const e = await handOver(forged, [ids.bob.identity], to, '2026-12-04T00:00:00Z').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ERR_CHECK_VALUE_MISMATCH' });
    expect((e as Error).message).toContain('share 2 (bob)');
  });

  it('the host refuses a self-consistent forged hand-over before combining, exit 1, naming bob; KMS untouched; honest shares then restore', async () => {
    await ws.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    const to = (await createHandoverIdentity(ws.path('escrow'))).recipient;
    // A custodian whose own copy lacks the values (an old sidecar) hands over a damaged share: the file vouches for itself.
    const forged = await forgedBobEscrow();
    const old = { ...forged, sidecar: { ...forged.sidecar, files: forged.sidecar.files.map(({ checkValue: _, ...f }) => f) } };
    const bad = await handOver(old, [ids.bob.identity], to, '2026-12-04T00:00:00Z');
    writeFileSync(ws.path('bob.handover'), bad.bytes, { mode: 0o600 });
    const good = await handOver(await readEscrow(ws.path(`escrow/${keyId}.v1.age`), { found: true }), [ids.alice.identity], to, '2026-12-04T00:00:00Z');
    writeFileSync(ws.path('alice.handover'), good.bytes, { mode: 0o600 });

    // Directly: refused against the sidecar; against a sidecar without the values, only the claim vouches and it passes.
    const { identities } = await loadHandoverIdentities(ws.path('escrow'));
    const files = [{ name: 'bob.handover', bytes: bad.bytes }];
    await expect(openHandovers(files, identities, loadSidecar(), { escrowDir: 'escrow' })).rejects.toMatchObject({ code: 'ERR_CHECK_VALUE_MISMATCH', message: expect.stringContaining('share 2 (bob)') });
    const withoutValues = { ...loadSidecar(), files: loadSidecar().files.map(({ checkValue: _, ...f }) => f) };
    const opened = await openHandovers(files, identities, withoutValues, { escrowDir: 'escrow' });
    for (const d of 'shares' in opened.opener ? opened.opener.shares : []) d.dispose();

    const imports = () => operations(ws.emu).filter((o) => o === 'ImportKeyMaterial').length;
    const before = imports();
    const r = await run(['restore', keyId, ...ws.target, '--expires-in', '90d', '--escrow-dir', 'escrow', '--share', 'bob.handover', '--share', 'alice.handover'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('ERR_CHECK_VALUE_MISMATCH');
    expect(r.stderr).toContain('share 2 (bob)');
    expect(imports()).toBe(before);
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('PendingImport');

    // Recovery: carol hands over instead of bob.
    const carol = await handOver(await readEscrow(ws.path(`escrow/${keyId}.v1.age`), { found: true }), [ids.carol.identity], to, '2026-12-04T00:00:00Z');
    expect(carol.claim.checkValues).toEqual([loadSidecar().files.find((f) => f.holder?.label === 'carol')!.checkValue]);
    writeFileSync(ws.path('carol.handover'), carol.bytes, { mode: 0o600 });
    const ok = await run(['restore', keyId, ...ws.target, '--expires-in', '90d', '--escrow-dir', 'escrow', '--share', 'alice.handover', '--share', 'carol.handover'], { cwd: ws.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('Enabled');
    const status = await run(['status', keyId, ...ws.target, '--escrow-dir', 'escrow'], { cwd: ws.dir });
    expect(status.code, status.stderr).toBe(0);
  });
});
