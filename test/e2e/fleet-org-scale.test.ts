/**
 * The organisation-scale fleet end to end (docs/fleet.md, "Accounts and roles", "Discovery",
 * "Shards"): three accounts reached through roles, two Regions each, 300 keys with escrows, plus two
 * keys made with the aws CLI behind kms-byok's back. `discover` finds every EXTERNAL key, flags the
 * two without escrow (exit 3) and writes a plan; four processes of the BUILT CLI run `reimport --plan
 * … --shard K/4` at once and together re-import every key exactly once; the emulator's request log
 * shows that each quota domain (account, Region) was served by one process only; `fleet report`
 * merges the shards and exits 0. The fixture uses the emulator's `openssl` unwrap engine (the fast
 * one) and RSA_2048 wrapping, so the test is about kms-byok, not the emulator's RSA.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMSClient, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { ensureBuilt, spawnBuilt } from '../support/built-cli.js';
import { workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { createFleet, createKeyWithAwsCli, hasAwsCli } from './fleet-helpers.js';

const REGIONS = ['us-east-1', 'eu-west-1'];
/** Keys per account and Region: 3 × 2 × 50 = 300. */
const PER = 50;
const ACCOUNTS = {
  '222222222222': { roleArn: 'arn:aws:iam::222222222222:role/KmsByok' },
  '333333333333': { roleArn: 'arn:aws:iam::333333333333:role/KmsByok', externalId: 'ext-3333' },
  '444444444444': { roleArn: 'arn:aws:iam::444444444444:role/KmsByok' },
} as const;
type Account = keyof typeof ACCOUNTS;
type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const DAY = 86_400_000;

let ws: Workspace;
let emu: RunningEmulator;
const keys: Record<string, { keyId: string; region: string }[]> = {};
const creds: Record<string, Creds> = {};
/** Keys made with the aws CLI (no escrow). */
const behind: { account: Account; keyId: string }[] = [];
const awsCli = hasAwsCli;

