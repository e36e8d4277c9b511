/**
 * docs/disaster-recovery.md, "With kms-byok": every `dr-kms-byok` block run verbatim (bash, the
 * built CLI as `kms-byok` on PATH) against the emulator — status and escrow verify on a key whose
 * material was deleted, restore, and the air-gapped path (fresh parameters, `wrap --escrow`, import)
 * — with the end state checked in KMS. Also the stock-tools block that reads the expiry model, on a
 * real onboarded escrow's sidecar.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteImportedKeyMaterialCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { BIN, ensureBuilt } from '../support/built-cli.js';

const DOC = new URL('../../docs/disaster-recovery.md', import.meta.url).pathname;

function blocks(kind: 'dr-kms-byok' | 'dr-test'): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readFileSync(DOC, 'utf8').matchAll(new RegExp(`<!-- ${kind}: ([a-z0-9-]+) -->\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\``, 'g'))) out.set(m[1]!, m[2]!);
  return out;
}

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
let shims: string;

beforeAll(async () => {
  await ensureBuilt();
  ws = await workspace();
  alice = await custodian(ws.path('alice.key'));
  shims = ws.path('bin');
  mkdirSync(shims);
  writeFileSync(join(shims, 'kms-byok'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(join(shims, 'kms-byok'), 0o755);
}, 60_000);
afterAll(async () => ws?.close());

/** Runs one block verbatim in bash (no `set -e`: a block is what a reader pastes), in `cwd`. */
function sh(block: string, env: Record<string, string>, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', block], { cwd, env: { PATH: `${shims}:/usr/local/bin:/usr/bin:/bin`, HOME: ws.dir, AWS_ENDPOINT_URL_KMS: ws.emu.endpoint, AWS_REGION: 'us-east-1', ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function state(keyId: string): Promise<string | undefined> {
  return (await ws.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;
}

describe('docs/disaster-recovery.md: the kms-byok path, verbatim', () => {
  it('has the blocks this test runs', () => {
    expect([...blocks('dr-kms-byok').keys()].sort()).toEqual(['airgap-offline', 'airgap-online-1', 'airgap-online-2', 'restore', 'status']);
  });

  it('status and escrow verify, then restore: the deleted material is back, Enabled, with an expiry', async () => {
    const on = await run(['onboard', ...ws.target, '--yes', '--json', '--expires-in', '30d', '--recipient', `alice=${alice.recipient}`, '--escrow-dir', ws.path('escrow')]);
    expect(on.code, on.stderr).toBe(0);
    const { keyId, escrow } = on.json<{ keyId: string; escrow: { path: string } }>();
    const env = { KEY_ID: keyId, ESCROW_DIR: ws.path('escrow'), ESCROW: escrow.path, IDENTITY: alice.path, N: '1' };
    // The stock-tools block that says which expiry model to keep, on this real sidecar.
    const model = await sh(blocks('dr-test').get('expiry-model')!, env, ws.dir);
    expect(model.stdout.trim(), model.stderr).toBe('KEY_MATERIAL_EXPIRES');

    await ws.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    expect(await state(keyId)).toBe('PendingImport');
    const st = await sh(blocks('dr-kms-byok').get('status')!, env, ws.dir);
    expect(st.stdout).toContain('PendingImport');
    expect(st.stdout).toMatch(/cmac-aes:[0-9A-F]{6}/); // escrow verify opened it and showed the check value
    const r = await sh(blocks('dr-kms-byok').get('restore')!, env, ws.dir);
    expect(r.code, r.stderr).toBe(0);
    const d = (await ws.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
    expect(d.KeyState).toBe('Enabled');
    expect(d.ExpirationModel).toBe('KEY_MATERIAL_EXPIRES');
  });

  it('air-gapped: fresh parameters, wrap --escrow offline, import: Enabled, no new escrow version', async () => {
    const dir = ws.path('airgap');
    mkdirSync(dir);
    const s1 = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'params.json', '--expires-in', '30d', '--json'], { cwd: dir });
    expect(s1.code, s1.stderr).toBe(0);
    const keyId = s1.json<{ keyId: string }>().keyId;
    const w = await run(['wrap', '--parameters', 'params.json', '--recipient', `alice=${alice.recipient}`, '--out', 'first-import.json', '--escrow-dir', 'escrow', '--json'], { cwd: dir });
    expect(w.code, w.stderr).toBe(0);
    const escrow = w.json<{ escrow: { path: string } }>().escrow.path;
    // first-import.json is never imported (its token "expired"): the documented recovery follows.
    const env = { KEY_ID: keyId, ESCROW_DIR: join(dir, 'escrow'), ESCROW: escrow, IDENTITY: alice.path };
    for (const name of ['airgap-online-1', 'airgap-offline', 'airgap-online-2']) {
      const r = await sh(blocks('dr-kms-byok').get(name)!, env, dir);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
    }
    expect(await state(keyId)).toBe('Enabled');
    expect(readdirSync(join(dir, 'escrow')).filter((f) => /\.v\d+\.age$/.test(f))).toEqual([`${keyId}.v1.age`]);
    const v = await run(['escrow', 'verify', escrow, '--identity', alice.path, ...ws.target]);
    expect(v.code, v.stderr).toBe(0);
  });
});
