/**
 * The air-gapped ceremony end to end: step 1 (onboard --export-parameters) and step 3 (import) run
 * in-process against a started emulator; step 2 (wrap) runs the BUILT CLI in a child process with no
 * endpoint or AWS settings, networking disabled, and an import hook that refuses `@aws-sdk/*`,
 * `kms/aws` and `cli/target` — and records every module it resolved, to prove the SDK never loaded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DescribeKeyCommand, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFingerprint } from '../../src/airgap/ceremony.js';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { BIN, ensureBuilt } from '../support/built-cli.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
const HOOK = fileURLToPath(new URL('./airgap-offline-hook.mjs', import.meta.url));

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  await ensureBuilt();
}, 60_000);
afterAll(async () => ws?.close());

/** Runs the built CLI offline: no AWS env, no network, SDK imports refused. */
function offline(argv: string[]) {
  const resolved = ws.path(`resolved-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(resolved, '');
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(HOOK).href, BIN, ...argv], {
    cwd: ws.dir,
    env: { PATH: process.env.PATH ?? '', HOME: ws.dir, KMS_BYOK_TEST_RESOLVED: resolved },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, resolved: readFileSync(resolved, 'utf8').split('\n').filter(Boolean) };
}

function reFingerprint(path: string, edit: (b: Record<string, unknown>) => void, out: string): void {
  const b = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(b);
  b.sha256 = bundleFingerprint(b as never);
  writeFileSync(out, JSON.stringify(b));
}

describe('air-gapped ceremony: symmetric key, step 2 offline in a child process', () => {
  let step1: Record<string, string>;
  let step2: ReturnType<typeof offline>;
  let step2Json: Record<string, string> & { escrow?: { path: string } };

  beforeAll(async () => {
    const r1 = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'params.json', '--alias', 'alias/airgap', '--expires-in', '30d', '--json'], { cwd: ws.dir });
    expect(r1.code, r1.stderr).toBe(0);
    step1 = r1.json();
    step2 = offline(['wrap', '--parameters', 'params.json', '--recipient', alice.recipient, '--out', 'import.json', '--escrow-dir', 'escrow', '--json']);
    expect(step2.code, step2.stderr).toBe(0);
    step2Json = JSON.parse(step2.stdout) as typeof step2Json;
  }, 30_000);

  it('step 1 created the key and alias, fetched parameters, imported nothing, and wrote a 0600 bundle', async () => {
    expect(operations(ws.emu)).toEqual(expect.arrayContaining(['CreateKey', 'CreateAlias', 'GetParametersForImport']));
    expect(operations(ws.emu)).not.toContain('ImportKeyMaterial');
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: 'alias/airgap' }));
    expect(d.KeyMetadata?.KeyState).toBe('PendingImport');
    expect(statSync(ws.path('params.json')).mode & 0o777).toBe(0o600);
    const b = JSON.parse(readFileSync(ws.path('params.json'), 'utf8')) as Record<string, unknown>;
    expect(b).toMatchObject({ format: 'kms-byok-parameters', version: 1, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096', key: { keyArn: step1.keyArn, keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', region: 'us-east-1', alias: 'alias/airgap' } });
    expect(Object.keys(b)).toEqual(expect.arrayContaining(['PublicKey', 'ImportToken', 'ParametersValidTo', 'sha256']));
  });

  it('the hook refuses the SDK: the online import command cannot even load under it (the test can fail)', () => {
    const r = offline(['import', '--bundle', 'import.json']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/BLOCKED: the offline step imported \S*(target|aws)/);
  });

  it('step 2 ran with the SDK refused and the network disabled: it never resolved @aws-sdk, kms/aws or cli/target', () => {
    expect(step2.resolved.some((u) => u.endsWith('/src/cli/commands/wrap.ts'))).toBe(true);
    expect(step2.resolved.filter((u) => /@aws-sdk|\/kms\/aws\.(js|ts)|\/cli\/target\.(js|ts)/.test(u))).toEqual([]);
    expect(step2.stderr).not.toContain('BLOCKED');
  });

  it('step 2 shows the parameters fingerprint to compare, seals the escrow and writes a 0600 import bundle', () => {
    const groups = step1.sha256!.toUpperCase().match(/.{4}/g)!;
    expect(step2.stderr).toContain(groups.slice(0, 8).join(' '));
    expect(step2Json.parametersSha256).toBe(step1.sha256);
    expect(step2Json.checkValue).toMatch(/^cmac-aes:[0-9A-F]{6}$/);
    expect(existsSync(step2Json.escrow!.path)).toBe(true);
    expect(statSync(ws.path('import.json')).mode & 0o777).toBe(0o600);
    expect(step2.stderr.indexOf('material sealed in escrow')).toBeLessThan(step2.stderr.indexOf('wrote the import bundle'));
  });

  it('refuses a tampered import bundle, and a parameters bundle given as an import bundle', async () => {
    const b = JSON.parse(readFileSync(ws.path('import.json'), 'utf8')) as Record<string, unknown>;
    b.checkValue = 'cmac-aes:000000';
    writeFileSync(ws.path('tampered.json'), JSON.stringify(b));
    const t = await run(['import', ...ws.target, '--bundle', 'tampered.json'], { cwd: ws.dir });
    expect(t.code).toBe(1);
    expect(t.stderr).toContain('was modified after it was written');
    expect(t.stderr).toContain('kms-byok: code: ERR_BUNDLE_TAMPERED');
    expect(t.stderr).toMatch(/hint: do not use it: copy the bundle again/);
    const w = await run(['import', ...ws.target, '--bundle', 'params.json'], { cwd: ws.dir });
    expect(w.code).toBe(1);
    expect(w.stderr).toContain('is a parameters bundle (step 1), not an import bundle (step 2)');
  });

  it('refuses a bundle for a different key (--key-id) before importing anything', async () => {
    const other = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'other.json', '--no-expiry', '--json'], { cwd: ws.dir });
    expect(other.code, other.stderr).toBe(0);
    const r = await run(['import', ...ws.target, '--bundle', 'import.json', '--key-id', other.json<{ keyId: string }>().keyId], { cwd: ws.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_BUNDLE_WRONG_KEY');
    expect(r.stderr).toMatch(/hint: this bundle is for key arn:aws:kms:/);
    expect(operations(ws.emu)).not.toContain('ImportKeyMaterial');
  });

  it('refuses a bundle whose import token expired (ParametersValidTo), naming the next step', async () => {
    reFingerprint(ws.path('import.json'), (b) => void (b.ParametersValidTo = '2020-01-01T00:00:00Z'), ws.path('expired.json'));
    const r = await run(['import', ...ws.target, '--bundle', 'expired.json'], { cwd: ws.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_BUNDLE_EXPIRED');
    expect(r.stderr).toContain(`kms-byok onboard --export-parameters FILE --key-id ${step1.keyId}`);
  });

  it('step 3 imports, records KeyMaterialId/ValidTo in the sidecar, verifies, and the escrow opens', async () => {
    const r = await run(['import', ...ws.target, '--bundle', 'import.json', '--escrow-dir', 'escrow', '--json'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<Record<string, unknown>>();
    expect(out).toMatchObject({ keyArn: step1.keyArn, alias: 'alias/airgap', keyState: 'Enabled', checkValue: step2Json.checkValue, verified: { method: 'encrypt-decrypt' } });
    const escrow = out.escrow as { path: string; sidecarPath: string };
    expect(escrow.sidecarPath).toBe(`${step2Json.escrow!.path}.json`);
    const sidecar = JSON.parse(readFileSync(escrow.sidecarPath, 'utf8')) as { materials: { keyMaterialId?: string; validTo: unknown[] }[] };
    expect(sidecar.materials[0]!.keyMaterialId).toBe(out.keyMaterialId);
    expect(sidecar.materials[0]!.validTo).toHaveLength(1);
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: 'alias/airgap' }));
    expect(d.KeyMetadata?.KeyState).toBe('Enabled');
    const v = await run(['escrow', 'verify', step2Json.escrow!.path, '--identity', alice.path], { cwd: ws.dir });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain(step2Json.checkValue!);
  });

  it('a second import of the same bundle (an operator re-running an interrupted import) finishes, importing nothing new', async () => {
    const before = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: step1.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    const r = await run(['import', ...ws.target, '--bundle', 'import.json', '--json'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('KMS already held this material; accepted it again');
    const after = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: step1.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(after.Rotations?.map((m) => m.KeyMaterialId)).toEqual(before.Rotations?.map((m) => m.KeyMaterialId));
    expect(after.Rotations).toHaveLength(1);
  });
});

describe('air-gapped ceremony: other key kinds, refusals, recovery', () => {
  for (const [spec, method] of [['HMAC_256', 'generate-mac'], ['ECC_NIST_P256', 'public-key+sign'], ['RSA_2048', 'public-key+sign']] as const) {
    it(`${spec}: three steps, verified without the material (${method})`, async () => {
      const p = `p-${spec}.json`;
      const i = `i-${spec}.json`;
      expect((await run(['onboard', '--yes', ...ws.target, '--key-spec', spec, '--export-parameters', p, '--no-expiry'], { cwd: ws.dir })).code).toBe(0);
      const w = await run(['wrap', '--parameters', p, '--recipient', alice.recipient, '--out', i, '--escrow-dir', 'escrow-kinds'], { cwd: ws.dir });
      expect(w.code, w.stderr).toBe(0);
      const r = await run(['import', ...ws.target, '--bundle', i, '--escrow-dir', 'escrow-kinds', '--json'], { cwd: ws.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toMatchObject({ keyState: 'Enabled', verified: { method } });
    });
  }

  it('refuses sealing flags with --export-parameters, and an existing bundle path before creating anything', async () => {
    const a = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'x.json', '--no-expiry', '--recipient', alice.recipient], { cwd: ws.dir });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--recipient belongs to the offline step');
    const creates = operations(ws.emu).filter((o) => o === 'CreateKey').length;
    writeFileSync(ws.path('taken.json'), '{}');
    const b = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'taken.json', '--no-expiry'], { cwd: ws.dir });
    expect(b.code).toBe(1);
    expect(b.stderr).toContain('ERR_BUNDLE_EXISTS');
    expect(operations(ws.emu).filter((o) => o === 'CreateKey').length).toBe(creates);
  });

  it('expired parameters: wrap refuses; fresh parameters for the same key (--key-id) complete the ceremony', async () => {
    const s1 = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'late.json', '--expires-in', '7d', '--json'], { cwd: ws.dir });
    const keyId = s1.json<{ keyId: string }>().keyId;
    reFingerprint(ws.path('late.json'), (b) => void (b.ParametersValidTo = '2020-01-01T00:00:00Z'), ws.path('late-expired.json'));
    const w = await run(['wrap', '--parameters', 'late-expired.json', '--recipient', alice.recipient, '--out', 'late-import.json', '--escrow-dir', 'escrow-late'], { cwd: ws.dir });
    expect(w.code).toBe(1);
    expect(w.stderr).toContain('ERR_BUNDLE_EXPIRED');
    expect(existsSync(ws.path('late-import.json'))).toBe(false);
    const fresh = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'late-fresh.json', '--key-id', keyId, '--expires-in', '7d'], { cwd: ws.dir });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toContain(`found key ${keyId}`);
    expect((await run(['wrap', '--parameters', 'late-fresh.json', '--recipient', alice.recipient, '--out', 'late-import.json', '--escrow-dir', 'escrow-late'], { cwd: ws.dir })).code).toBe(0);
    const r = await run(['import', ...ws.target, '--bundle', 'late-import.json', '--escrow-dir', 'escrow-late'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
  });

  it('sidecar not reachable at import: says so and how; --record-only records it later', async () => {
    expect((await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'rec.json', '--expires-in', '30d'], { cwd: ws.dir })).code).toBe(0);
    expect((await run(['wrap', '--parameters', 'rec.json', '--recipient', alice.recipient, '--out', 'rec-import.json', '--escrow-dir', 'escrow-rec'], { cwd: ws.dir })).code).toBe(0);
    const r = await run(['import', ...ws.target, '--bundle', 'rec-import.json', '--escrow-dir', 'elsewhere'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('hint: record them once the escrow directory is reachable: kms-byok import --bundle FILE --escrow-dir DIR --record-only');
    const rec = await run(['import', ...ws.target, '--bundle', 'rec-import.json', '--escrow-dir', 'escrow-rec', '--record-only', '--json'], { cwd: ws.dir });
    expect(rec.code, rec.stderr).toBe(0);
    const sidecar = JSON.parse(readFileSync(rec.json<{ escrow: { sidecarPath: string } }>().escrow.sidecarPath, 'utf8')) as { materials: { keyMaterialId?: string }[] };
    expect(sidecar.materials[0]!.keyMaterialId).toMatch(/^[0-9a-f]{64}$/);
  });
});
