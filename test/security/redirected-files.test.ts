/**
 * Attack class "files that can be redirected" (docs/architecture.md, safe files): a link planted
 * where kms-byok writes a file — the fleet run state, the transcript (live or dangling), an export —
 * is refused with ERR_UNSAFE_PATH before anything reaches KMS, and the link's target is untouched
 * (not truncated, not created, not appended to).
 */
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStatePath } from '../../src/fleet/run.js';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { onboardKey } from '../e2e/lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
let key: { keyId: string; keyArn: string; escrow: { path: string } };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  key = await onboardKey(ws, alice.recipient, ['--expires-in', '30d']);
});
afterAll(async () => ws?.close());

/** A file someone else cares about: what a link points at. */
function victim(name: string, text = 'precious data, must survive\n'): { path: string; text: string } {
  const path = ws.path(name);
  writeFileSync(path, text, { mode: 0o600 });
  return { path, text };
}

describe('a link planted at a file kms-byok writes is refused, its target untouched', () => {
  it('the fleet run state (status --plan): ERR_UNSAFE_PATH, no KMS request, the target keeps its bytes', async () => {
    const plan = ws.path('plan.json');
    writeFileSync(plan, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow' }, keys: [{ key: key.keyId, region: 'us-east-1' }] }), { mode: 0o600 });
    const target = victim('victim-runstate.txt');
    symlinkSync(target.path, runStatePath(plan, 'status'));
    const before = operations(ws.emu).length;
    const r = await run(['status', '--plan', plan, '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_UNSAFE_PATH');
    expect(r.stderr).toContain(runStatePath(plan, 'status'));
    expect(operations(ws.emu).slice(before)).toEqual([]);
    expect(readFileSync(target.path, 'utf8')).toBe(target.text);
  });

  it('the transcript, a link to an existing file: refused before KMS, the file unchanged, nothing imported', async () => {
    const target = victim('victim-transcript.txt');
    const link = ws.path('linked-transcript.md');
    symlinkSync(target.path, link);
    const before = operations(ws.emu).length;
    const r = await run(['reimport', key.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d', '--transcript', link]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_UNSAFE_PATH');
    expect(operations(ws.emu).slice(before)).toEqual([]);
    expect(readFileSync(target.path, 'utf8')).toBe(target.text);
  });

  it('the transcript, a dangling link: refused, and its target is NOT created', async () => {
    const target = ws.path('would-be-created.txt');
    const link = ws.path('dangling-transcript.md');
    symlinkSync(target, link);
    const before = operations(ws.emu).length;
    const r = await run(['reimport', key.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d', '--transcript', link]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_UNSAFE_PATH');
    expect(operations(ws.emu).slice(before)).toEqual([]);
    expect(existsSync(target)).toBe(false);
  });

  it('escrow acknowledge with a --transcript that is a dangling link: refused, and creates nothing', async () => {
    const target = ws.path('ack-target.txt');
    symlinkSync(target, ws.path('ack-link.md'));
    const r0 = await run(['escrow', 'acknowledge', key.escrow.path, '--identity', alice.path, '--name', 'Alice', '--transcript', ws.path('ack-link.md')]);
    expect(r0.code, r0.stderr).toBe(2);
    expect(r0.stderr).toContain('kms-byok: code: ERR_UNSAFE_PATH');
    expect(existsSync(target)).toBe(false);
  });

  it('escrow export --out, a dangling link: refused, no plaintext written anywhere', async () => {
    const target = ws.path('exported-through-link.bin');
    const link = ws.path('export-link.bin');
    symlinkSync(target, link);
    const r = await run(['escrow', 'export', key.escrow.path, '--identity', alice.path, '--insecure-plaintext', '--out', link]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_UNSAFE_PATH');
    expect(existsSync(target)).toBe(false);
  });

  it('after the refusals the key is intact and a ceremony with honest paths runs (recovery)', async () => {
    const r = await run(['reimport', key.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d']);
    expect(r.code, r.stderr).toBe(0);
    const t = await run(['transcript', 'verify', ws.path('escrow/transcript.md')]);
    expect(t.code, t.stdout + t.stderr).toBe(0);
    expect(statSync(ws.path('escrow/transcript.md')).mode & 0o777).toBe(0o600);
  });
});
