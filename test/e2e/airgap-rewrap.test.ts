/**
 * Air-gapped re-wrap straight from the escrow (docs/air-gapped.md, docs/disaster-recovery.md): the
 * import token of an air-gapped onboard expired before the import; fresh parameters are wrapped
 * offline with `wrap --escrow FILE --identity …` — the BUILT CLI under the offline import hook (no
 * SDK, no network) — with no plaintext export and nothing sealed again; the import completes and
 * the key holds the escrowed material (same check value, the escrow unchanged).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { BIN, ensureBuilt } from '../support/built-cli.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
let bob: { identity: string; recipient: string; path: string };
const HOOK = fileURLToPath(new URL('./airgap-offline-hook.mjs', import.meta.url));

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  bob = await custodian(ws.path('bob.txt'));
  await ensureBuilt();
}, 60_000);
afterAll(async () => ws?.close());

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

describe('wrap --escrow: fresh parameters for the escrowed material, offline, without a plaintext export', () => {
  it('expired token → fresh parameters → wrap --escrow --identity → import: Enabled with the escrowed material; the escrow unchanged', async () => {
    const s1 = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'params.json', '--alias', 'alias/rewrap', '--expires-in', '30d', '--json'], { cwd: ws.dir });
    expect(s1.code, s1.stderr).toBe(0);
    const keyId = s1.json<{ keyId: string }>().keyId;
    const w1 = offline(['wrap', '--parameters', 'params.json', '--recipient', `alice=${alice.recipient}`, '--recipient', `bob=${bob.recipient}`, '--out', 'import.json', '--escrow-dir', 'escrow', '--json']);
    expect(w1.code, w1.stderr).toBe(0);
    const first = JSON.parse(w1.stdout) as { checkValue: string; escrow: { path: string } };
    const escrowFiles = readdirSync(ws.path('escrow')).sort();
    const sealed = readFileSync(first.escrow.path);
    // The first import bundle is never imported (its token expired); fresh parameters for the same key:
    const fresh = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'params-2.json', '--key-id', keyId, '--expires-in', '30d'], { cwd: ws.dir });
    expect(fresh.code, fresh.stderr).toBe(0);

    const w2 = offline(['wrap', '--parameters', 'params-2.json', '--escrow', first.escrow.path, '--identity', bob.path, '--out', 'import-2.json', '--json']);
    expect(w2.code, w2.stderr).toBe(0);
    expect(w2.resolved.some((u) => u.endsWith('/src/cli/commands/wrap.ts'))).toBe(true);
    expect(w2.resolved.filter((u) => /@aws-sdk|\/kms\/aws\.[jt]s|\/aws\/sts\.[jt]s|\/cli\/target\.[jt]s/.test(u))).toEqual([]);
    expect(w2.stderr).toContain('nothing new is sealed');
    expect(JSON.parse(w2.stdout)).toMatchObject({ checkValue: first.checkValue, escrow: { path: first.escrow.path } });
    expect(readdirSync(ws.path('escrow')).sort()).toEqual(escrowFiles);
    expect(readFileSync(first.escrow.path)).toEqual(sealed);

    const r = await run(['import', ...ws.target, '--bundle', 'import-2.json', '--escrow-dir', 'escrow', '--json'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ keyState: 'Enabled', checkValue: first.checkValue, verified: { method: 'encrypt-decrypt' } });
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: 'alias/rewrap' }))).KeyMetadata?.KeyState).toBe('Enabled');
    // What the escrow holds is what KMS now holds: escrow verify against the key.
    const v = await run(['escrow', 'verify', first.escrow.path, '--identity', alice.path], { cwd: ws.dir });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain(first.checkValue);
  });

  it('refuses sealing flags, a missing identity and another key\'s escrow before writing anything (exit 2)', async () => {
    const esc = readdirSync(ws.path('escrow')).find((f) => f.endsWith('.v1.age'))!;
    const a = await run(['wrap', '--parameters', 'params-2.json', '--escrow', `escrow/${esc}`, '--identity', 'bob.txt', '--recipient', alice.recipient, '--out', 'x.json'], { cwd: ws.dir });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('ERR_INVALID_COMBINATION');
    const b = await run(['wrap', '--parameters', 'params-2.json', '--escrow', `escrow/${esc}`, '--out', 'x.json'], { cwd: ws.dir });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--escrow needs --identity FILE or --share FILE');
    // A handed-over share that is no hand-over file is refused before anything is written.
    writeFileSync(ws.path('not-a-share.json'), '{"format":"something-else"}', { mode: 0o600 });
    const s = await run(['wrap', '--parameters', 'params-2.json', '--escrow', `escrow/${esc}`, '--share', 'not-a-share.json', '--out', 'x.json'], { cwd: ws.dir });
    expect(s.code, s.stderr).toBe(2);
    expect(s.stderr).toMatch(/ERR_HANDOVER_INVALID|hand-over/);
    const other = await run(['onboard', '--yes', ...ws.target, '--export-parameters', 'other.json', '--no-expiry'], { cwd: ws.dir });
    expect(other.code, other.stderr).toBe(0);
    const c = await run(['wrap', '--parameters', 'other.json', '--escrow', `escrow/${esc}`, '--identity', 'bob.txt', '--out', 'x.json'], { cwd: ws.dir });
    expect(c.code).not.toBe(0);
    expect(c.stderr).toContain('ERR_BUNDLE_WRONG_KEY');
    expect(readdirSync(ws.dir)).not.toContain('x.json');
  });
});
