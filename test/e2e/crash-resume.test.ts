/**
 * Crash safety (docs/lifecycle.md, "Journals"): the BUILT CLI (`dist/bin.cjs`, rebuilt here when older than src/)
 * is spawned against an in-test emulator and killed with SIGKILL right after each journal step of an
 * in-place rotation in turn — through the journal-step observer (src/records/journal-observer.ts), installed by the preloaded test/support/crash-after-step.mjs and called by
 * the CLI edge (src/cli/context.ts). After every crash, no material is in KMS that no escrow
 * holds; re-running the same command completes the rotation.
 *
 * "Held by an escrow" is checked independently of kms-byok: every escrow version is opened and the
 * emulator's documented KeyMaterialId (HMAC-SHA256 keyed by key id) is computed from each material.
 */
import { BIN, ensureBuilt } from '../support/built-cli.js';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, ListKeysCommand, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { disposePayload, openEscrow } from '../../src/escrow/index.js';
import { readEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';
import { workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { onboardKey } from './lifecycle-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CRASH_HOOK = join(ROOT, 'test/support/crash-after-step.mjs');



interface Spawned {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const preload = env.TEST_CRASH_AFTER_STEP ? ['--import', CRASH_HOOK] : [];
    const child = spawn(process.execPath, [...preload, BIN, ...args], {
      cwd: ws.dir,
      env: { PATH: process.env.PATH ?? '', HOME: ws.dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };

beforeAll(async () => {
  await ensureBuilt();
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
}, 120_000);
afterAll(async () => ws?.close());

/** KeyMaterialIds (as the emulator derives them) of every material in every escrow version of `keyId`. */
async function escrowedIds(keyId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const dir = ws.path('escrow');
  for (const f of readdirSync(dir).filter((n) => n.startsWith(`${keyId}.v`) && n.endsWith('.age.json'))) {
    const payload = await openEscrow(await readEscrow(join(dir, f)), { identities: [alice.identity] }, { computeCheckValue: checkValue });
    for (const m of payload.materials) {
      ids.add(m.material.use((b) => createHmac('sha256', Buffer.from(`kms-byok-emulator/key-material-id/v1/${keyId}`, 'utf8')).update(b).digest('hex')));
    }
    disposePayload(payload);
  }
  return ids;
}

async function kmsIds(keyId: string): Promise<string[]> {
  const r = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
  return r.Rotations!.map((m) => m.KeyMaterialId!);
}

const STEPS = ['started', 'escrow sealed', 'got parameters', 'imported', 'rotated', 'verified'];

describe('rotate --in-place survives SIGKILL after every journal step', () => {
  it.each(STEPS)('killed after "%s": nothing in KMS without an escrow; re-running completes', async (step) => {
    const key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    const ct = (await ws.kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from(step) }))).CiphertextBlob!;
    const args = ['rotate', key.keyId, '--in-place', '--yes', '--no-expiry', '--escrow-dir', ws.path('escrow'), '--identity', alice.path, '--endpoint-url', ws.emu.endpoint, '--region', 'us-east-1', '--json'];

    const crashed = await cli(args, { TEST_CRASH_AFTER_STEP: step });
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    const held = await escrowedIds(key.keyId);
    for (const id of await kmsIds(key.keyId)) expect(held.has(id), `KMS material ${id} is in no escrow after a crash at "${step}"`).toBe(true);

    // A paused ceremony whose import token expired: the re-run fetches fresh parameters.
    if (step === 'got parameters') ws.emu.clock.advance(25 * 3600_000);

    const again = await cli(args);
    expect(again.code, again.stderr).toBe(0);
    if (step !== 'verified') expect(again.stderr).toMatch(/resuming an unfinished rotate-in-place/);
    const out = JSON.parse(again.stdout) as { keyMaterialId: string; materialCount: number; escrow: { version: number } };
    // Exactly one rotation happened: two materials, escrow version 2, whatever step the crash hit.
    expect(out).toMatchObject({ materialCount: 2, escrow: { version: 2 } });
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(d.KeyMetadata!.KeyState).toBe('Enabled');
    expect(d.KeyMetadata!.CurrentKeyMaterialId).toBe(out.keyMaterialId);
    const after = await kmsIds(key.keyId);
    expect(after).toHaveLength(2);
    const heldAfter = await escrowedIds(key.keyId);
    for (const id of after) expect(heldAfter.has(id)).toBe(true);
    expect(Buffer.from((await ws.kms.send(new DecryptCommand({ CiphertextBlob: ct }))).Plaintext!).toString()).toBe(step);
  }, 120_000);
});

describe('restore --new-key survives SIGKILL after every journal step', () => {
  it.each(['created key', 'imported'])('killed after "%s": re-running finishes with ONE new key holding the escrowed material', async (step) => {
    const old = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    const alias = `alias/dr-${step.replace(/ /g, '-')}`;
    const args = ['restore', '--new-key', '--yes', '--escrow', old.escrow.path, '--alias', alias, '--no-expiry', '--identity', alice.path, '--endpoint-url', ws.emu.endpoint, '--region', 'us-east-1', '--json'];
    const keysBefore = (await ws.kms.send(new ListKeysCommand({}))).Keys!.length;

    const crashed = await cli(args, { TEST_CRASH_AFTER_STEP: step });
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    const again = await cli(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming an unfinished restore-new-key/);
    const out = JSON.parse(again.stdout) as { keyId: string; aliases: string[] };
    expect(out.aliases).toEqual([alias]);
    expect((await ws.kms.send(new ListKeysCommand({}))).Keys!.length).toBe(keysBefore + 1);
    const held = await escrowedIds(out.keyId);
    const ids = await kmsIds(out.keyId);
    expect(ids).toHaveLength(1);
    expect(held.has(ids[0]!)).toBe(true);
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata!.KeyId).toBe(out.keyId);
  }, 120_000);
});

describe('rotate --new-key survives SIGKILL', () => {
  it.each(['escrow sealed', 'alias'])('killed after "%s": re-running by the same alias finishes the same rotation', async (step) => {
    const alias = `alias/rot-${step.replace(/ /g, '-')}`;
    const old = await onboardKey(ws, alice.recipient, ['--no-expiry', '--alias', alias]);
    const args = ['rotate', alias, '--new-key', '--yes', '--no-expiry', '--escrow-dir', ws.path('escrow'), '--identity', alice.path, '--endpoint-url', ws.emu.endpoint, '--region', 'us-east-1', '--json'];
    const keysBefore = (await ws.kms.send(new ListKeysCommand({}))).Keys!.length;
    const crashed = await cli(args, { TEST_CRASH_AFTER_STEP: step });
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    const again = await cli(args);
    expect(again.code, again.stderr).toBe(0);
    const out = JSON.parse(again.stdout) as { keyId: string; oldKeyId: string; aliases: string[] };
    expect(out.oldKeyId).toBe(old.keyId);
    expect(out.aliases).toEqual([alias]);
    expect((await ws.kms.send(new ListKeysCommand({}))).Keys!.length).toBe(keysBefore + 1);
    const ids = await kmsIds(out.keyId);
    expect((await escrowedIds(out.keyId)).has(ids[0]!)).toBe(true);
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: old.keyId }))).KeyMetadata!.KeyState).toBe('Enabled');
  }, 120_000);
});
