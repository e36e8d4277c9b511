/**
 * Regressions for what a pre-release review found: a second `wrap` of the same key, an escrow
 * directory Node cannot create recursively, and a bad --emulator-state — each a clean user error.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

let ws: Workspace;
let recipient: string;
beforeAll(async () => {
  ws = await workspace();
  recipient = (await custodian(ws.path('alice.txt'))).recipient;
});
afterAll(async () => ws?.close());

describe('review fixes', () => {
  it('a second wrap of the same parameters is refused: the first escrow stays the only one', async () => {
    const exp = await run(['onboard', ...ws.target, '--export-parameters', ws.path('params.json'), '--yes', '--expires-in', '30d']);
    expect(exp.code, exp.stderr).toBe(0);
    const first = await run(['wrap', '--parameters', ws.path('params.json'), '--recipient', recipient, '--escrow-dir', ws.path('escrow'), '--out', ws.path('import.json')]);
    expect(first.code, first.stderr).toBe(0);
    const second = await run(['wrap', '--parameters', ws.path('params.json'), '--recipient', recipient, '--escrow-dir', ws.path('escrow'), '--out', ws.path('import2.json')]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('kms-byok: code: ERR_ESCROW_EXISTS');
    expect(second.stderr).toMatch(/already has an escrow/);
  });

  it('a wrap run again with the same --material-file and a custodian --identity (interrupted after sealing) uses the escrow it sealed; other material, or no identity, is refused', async () => {
    const dir = ws.path('escrow-same');
    writeFileSync(ws.path('same.hex'), randomBytes(32).toString('hex'), { mode: 0o600 });
    writeFileSync(ws.path('other.hex'), randomBytes(32).toString('hex'), { mode: 0o600 });
    const wrap = (material: string, out: string, extra: string[] = ['--identity', ws.path('alice.txt')]) =>
      run(['wrap', '--parameters', ws.path('params-same.json'), '--recipient', recipient, '--escrow-dir', dir, '--material-file', ws.path(material), '--out', ws.path(out), '--json', ...extra]);
    expect((await run(['onboard', ...ws.target, '--export-parameters', ws.path('params-same.json'), '--yes', '--no-expiry'])).code).toBe(0);
    const first = await wrap('same.hex', 'import-1.json');
    expect(first.code, first.stderr).toBe(0);
    const sealed = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(`${dir}/${f}`, 'latin1')]));
    // A 3-byte check value cannot prove it is the same material: without a custodian to open the escrow, refused.
    const unproven = await wrap('same.hex', 'import-0.json', []);
    expect(unproven.code).toBe(1);
    expect(unproven.stderr).toContain('kms-byok: code: ERR_ESCROW_EXISTS');
    expect(unproven.stderr).toContain('--identity');
    const again = await wrap('same.hex', 'import-2.json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already has escrow version 1 of this material .*nothing new is sealed/);
    // Nothing new sealed, nothing rewritten; the new bundle names the same escrow files.
    expect(Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(`${dir}/${f}`, 'latin1')]))).toEqual(sealed);
    const escrowOf = (f: string) => (JSON.parse(readFileSync(ws.path(f), 'utf8')) as { escrow: unknown }).escrow;
    expect(escrowOf('import-2.json')).toEqual(escrowOf('import-1.json'));
    const other = await wrap('other.hex', 'import-3.json');
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('kms-byok: code: ERR_ESCROW_EXISTS');
    const imported = await run(['import', ...ws.target, '--bundle', ws.path('import-2.json'), '--escrow-dir', dir]);
    expect(imported.code, imported.stderr).toBe(0);
  });

  it('an escrow directory that cannot be created fails fast with ERR_ESCROW_DIR_UNWRITABLE', async () => {
    const r = await run(['onboard', ...ws.target, '--yes', '--no-expiry', '--recipient', recipient, '--escrow-dir', '/proc/kms-byok-cannot-exist/escrow']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_DIR_UNWRITABLE');
  });

  it('a bad --emulator-state is a usage error, not an internal one', async () => {
    writeFileSync(ws.path('not-state.json'), '# not json\n');
    for (const state of [ws.path('missing-dir/state.json'), ws.path('not-state.json')]) {
      const r = await run(['status', '--emulator', '--emulator-state', state]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('kms-byok: error: cannot use --emulator-state');
      expect(r.stderr).not.toContain('internal error');
    }
  });
});
