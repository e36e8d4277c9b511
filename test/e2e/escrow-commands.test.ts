/**
 * The escrow commands as custodians use them, after a real onboard ceremony: inspect without secrets,
 * verify (exit 3 on a mismatch), reseal to a 2-of-3 custodian set (old version kept and still
 * opening), and export for disaster recovery (never to a terminal, 0600, never overwriting).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBytes } from '../../src/core/secret.js';
import { checkValue } from '../../src/material/check-value.js';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

let ws: Workspace;
type Who = Awaited<ReturnType<typeof custodian>>;
let alice: Who, bob: Who, carol: Who, dan: Who;
let escrowFile: string;
let kcv: string;

beforeAll(async () => {
  ws = await workspace();
  const all = await Promise.all(['alice', 'bob', 'carol', 'dan'].map((n) => custodian(ws.path(`${n}.txt`))));
  [alice, bob, carol, dan] = all as [Who, Who, Who, Who];
  const r = await run(['onboard', ...ws.target, '--yes', '--json', '--expires-in', '30d', '--recipient', `alice=${alice.recipient}`, '--escrow-dir', ws.path('escrow')]);
  expect(r.code, r.stderr).toBe(0);
  const out = r.json<{ escrow: { path: string }; checkValue: string }>();
  escrowFile = out.escrow.path;
  kcv = out.checkValue;
});
afterAll(async () => ws?.close());

describe('escrow inspect', () => {
  it('shows custodians, materials and files without any secret', async () => {
    const r = await run(['escrow', 'inspect', escrowFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = r.json<{ custodians: { label: string; recipient: string }[]; materials: { checkValue: string; keyMaterialId: string }[]; versions: number[]; stockAge: Record<string, string> }>();
    expect(s.custodians).toEqual([expect.objectContaining({ label: 'alice', recipient: alice.recipient })]);
    expect(s.materials[0]!.checkValue).toBe(kcv);
    expect(s.materials[0]!.keyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect(s.versions).toEqual([1]);
    expect(s.stockAge[alice.recipient]).toMatch(/age ≥ 1\.0/);
    const human = await run(['escrow', 'inspect', escrowFile]);
    expect(human.stdout).toMatch(/custodian 1 +alice age1/);
  });
});

describe('escrow verify', () => {
  it('exits 3 when the sidecar no longer matches the sealed file', async () => {
    const copy = ws.path('tampered');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(copy);
    const base = escrowFile.split('/').pop()!;
    copyFileSync(escrowFile, `${copy}/${base}`);
    const sidecar = JSON.parse(readFileSync(`${escrowFile}.json`, 'utf8')) as { materials: { checkValue: string }[] };
    sidecar.materials[0]!.checkValue = 'cmac-aes:000000';
    writeFileSync(`${copy}/${base}.json`, JSON.stringify(sidecar));
    const r = await run(['escrow', 'verify', `${copy}/${base}`, '--identity', alice.path]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/kms-byok: code: ERR_(ESCROW|CHECK_VALUE)_\w+/);
  });

  it('exits 1 with the wrong identity', async () => {
    const r = await run(['escrow', 'verify', escrowFile, '--identity', bob.path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_DECRYPT');
  });
});

describe('escrow reseal to a 2-of-3 set', () => {
  let v2: string;
  beforeAll(async () => {
    const r = await run(['escrow', 'reseal', escrowFile, '--identity', alice.path, '--json', '--recipient', `bob=${bob.recipient}`, '--recipient', `carol=${carol.recipient}`, '--recipient', `dan=${dan.recipient}`, '--threshold', '2']);
    expect(r.code, r.stderr).toBe(0);
    v2 = r.json<{ escrow: { path: string; version: number } }>().escrow.path;
    expect(r.json<{ escrow: { version: number } }>().escrow.version).toBe(2);
  });

  it('any two custodians open the new version; one alone is told how many are missing', async () => {
    const two = await run(['escrow', 'verify', v2, '--identity', bob.path, '--identity', dan.path, '--json']);
    expect(two.code, two.stderr).toBe(0);
    expect(two.json<{ materials: { checkValue: string }[]; threshold: number }>()).toMatchObject({ threshold: 2, materials: [{ checkValue: kcv }] });
    const one = await run(['escrow', 'verify', v2, '--identity', carol.path]);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain('kms-byok: code: ERR_ESCROW_TOO_FEW_SHARES');
  });

  it('keeps the old version, which alice still opens, and carries the import facts over', async () => {
    expect((await run(['escrow', 'verify', escrowFile, '--identity', alice.path])).code).toBe(0);
    const old = JSON.parse(readFileSync(`${escrowFile}.json`, 'utf8')) as { materials: { keyMaterialId: string; validTo: unknown[] }[] };
    const next = JSON.parse(readFileSync(`${v2}.json`, 'utf8')) as { materials: { keyMaterialId: string; validTo: unknown[] }[] };
    expect(next.materials[0]!.keyMaterialId).toBe(old.materials[0]!.keyMaterialId);
    expect(next.materials[0]!.validTo).toEqual(old.materials[0]!.validTo);
    const listed = await run(['escrow', 'inspect', v2, '--json']);
    expect(listed.json<{ versions: number[] }>().versions).toEqual([1, 2]);
  });
});

describe('escrow export', () => {
  it('refuses without --insecure-plaintext, and without --out', async () => {
    const a = await run(['escrow', 'export', escrowFile, '--identity', alice.path, '--out', ws.path('m.bin')]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('missing --insecure-plaintext');
    const b = await run(['escrow', 'export', escrowFile, '--identity', alice.path, '--insecure-plaintext']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('never written to a terminal or stdout');
  });

  it('writes the material to a new 0600 file whose check value matches, and never overwrites', async () => {
    const out = ws.path('material.bin');
    const r = await run(['escrow', 'export', escrowFile, '--identity', alice.path, '--insecure-plaintext', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[0-9a-f]{64}/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const bytes = readFileSync(out);
    expect(bytes).toHaveLength(32);
    expect(checkValue(SecretBytes.copyOf(bytes), 'SYMMETRIC_DEFAULT')).toBe(kcv);
    const again = await run(['escrow', 'export', escrowFile, '--identity', alice.path, '--insecure-plaintext', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });
});

describe('onboard with split knowledge', () => {
  it('--threshold 2 with three labelled custodians: share files each sealed to one custodian; any two open it', async () => {
    const r = await run(['onboard', ...ws.target, '--yes', '--json', '--no-expiry', '--escrow-dir', ws.path('escrow-2of3'), '--threshold', '2',
      '--recipient', `bob=${bob.recipient}`, '--recipient', `carol=${carol.recipient}`, '--recipient', `dan=${dan.recipient}`]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ escrow: { path: string; files: { role: string; holder?: string }[] }; checkValue: string }>();
    expect(out.escrow.files.filter((f) => f.role === 'share')).toHaveLength(3);
    const v = await run(['escrow', 'verify', out.escrow.path, '--identity', carol.path, '--identity', dan.path, '--json']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json<{ materials: { checkValue: string }[] }>().materials[0]!.checkValue).toBe(out.checkValue);
    expect((await run(['escrow', 'verify', out.escrow.path, '--identity', bob.path])).code).toBe(1);
  });

  it('--split xor: every custodian gets a component; all are needed', async () => {
    const r = await run(['onboard', ...ws.target, '--yes', '--json', '--no-expiry', '--escrow-dir', ws.path('escrow-xor'), '--split', 'xor',
      '--recipient', `bob=${bob.recipient}`, '--recipient', `carol=${carol.recipient}`]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ escrow: { path: string; files: { role: string }[] }; checkValue: string }>();
    expect(out.escrow.files.filter((f) => f.role === 'component')).toHaveLength(2);
    const both = await run(['escrow', 'verify', out.escrow.path, '--identity', bob.path, '--identity', carol.path, '--json']);
    expect(both.code, both.stderr).toBe(0);
    expect((await run(['escrow', 'verify', out.escrow.path, '--identity', bob.path])).code).toBe(1);
  });

  it('refuses a threshold larger than the number of custodians before any KMS call', async () => {
    const r = await run(['onboard', ...ws.target, '--yes', '--no-expiry', '--escrow-dir', ws.path('escrow-bad'), '--threshold', '3', '--recipient', bob.recipient, '--recipient', carol.recipient]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('kms-byok: error: invalid --threshold "3" for 2 recipients');
  });
});

describe('escrow acknowledge', () => {
  it('each custodian proves possession of their own share; the confirmation lands in the transcript', async () => {
    const r = await run(['onboard', ...ws.target, '--yes', '--json', '--no-expiry', '--escrow-dir', ws.path('escrow-ack'), '--threshold', '2',
      '--recipient', `bob=${bob.recipient}`, '--recipient', `carol=${carol.recipient}`, '--recipient', `dan=${dan.recipient}`]);
    expect(r.code, r.stderr).toBe(0);
    const file = r.json<{ escrow: { path: string } }>().escrow.path;
    const ack = await run(['escrow', 'acknowledge', file, '--identity', carol.path, '--name', 'Carol Example', '--json']);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.json<{ file: { role: string; name: string } }>()).toMatchObject({ file: { role: 'share', name: expect.stringMatching(/\.share-2\.age$/) } });
    const transcript = readFileSync(ws.path('escrow-ack/transcript.md'), 'utf8');
    expect(transcript).toContain('Carol Example (carol)');
    expect(transcript).toContain('custodian acknowledgement');
    expect((await run(['transcript', 'verify', ws.path('escrow-ack/transcript.md')])).code).toBe(0);
    const stranger = await run(['escrow', 'acknowledge', file, '--identity', alice.path, '--name', 'Alice']);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toContain('not a custodian of this escrow');
    const nameless = await run(['escrow', 'acknowledge', file, '--identity', bob.path]);
    expect(nameless.code).toBe(2);
  });
});
