/**
 * A resumed onboard trusts its journal only as far as the escrow and the directory vouch for it
 * (docs/lifecycle.md, "Onboard"): with the escrow the interrupted run sealed gone, the re-run imports
 * nothing (never material in KMS without a durable escrow); a journal directory another user could
 * write is refused before anything is sent to KMS.
 */
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

/** An onboard whose import KMS refuses every time (a server fault): the escrow is sealed, nothing imported. */
async function interrupted(dir: string): Promise<{ args: string[]; keyId: string }> {
  const args = ['onboard', ...ws.target, '--yes', '--json', '--recipient', alice.recipient, '--escrow-dir', ws.path(dir), '--no-expiry'];
  ws.emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'internal', times: 1_000 });
  const first = await run(args);
  ws.emu.faults.clear();
  expect(first.code).toBe(1);
  const keyId = /created key (\S+)/.exec(first.stderr)![1]!;
  expect(first.stderr).toMatch(/material sealed in escrow/);
  return { args, keyId };
}

const keyState = async (keyId: string) => (await ws.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState;

describe('resuming an onboard', () => {
  it('with the sealed escrow deleted, the re-run imports nothing and says so (ERR_ESCROW_NOT_FOUND)', async () => {
    const { args, keyId } = await interrupted('escrow-gone');
    for (const f of readdirSync(ws.path('escrow-gone')).filter((n) => n.endsWith('.age'))) rmSync(join(ws.path('escrow-gone'), f));
    const before = operations(ws.emu).length;
    const again = await run(args);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('kms-byok: code: ERR_ESCROW_NOT_FOUND');
    expect(again.stderr).toMatch(/nothing was imported/);
    expect(operations(ws.emu).slice(before)).not.toContain('ImportKeyMaterial');
    expect(await keyState(keyId)).toBe('PendingImport');
  });

  it('with the escrow whole, the same command finishes the same key', async () => {
    const { args, keyId } = await interrupted('escrow-whole');
    const again = await run(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ keyId: string }>().keyId).toBe(keyId);
    expect(await keyState(keyId)).toBe('Enabled');
  });

  it('a journal directory others can write is refused before any KMS request (ERR_UNSAFE_PATH)', async () => {
    const { args, keyId } = await interrupted('escrow-open-journal');
    chmodSync(ws.path('escrow-open-journal/.journal'), 0o777);
    const before = operations(ws.emu).length;
    const again = await run(args);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('kms-byok: code: ERR_UNSAFE_PATH');
    expect(operations(ws.emu).slice(before)).toEqual([]);
    expect(await keyState(keyId)).toBe('PendingImport');
  });
});
