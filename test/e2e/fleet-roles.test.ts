/**
 * Organisation-scale fleets (docs/fleet.md "Accounts and roles", "Discovery"): three accounts reached
 * through roles (one with an external id), two Regions each, against the emulator through the real SDK
 * clients. `reimport --plan` re-imports every key through the roles; a role STS refuses, a wrong
 * external id and an account the identity does not match fail their own keys only; `discover` finds
 * every EXTERNAL key — two made behind kms-byok's back with the aws CLI, flagged as having no escrow —
 * and writes a plan `reimport --plan` accepts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { createFleet, createKeyWithAwsCli, hasAwsCli } from './fleet-helpers.js';

const REGIONS = ['us-east-1', 'eu-west-1'];
/** Keys per account and Region: 3 accounts × 2 Regions × 5 = 30 (KMS_BYOK_SLOW=1: 50, i.e. 300). */
const PER = process.env.KMS_BYOK_SLOW === '1' ? 50 : 5;
const ACCOUNTS = {
  '222222222222': { roleArn: 'arn:aws:iam::222222222222:role/KmsByok' },
  '333333333333': { roleArn: 'arn:aws:iam::333333333333:role/KmsByok', externalId: 'ext-3333' },
  '444444444444': { roleArn: 'arn:aws:iam::444444444444:role/KmsByok' },
} as const;
type Account = keyof typeof ACCOUNTS;
type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

let ws: Workspace;
let emu: RunningEmulator;
const keys: Record<string, { keyId: string; region: string }[]> = {};
const creds: Record<string, Creds> = {};

async function assume(account: Account): Promise<Creds> {
  const role = ACCOUNTS[account] as { roleArn: string; externalId?: string };
  const sts = new STSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: role.roleArn, RoleSessionName: 'fixture', ...(role.externalId ? { ExternalId: role.externalId } : {}) }))).Credentials!;
  sts.destroy();
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

async function validTo(account: Account, k: { keyId: string; region: string }): Promise<string | undefined> {
  const kms = new KMSClient({ region: k.region, endpoint: emu.endpoint, credentials: creds[account]!, maxAttempts: 1 });
  try {
    return (await kms.send(new DescribeKeyCommand({ KeyId: k.keyId }))).KeyMetadata!.ValidTo?.toISOString();
  } finally {
    kms.destroy();
  }
}

function planOf(accounts: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    defaults: { escrowDir: 'escrow', identity: 'alice.txt', warnDays: 1, ...extra },
    accounts,
    keys: Object.entries(keys).flatMap(([account, ks]) => ks.map((k) => ({ key: k.keyId, region: k.region, account }))),
  };
}

beforeAll(async () => {
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  emu = await startTestEmulator({ roles: Object.values(ACCOUNTS) as { roleArn: string; externalId?: string }[], unwrapEngine: 'openssl' });
  for (const account of Object.keys(ACCOUNTS) as Account[]) {
    creds[account] = await assume(account);
    keys[account] = await createFleet(emu.endpoint, ws.dir, alice.recipient, REGIONS, PER, 8, { credentials: creds[account]!, account });
  }
}, 300_000);

afterAll(async () => {
  await emu?.close();
  await ws?.close().catch(() => undefined);
});

