/**
 * The emulator as an organisation: STS AssumeRole into declared roles, each account's keys apart,
 * Organizations ListAccounts — all through the real SDK clients over loopback.
 */
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';

const HOME = '111122223333';
const ROLE_B = 'arn:aws:iam::222222222222:role/KmsByok';
const ROLE_C = 'arn:aws:iam::333333333333:role/ops/KmsByok';
const DUMMY = { accessKeyId: 'AKIDHOMEACCOUNT', secretAccessKey: 'x' };

let emu: RunningEmulator;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'emu-accounts-'));
  emu = await startTestEmulator({
    region: 'eu-west-1',
    stateFile: join(dir, 'state.json'),
    roles: [{ roleArn: ROLE_B }, { roleArn: ROLE_C, externalId: 'ext-3333' }],
    accounts: ['444444444444'],
  });
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

function sts(credentials = DUMMY): STSClient {
  return new STSClient({ region: 'eu-west-1', endpoint: emu.endpoint, credentials, maxAttempts: 1 });
}
function kms(region: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = DUMMY): KMSClient {
  return new KMSClient({ region, endpoint: emu.endpoint, credentials, maxAttempts: 1 });
}
async function assume(roleArn: string, externalId?: string, duration?: number) {
  const out = await sts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'kms-byok-test', ...(externalId ? { ExternalId: externalId } : {}), ...(duration ? { DurationSeconds: duration } : {}) }));
  const c = out.Credentials!;
  return { out, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! } };
}