async function assume(account: Account): Promise<Creds> {
  const role = ACCOUNTS[account] as { roleArn: string; externalId?: string };
  const sts = new STSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDFIXTURE', secretAccessKey: 'fixture' }, maxAttempts: 1 });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: role.roleArn, RoleSessionName: 'fixture', DurationSeconds: 43_200, ...(role.externalId ? { ExternalId: role.externalId } : {}) }))).Credentials!;
  sts.destroy();
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

/** Runs the built CLI in its own process; `accessKeyId` is the base identity the process assumes the roles with. */
function spawnCli(args: string[], accessKeyId: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ws.dir, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: 'shard', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' };
  return spawnBuilt(args, { cwd: ws.dir, env });
}

beforeAll(async () => {
  await ensureBuilt();
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  emu = await startTestEmulator({ roles: Object.values(ACCOUNTS) as { roleArn: string; externalId?: string }[], unwrapEngine: 'openssl' });
  await Promise.all(
    (Object.keys(ACCOUNTS) as Account[]).map(async (account) => {
      creds[account] = await assume(account);
      keys[account] = await createFleet(emu.endpoint, ws.dir, alice.recipient, REGIONS, PER, 8, { credentials: creds[account]!, account });
    }),
  );
  if (!awsCli) {
    console.log("aws CLI not installed: the keys made behind kms-byok's back are skipped");
    return;
  }
  for (const [account, region] of [['222222222222', 'eu-west-1'], ['444444444444', 'us-east-1']] as const) {
    const md = await createKeyWithAwsCli(emu.endpoint, region, ws.dir, creds[account]!);
    expect(md.Arn).toContain(`:${account}:key/`);
    behind.push({ account, keyId: md.KeyId });
  }
}, 240_000);

afterAll(async () => {
  await emu?.close();
  await ws?.close().catch(() => undefined);
});

interface ShardReport {
  shard: { index: number; count: number; domains: { account: string; region: string; keys: number }[] };
  summary: { total: number; ok: number; failed: number };
}

describe('an organisation: discover, four shard processes, fleet report', () => {
  it('discovers 300 keys (and the two without escrow), four shards re-import each exactly once, one process per quota domain, and the report merges them', async () => {
    writeFileSync(ws.path('accounts.txt'), '222222222222\n333333333333 ext-3333\n444444444444\n');
    const discovered = await spawnCli(
      ['discover', '--regions', REGIONS.join(','), '--accounts', 'accounts.txt', '--role-name', 'KmsByok', '--escrow-dir', 'escrow', '--endpoint-url', emu.endpoint, '--write-plan', 'org.json', '--identity', 'alice.txt', '--expires-in', '200d', '--json'],
      'AKIDDISCOVER',
    );
    expect(discovered.code, discovered.stderr).toBe(behind.length > 0 ? 3 : 0);
    const found = JSON.parse(discovered.stdout) as { keys: { accountId: string; keyId: string; noEscrow: boolean }[]; unseen: unknown[]; summary: Record<string, number> };
    expect(found.unseen).toEqual([]);
    expect(found.summary).toMatchObject({ keys: 3 * 2 * PER + behind.length, escrowed: 3 * 2 * PER, noEscrow: behind.length });
    for (const b of behind) expect(found.keys.find((k) => k.keyId === b.keyId)).toMatchObject({ accountId: b.account, noEscrow: true });
    const plan = JSON.parse(readFileSync(ws.path('org.json'), 'utf8')) as { keys: { key: string }[] };
    expect(plan.keys).toHaveLength(3 * 2 * PER);

    const before = emu.requests.length;
    const shards = await Promise.all(
      [0, 1, 2, 3].map((k) => spawnCli(['reimport', '--plan', 'org.json', '--shard', `${k}/4`, '--state-dir', 'runs', '--endpoint-url', emu.endpoint, '--rate-scale', '50', '--json'], `AKIDSHARD${k}`)),
    );
    const reports = shards.map((r, k) => {
      expect(r.code, `shard ${k}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as ShardReport;
    });
    // The shards say they split the six quota domains between them.
    const declared = reports.flatMap((r) => r.shard.domains.map((d) => `${d.account}/${d.region}`));
    expect([...declared].sort()).toEqual(Object.keys(ACCOUNTS).flatMap((a) => REGIONS.map((r) => `${a}/${r}`)).sort());
    expect(reports.reduce((n, r) => n + r.summary.ok, 0)).toBe(3 * 2 * PER);

    // The emulator's log agrees. Each process assumes each role it needs itself, so its KMS requests
    // are signed with its own session keys: a domain two processes served would show two signers.
    const log = emu.requests.slice(before);
    const kmsCalls = log.filter((x) => x.caller?.startsWith('ASIA') && x.operation !== 'GetCallerIdentity');
    const signers = new Map<string, Set<string>>();
    for (const x of kmsCalls) {
      const domain = `${x.accountId}/${x.region}`;
      if (!signers.has(domain)) signers.set(domain, new Set());
      signers.get(domain)!.add(x.caller!);
    }
    expect([...signers.keys()].sort()).toEqual([...declared].sort());
    for (const [domain, who] of signers) expect(who.size, `${domain} was served by ${[...who].join(', ')}`).toBe(1);
    // Sessions were made by the four shard identities only, at most one per account a shard serves.
    const assumed = log.filter((x) => x.operation === 'AssumeRole' && x.status === 200);
    expect(new Set(assumed.map((x) => x.caller))).toEqual(new Set(reports.filter((r) => r.shard.domains.length > 0).map((r) => `AKIDSHARD${r.shard.index}`)));
    expect(new Set([...signers.values()].flatMap((s) => [...s])).size).toBe(assumed.length);
    // Exactly once: 300 successful imports, 50 in each domain, and every key now holds the new ValidTo.
    const imports = log.filter((x) => x.operation === 'ImportKeyMaterial' && x.status === 200);
    expect(imports).toHaveLength(3 * 2 * PER);
    for (const domain of declared) expect(imports.filter((x) => `${x.accountId}/${x.region}` === domain), domain).toHaveLength(PER);
    for (const [account, ks] of Object.entries(keys)) {
      const clients = new Map(REGIONS.map((r) => [r, new KMSClient({ region: r, endpoint: emu.endpoint, credentials: creds[account]!, maxAttempts: 1 })]));
      try {
        for (const k of ks) {
          const m = await clients.get(k.region)!.send(new ListKeyRotationsCommand({ KeyId: k.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
          expect(m.Rotations).toHaveLength(1);
          expect(m.Rotations![0]!.ValidTo!.getTime(), `${account} ${k.keyId}`).toBeGreaterThan(Date.now() + 150 * DAY);
        }
      } finally {
        for (const c of clients.values()) c.destroy();
      }
    }

    const merged = await spawnCli(['fleet', 'report', '--plan', 'org.json', '--state-dir', 'runs', '--json'], 'AKIDREPORT');
    expect(merged.code, merged.stderr).toBe(0);
    const doc = JSON.parse(merged.stdout) as { shards: number; summary: Record<string, number>; problems: string[] };
    expect(doc.shards).toBe(4);
    expect(doc.summary).toEqual({ total: 3 * 2 * PER, ok: 3 * 2 * PER, attention: 0, failed: 0, notRun: 0 });
    expect(doc.problems).toEqual([]);
  }, 240_000);
});
