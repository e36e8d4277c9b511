/**
 * The generated key policy goes through the real KMSClient to the emulator's CreateKey as `Policy`
 * (JSON text, at most 32 KiB, Origin EXTERNAL). PutKeyPolicy/GetKeyPolicy are not emulated yet: when
 * they are, this test should also put the policy on an existing key and read it back.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import { buildKeyPolicy } from '../../src/policy/key-policy.js';

describe('the emulator accepts the generated key policy at CreateKey', () => {
  let emu: RunningEmulator;
  let kms: KMSClient;
  beforeAll(async () => {
    emu = await startTestEmulator({ port: 0 });
    kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    kms.destroy();
    await emu.close();
  });

  it('CreateKey Origin EXTERNAL with the policy as Policy', async () => {
    const a = '111122223333';
    const policy = buildKeyPolicy({
      account: a,
      custodians: [`arn:aws:iam::${a}:role/KeyCustodian`],
      reimportRoles: [`arn:aws:iam::${a}:role/KmsByokReimport`],
      keyUsers: [`arn:aws:iam::${a}:role/PaymentsApp`],
      auditors: [`arn:aws:iam::${a}:role/SecurityAudit`],
      validToMax: new Date('2027-06-30T00:00:00Z'),
    });
    const out = await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Policy: JSON.stringify(policy, null, 2) }));
    expect(out.KeyMetadata?.KeyState).toBe('PendingImport');
  });
});
