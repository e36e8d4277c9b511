/**
 * Regressions for what a pre-release review found: a second `wrap` of the same key, an escrow
 * directory Node cannot create recursively, and a bad --emulator-state — each a clean user error.
 */
import { writeFileSync } from 'node:fs';
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