describe('reimport --plan through cross-account roles', () => {
  it('re-imports every key of three accounts, two Regions each, through their roles', async () => {
    const plan = ws.path('roles-plan.json');
    writeFileSync(plan, JSON.stringify(planOf(ACCOUNTS, { expiresIn: '200d' })));
    const before = emu.requests.length;
    const r = await run(['reimport', '--plan', plan, '--endpoint-url', emu.endpoint, '--rate-scale', '50', '--json'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const report = r.json<{ summary: { ok: number; failed: number }; keys: { key: string; account?: string; roleArn?: string; validTo?: string }[] }>();
    expect(report.summary).toMatchObject({ ok: 3 * 2 * PER, failed: 0 });
    // One AssumeRole per role, shared by its two Regions (the provider is shared; the SDK refreshes it).
    const assumed = emu.requests.slice(before).filter((x) => x.operation === 'AssumeRole');
    expect(assumed).toHaveLength(3);
    for (const [account, ks] of Object.entries(keys) as [Account, { keyId: string; region: string }[]][]) {
      for (const k of ks) {
        const row = report.keys.find((x) => x.key === k.keyId)!;
        expect(row).toMatchObject({ account, roleArn: ACCOUNTS[account].roleArn });
        // Seen in KMS through the account's own credentials: the new ValidTo.
        expect(await validTo(account, k)).toBe(row.validTo);
      }
    }
  });

  it('a role STS refuses, a wrong external id and an account mismatch fail their own keys; the others go on', async () => {
    const plan = ws.path('bad-roles-plan.json');
    // Entries of 444444444444 claim another account: keep the keys, move the claim.
    const doc = JSON.parse(JSON.stringify(planOf({}))) as { accounts: unknown; keys: { account: string }[] };
    doc.accounts = {
      '222222222222': { roleArn: 'arn:aws:iam::222222222222:role/NotDeclared' },
      '333333333333': { roleArn: ACCOUNTS['333333333333'].roleArn, externalId: 'wrong-id' },
      '555555555555': { roleArn: ACCOUNTS['444444444444'].roleArn },
    };
    for (const k of doc.keys) if (k.account === '444444444444') k.account = '555555555555';
    writeFileSync(plan, JSON.stringify(doc));
    const r = await run(['status', '--plan', plan, '--endpoint-url', emu.endpoint, '--json'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(1);
    const report = r.json<{ keys: { account: string; status: string; error?: { code: string; message: string } }[] }>();
    const of = (account: string) => report.keys.filter((k) => k.account === account);
    expect(of('222222222222')).toHaveLength(2 * PER);
    for (const k of of('222222222222')) {
      expect(k.error?.code).toBe('ERR_ROLE_DENIED');
      expect(k.error?.message).toContain('arn:aws:iam::222222222222:role/NotDeclared in account 222222222222');
    }
    for (const k of of('333333333333')) {
      expect(k.error?.code).toBe('ERR_ROLE_DENIED');
      expect(k.error?.message).not.toContain('wrong-id');
    }
    for (const k of of('555555555555')) {
      expect(k.error?.code).toBe('ERR_ACCOUNT_MISMATCH');
      expect(k.error?.message).toContain('in account 444444444444, but the plan says account 555555555555');
    }
    // The keys are untouched by the refusals: a correct plan still reads them all.
    const good = ws.path('good-status-plan.json');
    writeFileSync(good, JSON.stringify(planOf(ACCOUNTS)));
    const ok = await run(['status', '--plan', good, '--endpoint-url', emu.endpoint, '--json'], { cwd: ws.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json<{ summary: { ok: number } }>().summary.ok).toBe(3 * 2 * PER);
  });

  it('a plan with malformed role fields is refused before any request, every problem listed', async () => {
    const plan = ws.path('malformed-roles-plan.json');
    writeFileSync(
      plan,
      JSON.stringify({
        version: 1,
        defaults: { escrowDir: 'escrow', region: 'us-east-1' },
        accounts: { '2222': {}, '333333333333': { roleArn: 'arn:aws:iam::333333333333:user/bob', durationSeconds: 60 } },
        keys: [{ key: 'alias/a', account: '333333333333' }, { key: 'alias/b', externalId: 'x' }],
      }),
    );
    const before = emu.requests.length;
    const r = await run(['status', '--plan', plan, '--endpoint-url', emu.endpoint], { cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('accounts: "2222" is not a 12-digit account id');
    expect(r.stderr).toContain('"roleArn" "arn:aws:iam::333333333333:user/bob" is not an IAM role ARN');
    expect(r.stderr).toContain('"durationSeconds" must be a whole number of seconds from 900 to 43200');
    expect(r.stderr).toContain('keys[1]: "externalId" needs a "roleArn"');
    expect(emu.requests.length).toBe(before);
  });
});

describe('discover', () => {
  /** Keys made with the aws CLI, behind kms-byok's back (no escrow): account → key id. */
  const behind: { account: Account; keyId: string }[] = [];
  const awsCli = hasAwsCli;

  beforeAll(async () => {
    if (!awsCli) {
      console.log('aws CLI not installed: the keys made behind kms-byok\'s back are skipped');
      return;
    }
    for (const [account, region] of [['222222222222', 'eu-west-1'], ['333333333333', 'us-east-1']] as const) {
      const md = await createKeyWithAwsCli(emu.endpoint, region, ws.dir, creds[account]!);
      expect(md.Arn).toContain(`:${account}:key/`);
      behind.push({ account, keyId: md.KeyId });
    }
  }, 120_000);

  it('finds every EXTERNAL key of three accounts through their roles, flags those without escrow, and writes a plan reimport --plan runs', async () => {
    writeFileSync(ws.path('accounts.txt'), '# the organisation\n222222222222\n333333333333 ext-3333\n444444444444\n');
    const args = ['discover', '--regions', REGIONS.join(','), '--accounts', 'accounts.txt', '--role-name', 'KmsByok', '--escrow-dir', 'escrow', '--endpoint-url', emu.endpoint];
    const r = await run([...args, '--warn-days', '7', '--write-plan', 'discovered.json', '--identity', 'alice.txt', '--expires-in', '100d', '--json'], { cwd: ws.dir });
    // Exit 3: keys without escrow (when the aws CLI could make them); nothing else needs attention.
    expect(r.code, r.stderr).toBe(behind.length > 0 ? 3 : 0);
    const doc = r.json<{ keys: { accountId: string; keyId: string; noEscrow: boolean; escrow?: { path: string } }[]; unseen: unknown[]; summary: Record<string, number>; plan: string }>();
    expect(doc.unseen).toEqual([]);
    const total = 3 * 2 * PER + behind.length;
    expect(doc.summary).toMatchObject({ keys: total, escrowed: 3 * 2 * PER, noEscrow: behind.length, unseen: 0 });
    for (const [account, ks] of Object.entries(keys)) {
      for (const k of ks) expect(doc.keys.find((x) => x.keyId === k.keyId)).toMatchObject({ accountId: account, noEscrow: false, escrow: { path: expect.stringContaining(k.keyId) } });
    }
    for (const b of behind) expect(doc.keys.find((x) => x.keyId === b.keyId)).toMatchObject({ accountId: b.account, noEscrow: true });
    expect(r.stderr).toContain(`${behind.length} without escrow`);

    // The plan: every escrowed key, each account's role (with its external id) in "accounts".
    const plan = JSON.parse(readFileSync(ws.path('discovered.json'), 'utf8')) as { accounts: Record<string, { roleArn: string; externalId?: string }>; keys: { key: string }[] };
    expect(plan.keys).toHaveLength(3 * 2 * PER);
    expect(plan.accounts['333333333333']).toEqual({ roleArn: 'arn:aws:iam::333333333333:role/KmsByok', externalId: 'ext-3333' });
    // Never overwritten: a second discover with the same --write-plan is refused before any request.
    const before = emu.requests.length;
    const again = await run([...args, '--write-plan', 'discovered.json'], { cwd: ws.dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('ERR_FILE_WRITE');
    expect(emu.requests.length).toBe(before);

    const status = await run(['status', '--plan', 'discovered.json', '--endpoint-url', emu.endpoint, '--json'], { cwd: ws.dir });
    expect(status.code, status.stderr).toBe(0);
    const re = await run(['reimport', '--plan', 'discovered.json', '--endpoint-url', emu.endpoint, '--rate-scale', '50', '--json'], { cwd: ws.dir });
    expect(re.code, re.stderr).toBe(0);
    const report = re.json<{ summary: { ok: number; failed: number }; keys: { key: string; validTo: string }[] }>();
    expect(report.summary).toMatchObject({ ok: 3 * 2 * PER, failed: 0 });
    for (const [account, ks] of Object.entries(keys) as [Account, { keyId: string; region: string }[]][]) {
      for (const k of ks) {
        const row = report.keys.find((x) => x.key.endsWith(`:${account}:key/${k.keyId}`))!;
        expect(Date.parse(row.validTo) - Date.now()).toBeGreaterThan(99 * 86_400_000);
        expect(await validTo(account, k)).toBe(row.validTo);
      }
    }
  });

  it('a role it cannot assume and an organisation it may not list are named as unseen; the rest is searched (exit 1)', async () => {
    // --role-name reaches 333333333333 without its external id: refused, the other two are searched.
    writeFileSync(ws.path('accounts-noext.txt'), '222222222222\n333333333333\n444444444444\n');
    const r = await run(['discover', '--regions', 'eu-west-1', '--accounts', 'accounts-noext.txt', '--role-name', 'KmsByok', '--escrow-dir', 'escrow', '--endpoint-url', emu.endpoint, '--json'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(1);
    const doc = r.json<{ unseen: { accountId?: string; scope: string; code: string; message: string }[]; keys: { accountId: string }[] }>();
    expect(doc.unseen).toEqual([expect.objectContaining({ accountId: '333333333333', scope: 'account', code: 'ERR_ROLE_DENIED' })]);
    expect(doc.unseen[0]!.message).toContain('arn:aws:iam::333333333333:role/KmsByok in account 333333333333');
    expect(new Set(doc.keys.map((k) => k.accountId))).toEqual(new Set(['222222222222', '444444444444']));

    // An emulator whose management account is another: Organizations refuses the caller.
    const other = await startTestEmulator({ managementAccount: '999999999999', accounts: ['222222222222'] });
    try {
      const o = await run(['discover', '--regions', 'eu-west-1', '--organization', '--role-name', 'KmsByok', '--escrow-dir', 'escrow', '--endpoint-url', other.endpoint, '--json'], { cwd: ws.dir });
      expect(o.code, o.stderr).toBe(1);
      const od = o.json<{ unseen: { scope: string; code: string; message: string }[]; accounts: { accountId: string }[] }>();
      expect(od.unseen).toEqual([expect.objectContaining({ scope: 'organization', code: 'ERR_KMS_ACCESS_DENIED' })]);
      expect(od.unseen[0]!.message).toContain('only 111122223333 was searched');
      expect(od.accounts).toEqual([{ accountId: '111122223333' }]);
    } finally {
      await other.close();
    }
  });
});
