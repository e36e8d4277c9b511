/**
 * The Lambda handler (`kms-byok/lambda`, docs/fleet.md "On AWS") invoked in-process with EventBridge
 * Scheduler-shaped events against the emulator: the custodian identity is a KMS ciphertext decrypted
 * through the emulator with the fleet's encryption context (a wrong context is refused by KMS); the
 * handler re-imports exactly its shard's keys and returns the CLI's JSON document; an event without a
 * shard is refused before any request.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, EncryptCommand, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { identityContext, runScheduleEvent } from '../../src/lambda/index.js';
import { KmsByokError } from '../../src/core/errors.js';
import { workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { createFleet } from './fleet-helpers.js';

const DAY = 86_400_000;
let ws: Workspace;
let keys: { keyId: string; region: string }[];
let plan: string;
let env: Record<string, string>;

beforeAll(async () => {
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  keys = [...(await createFleet(ws.emu.endpoint, ws.dir, alice.recipient, ['us-east-1'], 5)), ...(await createFleet(ws.emu.endpoint, ws.dir, alice.recipient, ['eu-west-1'], 3))];
  // No identity in the plan: the function brings the decrypted one.
  plan = ws.path('fleet.json');
  writeFileSync(plan, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', expiresIn: '200d' }, keys: keys.map((k) => ({ key: k.keyId, region: k.region })) }));
  const identityKey = (await ws.kms.send(new CreateKeyCommand({ Description: 'kms-byok custodian identity' }))).KeyMetadata!.Arn!;
  const sealed = await ws.kms.send(new EncryptCommand({ KeyId: identityKey, Plaintext: readFileSync(ws.path('alice.txt')), EncryptionContext: identityContext('payments') }));
  env = {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_KMS: ws.emu.endpoint,
    KMS_BYOK_IDENTITY_CIPHERTEXT: Buffer.from(sealed.CiphertextBlob!).toString('base64'),
    KMS_BYOK_IDENTITY_KEY: identityKey,
    KMS_BYOK_FLEET: 'payments',
  };
}, 120_000);

afterAll(async () => {
  await ws?.close();
});

async function validToDays(k: { keyId: string; region: string }): Promise<number> {
  const { KMSClient } = await import('@aws-sdk/client-kms');
  const c = new KMSClient({ region: k.region, endpoint: ws.emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
  try {
    const r = await c.send(new ListKeyRotationsCommand({ KeyId: k.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    return (r.Rotations![0]!.ValidTo!.getTime() - Date.now()) / DAY;
  } finally {
    c.destroy();
  }
}

const imports = (from: number) => ws.emu.requests.slice(from).filter((r) => r.operation === 'ImportKeyMaterial' && r.status === 200);

describe('kms-byok/lambda handler', () => {
  it('refuses an event without a shard (or with a bad one) before any request', async () => {
    const before = ws.emu.requests.length;
    const log: string[] = [];
    for (const event of [{ command: 'reimport', plan }, { command: 'reimport', plan, shard: '2/2' }, { command: 'rotate', plan, shard: '0/2' }, 'reimport']) {
      const err = await runScheduleEvent(event, { env, log: (l) => log.push(l) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KmsByokError);
      expect((err as KmsByokError).code).toBe('ERR_INVALID_ARGUMENT');
    }
    const noShard = (await runScheduleEvent({ command: 'reimport', plan }, { env }).catch((e: unknown) => e)) as KmsByokError;
    expect(noShard.message).toContain('no "shard"');
    expect(ws.emu.requests.length).toBe(before);
  });

  it('a wrong encryption context is refused by KMS: nothing is imported', async () => {
    const before = ws.emu.requests.length;
    const err = (await runScheduleEvent({ command: 'reimport', plan, shard: '0/2' }, { env: { ...env, KMS_BYOK_FLEET: 'other-fleet' }, log: () => {} }).catch((e: unknown) => e)) as KmsByokError;
    expect(err).toBeInstanceOf(KmsByokError);
    expect(err.code).toMatch(/^ERR_KMS/);
    const after = ws.emu.requests.slice(before);
    expect(after.map((r) => [r.operation, r.status])).toContainEqual(['Decrypt', 400]);
    expect(imports(before)).toHaveLength(0);
  });

  it("decrypts the identity with the fleet's context and re-imports exactly its shard, returning the CLI's JSON", async () => {
    const before = ws.emu.requests.length;
    const log: string[] = [];
    const r = await runScheduleEvent({ command: 'reimport', plan, shard: '0/2' }, { env, log: (l) => log.push(l), cwd: ws.dir });
    expect(r.exitCode, log.join('')).toBe(0);
    const doc = r.document as { schemaVersion: number; command: string; shard: { index: number; count: number; domains: { region: string; keys: number }[] }; summary: { total: number; ok: number; failed: number } };
    expect(doc.schemaVersion).toBe(1);
    expect(doc.command).toBe('reimport');
    // Two domains (one per Region): shard 0 takes the larger (us-east-1, 5 keys).
    expect(doc.shard).toEqual({ index: 0, count: 2, domains: [{ account: '', region: 'us-east-1', keys: 5 }] });
    expect(doc.summary).toMatchObject({ total: 5, ok: 5, failed: 0 });
    // The identity's Decrypt comes first (then one per key: the proof after each import).
    const ops = ws.emu.requests.slice(before);
    expect(ops[0]).toMatchObject({ operation: 'Decrypt', status: 200, region: 'us-east-1' });
    expect(ops.filter((x) => x.operation === 'Decrypt').every((x) => x.status === 200)).toBe(true);
    expect(imports(before)).toHaveLength(5);
    for (const k of keys) {
      const days = await validToDays(k);
      if (k.region === 'us-east-1') expect(days).toBeGreaterThan(190);
      else expect(days).toBeLessThan(31); // the other shard's keys are untouched
    }
    // Shard 1 from a second invocation: the rest, then the status shard reads without an identity.
    const r1 = await runScheduleEvent({ command: 'reimport', plan, shard: '1/2' }, { env, log: () => {}, cwd: ws.dir });
    expect((r1.document as { summary: { ok: number } }).summary.ok).toBe(3);
    expect(imports(before)).toHaveLength(8);
    const st = await runScheduleEvent({ command: 'status', plan, shard: '1/2' }, { env: { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_KMS: ws.emu.endpoint }, log: () => {}, cwd: ws.dir });
    expect(st.exitCode).toBe(0);
    expect((st.document as { summary: { ok: number } }).summary.ok).toBe(3);
  }, 60_000);

  it('is exported as kms-byok/lambda (package.json "exports", built to dist/lambda/index.js)', async () => {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { exports: Record<string, { default: string; types: string }> };
    expect(pkg.exports['./lambda']).toEqual({ types: './dist/lambda/index.d.ts', default: './dist/lambda/index.js' });
    const mod = (await import(pathToFileURL(fileURLToPath(new URL(`../../${pkg.exports['./lambda']!.default}`, import.meta.url))).href)) as { handler: unknown; parseEvent: (e: unknown) => unknown };
    expect(typeof mod.handler).toBe('function');
    expect(() => mod.parseEvent({ command: 'status', plan: '/mnt/escrow/fleet.json' })).toThrow(/no "shard"/);
  });
});
