/**
 * Attack class "a hostile neighbour on the escrow directory" (docs/lifecycle.md, escrow directory
 * rules): a directory others may write to, or one under a parent that belongs to another user, is
 * refused with ERR_ESCROW_DIR_UNSAFE (exit 2) and the exact chmod/chown — before any KMS request,
 * with nothing created, imported or overwritten. The suite's own temp directories (0700 under the
 * root-owned sticky /tmp) stay accepted.
 */
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { onboardKey } from '../e2e/lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;

function onboardArgs(dir: string): string[] {
  return ['onboard', ...ws.target, '--yes', '--expires-in', '30d', '--recipient', alice.recipient, '--escrow-dir', dir];
}

describe('the escrow directory must be changeable by the operator (and root) only', () => {
  it('a world-writable escrow directory (mode 1777): onboard refuses with chmod 700, before any KMS request, nothing written', async () => {
    const dir = ws.path('shared-escrow');
    mkdirSync(dir);
    chmodSync(dir, 0o1777);
    const before = operations(ws.emu).length;
    const r = await run(onboardArgs(dir));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_DIR_UNSAFE');
    expect(r.stderr).toContain(`kms-byok: hint: chmod 700 ${dir}`);
    expect(operations(ws.emu).slice(before)).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a lifecycle ceremony on an escrow directory that became group-writable: refused before KMS, the escrow untouched', async () => {
    const key = await onboardKey(ws, alice.recipient, ['--expires-in', '30d']);
    const dir = ws.path('escrow');
    const files = readdirSync(dir).sort();
    const sidecar = readFileSync(`${key.escrow.path}.json`, 'utf8');
    chmodSync(dir, 0o770);
    try {
      const before = operations(ws.emu).length;
      const r = await run(['reimport', key.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', dir, '--expires-in', '30d']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_DIR_UNSAFE');
      expect(r.stderr).toContain('writable by its group');
      expect(operations(ws.emu).slice(before)).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual(files);
      expect(readFileSync(`${key.escrow.path}.json`, 'utf8')).toBe(sidecar);
    } finally {
      chmodSync(dir, 0o700);
    }
    // Recovery: with the mode fixed as the hint says, the same ceremony runs.
    const ok = await run(['reimport', key.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', dir, '--expires-in', '30d']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it.skipIf(!isRoot)('an escrow directory whose parent belongs to another user (uid 65534): refused with the chown (runs as root only)', async () => {
    const parent = ws.path('other-users-dir');
    mkdirSync(parent, { mode: 0o755 });
    chownSync(parent, 65534, 65534);
    const dir = join(parent, 'escrow');
    mkdirSync(dir, { mode: 0o700 });
    const before = operations(ws.emu).length;
    const r = await run(onboardArgs(dir));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_DIR_UNSAFE');
    expect(r.stderr).toContain(`${parent} (a parent of escrow directory ${dir}) belongs to uid 65534`);
    expect(r.stderr).toMatch(new RegExp(`kms-byok: hint: chown \\S+ ${parent}`));
    expect(operations(ws.emu).slice(before)).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