describe('STS AssumeRole', () => {
  it('issues credentials whose identity is the assumed role in its account', async () => {
    const { out, credentials } = await assume(ROLE_B, undefined, 900);
    expect(credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials!.Expiration!.getTime() - emu.clock.now().getTime()).toBeGreaterThan(850_000);
    expect(out.Credentials!.Expiration!.getTime() - emu.clock.now().getTime()).toBeLessThanOrEqual(900_000);
    expect(out.AssumedRoleUser).toEqual({ AssumedRoleId: expect.stringMatching(/^AROA[A-Z2-7]{16}:kms-byok-test$/), Arn: 'arn:aws:sts::222222222222:assumed-role/KmsByok/kms-byok-test' });
    const id = await sts(credentials).send(new GetCallerIdentityCommand({}));
    expect(id).toMatchObject({ Account: '222222222222', Arn: 'arn:aws:sts::222222222222:assumed-role/KmsByok/kms-byok-test', UserId: out.AssumedRoleUser!.AssumedRoleId });
  });

  it('an undeclared role, a wrong or missing external id: AccessDenied naming the role', async () => {
    for (const [arn, ext] of [
      ['arn:aws:iam::555555555555:role/KmsByok', undefined],
      [ROLE_C, 'wrong-id'],
      [ROLE_C, undefined],
      [ROLE_B, 'unexpected'],
    ] as const) {
      const err = await assume(arn, ext).catch((e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode: number } });
      expect(err).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect((err as Error).message).toContain(`sts:AssumeRole on resource: ${arn}`);
    }
  });

  it('DurationSeconds outside 900–43200 is a ValidationError', async () => {
    for (const d of [899, 43201]) {
      await expect(assume(ROLE_B, undefined, d)).rejects.toMatchObject({ name: 'ValidationError' });
    }
  });

  it("keys, aliases and ARNs are the role's account's, apart from every other account's", async () => {
    const b = (await assume(ROLE_B)).credentials;
    const c = (await assume(ROLE_C, 'ext-3333')).credentials;
    const inB = await kms('eu-west-1', b).send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
    expect(inB.KeyMetadata!.Arn).toMatch(/^arn:aws:kms:eu-west-1:222222222222:key\//);
    expect(inB.KeyMetadata!.AWSAccountId).toBe('222222222222');
    // The same alias name in two accounts is two aliases.
    await kms('eu-west-1', b).send(new CreateAliasCommand({ AliasName: 'alias/payments', TargetKeyId: inB.KeyMetadata!.KeyId! }));
    const inC = await kms('eu-west-1', c).send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
    await kms('eu-west-1', c).send(new CreateAliasCommand({ AliasName: 'alias/payments', TargetKeyId: inC.KeyMetadata!.KeyId! }));
    expect((await kms('eu-west-1', c).send(new DescribeKeyCommand({ KeyId: 'alias/payments' }))).KeyMetadata!.Arn).toBe(inC.KeyMetadata!.Arn);
    const listed = async (creds?: typeof b) => (await kms('eu-west-1', creds).send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId);
    expect(await listed(b)).toEqual([inB.KeyMetadata!.KeyId]);
    expect(await listed(c)).toEqual([inC.KeyMetadata!.KeyId]);
    expect(await listed()).not.toContain(inB.KeyMetadata!.KeyId);
    // Another account's key, even by ARN, is not found.
    await expect(kms('eu-west-1', c).send(new DescribeKeyCommand({ KeyId: inB.KeyMetadata!.Arn! }))).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(kms('eu-west-1', c).send(new DescribeKeyCommand({ KeyId: inB.KeyMetadata!.KeyId! }))).rejects.toMatchObject({ name: 'NotFoundException' });
  });

  it('expired role credentials are refused with ExpiredTokenException', async () => {
    const { credentials } = await assume(ROLE_B, undefined, 900);
    emu.clock.advance(901_000);
    try {
      await expect(kms('eu-west-1', credentials).send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'ExpiredTokenException' });
    } finally {
      emu.clock.advance(-901_000);
    }
  });

  it('the state file keeps the accounts apart and a state file from before accounts still loads', async () => {
    const saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { accounts: Record<string, unknown>; directory: { roles: unknown[] } };
    expect(Object.keys(saved.accounts).sort()).toEqual(['222222222222', '333333333333']);
    expect(saved.directory.roles).toHaveLength(2);
    const old = join(dir, 'old.json');
    writeFileSync(old, JSON.stringify({ version: 1, clockOffsetMs: 0, regions: { 'eu-west-1': { keys: {}, aliases: {} } }, tokens: {} }), { mode: 0o600 });
    const again = await startTestEmulator({ stateFile: old, roles: [{ roleArn: ROLE_B }] });
    try {
      const c = new STSClient({ region: 'eu-west-1', endpoint: again.endpoint, credentials: DUMMY, maxAttempts: 1 });
      const out = await c.send(new AssumeRoleCommand({ RoleArn: ROLE_B, RoleSessionName: 'after-upgrade' }));
      expect(out.AssumedRoleUser!.Arn).toBe('arn:aws:sts::222222222222:assumed-role/KmsByok/after-upgrade');
    } finally {
      await again.close();
    }
  });
});

describe('Organizations ListAccounts', () => {
  it('lists the declared accounts to the management account, page by page', async () => {
    const org = new OrganizationsClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: DUMMY, maxAttempts: 1 });
    const first = await org.send(new ListAccountsCommand({ MaxResults: 2 }));
    expect(first.Accounts!.map((a) => a.Id)).toEqual([HOME, '444444444444']);
    expect(first.NextToken).toBeDefined();
    const second = await org.send(new ListAccountsCommand({ MaxResults: 2, NextToken: first.NextToken }));
    expect(second.Accounts!.map((a) => a.Id)).toEqual(['222222222222', '333333333333']);
    expect(second.NextToken).toBeUndefined();
    expect(second.Accounts![0]).toMatchObject({ Status: 'ACTIVE', Arn: expect.stringMatching(/^arn:aws:organizations::111122223333:account\/o-[a-z0-9]+\/222222222222$/) });
  });

  it('a member account is AccessDeniedException', async () => {
    const { credentials } = await assume(ROLE_B);
    const org = new OrganizationsClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials, maxAttempts: 1 });
    await expect(org.send(new ListAccountsCommand({}))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
