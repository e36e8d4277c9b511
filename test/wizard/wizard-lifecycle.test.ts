/**
 * The lifecycle flows of the wizard (status, reimport, restore, rotate), driven by a scripted prompter
 * against a started emulator: each asks what its command's flags take, states the consequences before
 * changing anything, runs the command, and prints the equivalent command line.
 */
import { DeleteImportedKeyMaterialCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { runScripted } from './helpers.js';

let ws: Workspace;
let keyId: string;
beforeAll(async () => {
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  const r = await run(['onboard', '--yes', ...ws.target, '--alias', 'alias/life', '--expires-in', '30d', '--recipient', alice.recipient, '--escrow-dir', 'escrow', '--json'], { cwd: ws.dir });
  expect(r.code, r.stderr).toBe(0);
  keyId = r.json<{ keyId: string }>().keyId;
});
afterAll(async () => ws?.close());

// Absolute: the lifecycle commands resolve --identity against the process's directory, not io.cwd.
// The escrow directory comes first: its sidecar says how many custodians open it, and how.
const opener = (): [string, string][] => [['escrowDir', ws.path('escrow')], ['opener', 'identity'], ['identityFile', 'nope.txt'], ['identityFile', ws.path('alice.txt')]];

describe('wizard: lifecycle flows', () => {
  it('status: asks key, escrow dir and warning days; no confirmation; shows the command line', async () => {
    const r = await runScripted(ws.target, [['flow', 'status'], ['key', 'alias/life'], ['escrowDir', ''], ['warnDays', 'soon'], ['warnDays', '7']], { cwd: ws.dir });
    expect([0, 3], r.stderr).toContain(r.code);
    r.prompter.assertDone();
    expect(r.stdout).toContain(keyId);
    const said = r.prompter.said.join('\n').replace(/ \\\n\s+/g, ' ');
    expect(said).toContain('kms-byok status --region us-east-1 --endpoint-url');
    expect(said).toContain('alias/life --escrow-dir ./escrow --warn-days 7');
  });

  it('reimport: consequences, then the re-import with the new expiry', async () => {
    const r = await runScripted(ws.target, [['flow', 'reimport'], ['key', 'alias/life'], ['expiry', 'in'], ['expiresIn', '90d'], ...opener(), ['confirm', true]], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    r.prompter.assertDone();
    expect(r.prompter.refused.map((x) => x.id)).toEqual(['identityFile']);
    expect(r.prompter.said.join('\n')).toContain(`is opened with the identity in ${ws.path('alice.txt')}`);
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect((d.KeyMetadata!.ValidTo!.getTime() - ws.emu.clock.now().getTime()) / 86_400_000).toBeGreaterThan(89);
    expect(r.prompter.said.join('\n')).toContain('kms-byok reimport --region us-east-1');
  });

  it('restore: a key whose material was deleted is Enabled again', async () => {
    await ws.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    const r = await runScripted(ws.target, [['flow', 'restore'], ['key', 'alias/life'], ['expiry', 'in'], ['expiresIn', '30d'], ...opener(), ['confirm', true]], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(d.KeyMetadata?.KeyState).toBe('Enabled');
  });

  it('rotate in place: asks the strategy, confirms, rotates', async () => {
    const r = await runScripted(ws.target, [['flow', 'rotate'], ['key', 'alias/life'], ['strategy', 'in-place'], ['expiry', 'in'], ['expiresIn', '365d'], ...opener(), ['confirm', true]], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    r.prompter.assertDone();
    expect(r.prompter.said.join('\n')).toContain('sealed in a NEW escrow version');
    expect(r.prompter.said.join('\n')).toContain('--in-place --yes');
  });

  it('declining changes nothing (exit 130)', async () => {
    const before = ws.emu.requests.length;
    const r = await runScripted(ws.target, [['flow', 'rotate'], ['key', 'alias/life'], ['strategy', 'new-key'], ['expiry', 'never'], ['escrowDir', ''], ['confirm', false]], { cwd: ws.dir });
    expect(r.code).toBe(130);
    expect(ws.emu.requests.length).toBe(before);
  });

  it('how the escrow is opened: only what it was sealed to (no passphrase file for an escrow sealed without one)', async () => {
    const ask = (key: string, dir: string, opener: string): [string, string][] => [['flow', 'reimport'], ['key', key], ['expiry', 'in'], ['expiresIn', '60d'], ['escrowDir', dir], ['opener', opener]];
    const noPassphrase = await runScripted(ws.target, ask('alias/life', ws.path('escrow'), 'passphrase'), { cwd: ws.dir });
    expect(noPassphrase.stderr).toContain('"passphrase" is not one of identity');
    // Sealed with a passphrase only: the passphrase file is the one way offered, and it reimports.
    writeFileSync(ws.path('pass.txt'), 'correct horse battery staple, wizard lifecycle 2026\n', { mode: 0o600 });
    const made = await run(['onboard', '--yes', ...ws.target, '--alias', 'alias/life-pass', '--expires-in', '30d', '--passphrase-file', 'pass.txt', '--escrow-dir', 'escrow-pass'], { cwd: ws.dir });
    expect(made.code, made.stderr).toBe(0);
    const noIdentity = await runScripted(ws.target, ask('alias/life-pass', ws.path('escrow-pass'), 'identity'), { cwd: ws.dir });
    expect(noIdentity.stderr).toContain('"identity" is not one of passphrase');
    const r = await runScripted(ws.target, [...ask('alias/life-pass', ws.path('escrow-pass'), ''), ['passphraseFile', ws.path('pass.txt')], ['confirm', true]], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    r.prompter.assertDone();
    const status = await run(['status', ...ws.target, 'alias/life-pass', '--escrow-dir', 'escrow-pass'], { cwd: ws.dir });
    expect([0, 3], status.stderr).toContain(status.code);
  });
});
