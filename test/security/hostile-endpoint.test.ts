/**
 * A broken or malicious endpoint (docs/architecture.md, "Strict proof"): a loopback proxy forwards to
 * the emulator and rewrites its answers — `Origin: AWS_KMS` in CreateKey/DescribeKey, an
 * ImportKeyMaterial answer without `KeyMaterialId`. Each is refused with a named code and a non-zero
 * exit; nothing is imported after the refusal, and nothing is recorded as proven.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { onboardKey } from '../e2e/lifecycle-helpers.js';
import { startRewritingProxy } from '../e2e/rewriting-proxy.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
let proxy: Awaited<ReturnType<typeof startRewritingProxy>>;
let hostile: string[];
/** Rewrites one answer: operation name and parsed JSON body → the body to send (or undefined: unchanged). */
let rewrite: (operation: string, body: Record<string, unknown>) => Record<string, unknown> | undefined = () => undefined;

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  proxy = await startRewritingProxy(() => ws.emu.endpoint, (operation, body) => rewrite(operation, body));
  hostile = ['--endpoint-url', proxy.endpoint, '--region', 'us-east-1'];
});
afterAll(async () => {
  await proxy?.close();
  await ws?.close();
});

const originAwsKms = (ops: string[]) => (operation: string, body: Record<string, unknown>) => {
  if (!ops.includes(operation) || typeof body.KeyMetadata !== 'object' || body.KeyMetadata === null) return undefined;
  return { ...body, KeyMetadata: { ...(body.KeyMetadata as Record<string, unknown>), Origin: 'AWS_KMS' } };
};
const dropKeyMaterialId = (operation: string, body: Record<string, unknown>) => {
  if (operation !== 'ImportKeyMaterial') return undefined;
  const { KeyMaterialId: _dropped, ...rest } = body;
  return rest;
};
const count = (ops: string[], name: string) => ops.filter((o) => o === name).length;

describe('Origin: AWS_KMS in the answers a ceremony relies on', () => {
  it('onboard: CreateKey answering AWS_KMS is refused (ERR_KMS_BAD_RESPONSE); nothing wrapped, anchored or imported', async () => {
    rewrite = originAwsKms(['CreateKey', 'DescribeKey']);
    const before = operations(ws.emu).length;
    const r = await run(['onboard', ...hostile, '--yes', '--no-expiry', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow-a')]);
    rewrite = () => undefined;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_KMS_BAD_RESPONSE\n');
    expect(r.stderr).toMatch(/origin AWS_KMS, not EXTERNAL/);
    const after = operations(ws.emu).slice(before);
    expect(after).not.toContain('ImportKeyMaterial');
    expect(after).not.toContain('GetParametersForImport');
    expect(after).not.toContain('TagResource');
  });

  it('rotate --new-key: a new key answered with AWS_KMS is refused before its escrow or any import', async () => {
    const key = await onboardKey(ws, alice.recipient, ['--no-expiry', '--alias', 'alias/hostile-rot']);
    rewrite = originAwsKms(['CreateKey']);
    const before = operations(ws.emu).length;
    const r = await run(['rotate', key.keyId, '--new-key', '--yes', '--no-expiry', ...hostile, '--escrow-dir', ws.path('escrow'), '--identity', alice.path]);
    rewrite = () => undefined;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_KMS_BAD_RESPONSE\n');
    const after = operations(ws.emu).slice(before);
    expect(after).toContain('CreateKey');
    expect(after).not.toContain('ImportKeyMaterial');
    expect(after).not.toContain('UpdateAlias');
  });

  it('reimport of a key DescribeKey calls AWS_KMS is refused (ERR_KMS_UNSUPPORTED); nothing imported', async () => {
    const key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    rewrite = originAwsKms(['DescribeKey']);
    const before = operations(ws.emu).length;
    const r = await run(['reimport', key.keyId, '--no-expiry', ...hostile, '--escrow-dir', ws.path('escrow'), '--identity', alice.path]);
    rewrite = () => undefined;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_KMS_UNSUPPORTED\n');
    expect(operations(ws.emu).slice(before)).not.toContain('ImportKeyMaterial');
  });
});

describe('an ImportKeyMaterial answer without KeyMaterialId (symmetric key)', () => {
  it('onboard: a failed proof (ERR_KMS_BAD_RESPONSE), exit 1; no second import, no KeyMaterialId recorded', async () => {
    rewrite = dropKeyMaterialId;
    const before = operations(ws.emu).length;
    const r = await run(['onboard', ...hostile, '--yes', '--no-expiry', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow-b'), '--json']);
    rewrite = () => undefined;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_KMS_BAD_RESPONSE\n');
    expect(r.stderr).toMatch(/answered without a KeyMaterialId/);
    expect(r.stderr).not.toMatch(/verified/);
    expect(count(operations(ws.emu).slice(before), 'ImportKeyMaterial')).toBe(1);
    const sidecar = readFileSync(r.stderr.match(/material sealed in escrow (\S+)/)![1]! + '.json', 'utf8');
    expect(sidecar).not.toContain('"keyMaterialId"');
  });

  it('reimport: refused the same way; the material KMS holds is unchanged (still the one KeyMaterialId)', async () => {
    const key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    const listed = async () => ((await ws.kms.send(new ListKeyRotationsCommand({ KeyId: key.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations ?? []).map((m) => `${m.KeyMaterialId}:${m.ImportState}`);
    const was = await listed();
    rewrite = dropKeyMaterialId;
    const r = await run(['reimport', key.keyId, '--no-expiry', ...hostile, '--escrow-dir', ws.path('escrow'), '--identity', alice.path]);
    rewrite = () => undefined;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_KMS_BAD_RESPONSE\n');
    expect(await listed()).toEqual(was);
  });
});
