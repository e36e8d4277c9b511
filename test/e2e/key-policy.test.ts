/**
 * `onboard --apply-policy FILE`: the key policy is attached at CreateKey; KMS's policy checks
 * (malformed document, lockout safety check) refuse before anything is created. The emulator's
 * GetKeyPolicy/PutKeyPolicy behave as KMS documents.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetKeyPolicyCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

let ws: Workspace;
let recipient: string;
const ACCOUNT = '111122223333';
const root = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' };
const custodians = { Sid: 'Custodians', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/custodian` }, Action: ['kms:GetParametersForImport', 'kms:ImportKeyMaterial'], Resource: '*' };

beforeAll(async () => {
  ws = await workspace();
  recipient = (await custodian(ws.path('alice.txt'))).recipient;
  writeFileSync(ws.path('good.json'), JSON.stringify({ Version: '2012-10-17', Statement: [root, custodians] }));
  writeFileSync(ws.path('lockout.json'), JSON.stringify({ Version: '2012-10-17', Statement: [custodians] }));
  writeFileSync(ws.path('garbage.json'), '{ not json');
});
afterAll(async () => ws?.close());

const onboard = (policy: string) => run(['onboard', ...ws.target, '--yes', '--json', '--no-expiry', '--recipient', recipient, '--escrow-dir', ws.path('escrow'), '--apply-policy', ws.path(policy)]);

describe('onboard --apply-policy', () => {
  it('attaches the policy at CreateKey and the ceremony completes under it', async () => {
    const r = await onboard('good.json');
    expect(r.code, r.stderr).toBe(0);
    const keyId = r.json<{ keyId: string }>().keyId;
    const got = await ws.kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
    expect(JSON.parse(got.Policy!).Statement).toEqual([root, custodians]);
  });

  it('a policy that would lock the account out is refused by KMS before any key exists', async () => {
    const before = operations(ws.emu).filter((o) => o === 'CreateKey').length;
    const r = await onboard('lockout.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('will not allow you to update the key policy in the future');
    expect(r.stderr).toContain('kms-byok: code: ERR_KMS_VALIDATION');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const after = ws.emu.requests.filter((q) => q.operation === 'CreateKey');
    expect(after.length).toBe(before + 1);
    expect(after[after.length - 1]!.status).toBe(400);
  });

  it('a file that is not a policy document is refused before any request', async () => {
    const before = operations(ws.emu).length;
    const r = await onboard('garbage.json');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not JSON');
    expect(operations(ws.emu).length).toBe(before);
  });
});

describe('kms-byok policy → onboard --apply-policy', () => {
  it('a ceremony runs with the generated separation-of-duties policy attached', async () => {
    const role = (n: string) => `arn:aws:iam::${ACCOUNT}:role/${n}`;
    const printed = await run(['policy', '--account', ACCOUNT, '--custodian-role', role('custodian'), '--reimport-role', role('reimport'), '--key-user', role('app'), '--auditor', role('audit'), '--json']);
    expect(printed.code, printed.stderr).toBe(0);
    writeFileSync(ws.path('generated.json'), printed.stdout);
    const r = await onboard('generated.json');
    expect(r.code, r.stderr).toBe(0);
    const got = await ws.kms.send(new GetKeyPolicyCommand({ KeyId: r.json<{ keyId: string }>().keyId, PolicyName: 'default' }));
    expect(JSON.parse(got.Policy!)).toEqual(JSON.parse(printed.stdout));
  });
});

describe('emulator PutKeyPolicy', () => {
  it('enforces the lockout safety check unless bypassed', async () => {
    const r = await onboard('good.json');
    const keyId = r.json<{ keyId: string }>().keyId;
    const lockout = JSON.stringify({ Version: '2012-10-17', Statement: [custodians] });
    await expect(ws.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: lockout }))).rejects.toMatchObject({ name: 'MalformedPolicyDocumentException' });
    await ws.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: lockout, BypassPolicyLockoutSafetyCheck: true }));
    expect((await ws.kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))).Policy).toBe(lockout);
    await expect(ws.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: '[1,2]' }))).rejects.toMatchObject({ name: 'MalformedPolicyDocumentException' });
  });
});
