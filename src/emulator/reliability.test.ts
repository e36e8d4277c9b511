/**
 * Quotas, injected latency and faults, through the real KMSClient: `maxAttempts: 1` to see the raw
 * failure, the SDK's default retry (3 attempts, standard strategy) to show it recovers as against AWS.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ListKeysCommand,
  ReplicateKeyCommand,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestEmulator, wrap } from './emulator.test.helpers.js';
import { parseFaultFlag, parseLatencyFlag, parseQuotaFlag, KMS_DEFAULT_QUOTAS, type EmulatorOptions, type RunningEmulator } from './index.js';
import { latencySampler } from './faults.js';
import { QuotaLimiter } from './quotas.js';
import { WrappingKeyPool } from './wrapping-pool.js';

const running: { emu: RunningEmulator; clients: KMSClient[] }[] = [];

async function setup(options: EmulatorOptions = {}): Promise<{ emu: RunningEmulator; kms: (config?: Partial<KMSClientConfig>) => KMSClient }> {
  const emu = await startTestEmulator(options);
  const entry = { emu, clients: [] as KMSClient[] };
  running.push(entry);
  const kms = (config: Partial<KMSClientConfig> = {}): KMSClient => {
    const c = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1, ...config });
    entry.clients.push(c);
    return c;
  };
  return { emu, kms };
}

afterEach(async () => {
  for (const { emu, clients } of running.splice(0)) {
    for (const c of clients) c.destroy();
    await emu.close();
  }
});

/** The rejection of `p` (fails the test when it resolves). */
async function failure(p: Promise<unknown>): Promise<Error & { $fault?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

/** A control operation, as another process would send it (plain HTTP, no SDK). */
async function control(emu: RunningEmulator, operation: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(emu.endpoint, {
    method: 'POST',
    headers: { 'x-amz-target': `KmsByokEmulator.${operation}`, 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function importReady(kms: KMSClient) {
  const keyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
  const p = await kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  const input = {
    KeyId: keyId,
    ImportToken: p.ImportToken!,
    EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey!, randomBytes(32)),
    ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const,
  };
  return { keyId, input };
}

const keyState = async (kms: KMSClient, KeyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState;

describe('request-rate quotas', () => {
  it('throttles a burst beyond the bucket with KMS’s ThrottlingException, which the SDK names and classifies as AWS’s', async () => {
    // 0.01/s: a bucket of one request that takes 100 s to refill, so nothing refills during the test
    // however loaded the machine is (a 5/s bucket refilled within the 200 ms a busy machine can take).
    const { emu, kms } = await setup({ quotas: { CreateKey: 0.01 } });
    const c = kms();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => c.send(new CreateKeyCommand({}))));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBe(1);
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error & Record<string, unknown>] : []));
    for (const e of errors) {
      expect(e.name).toBe('ThrottlingException');
      expect(e.message).toBe('Rate exceeded');
      expect(e.$fault).toBe('client');
      expect((e.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);
      // AWS's ThrottlingException is not in the KMS model: no $retryable trait, retried by name (as against AWS).
      expect(e.$retryable).toBeUndefined();
    }
    expect(emu.requests.filter((r) => r.throttledByQuota)).toHaveLength(8 - ok);
    expect(emu.requests.filter((r) => r.throttledByQuota).every((r) => r.status === 400 && r.fault === undefined)).toBe(true);

    // The raw answer is KMS's, byte for byte in the fields that matter.
    const res = await fetch(emu.endpoint, { method: 'POST', headers: { 'x-amz-target': 'TrentService.CreateKey' }, body: '{}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ __type: 'ThrottlingException', message: 'Rate exceeded' });
    expect(res.headers.get('x-amzn-errortype')).toBe('ThrottlingException');
    // Other operations are not limited by CreateKey's quota.
    await c.send(new ListKeysCommand({}));
  });

  it('holds the rate over a 2 s window to the configured (scaled) quota', async () => {
    const { emu, kms } = await setup({ quotas: { ListKeys: 1 }, quotaScale: 20 }); // 20 per second, burst 20
    const c = kms();
    const end = Date.now() + 2000;
    let ok = 0;
    let throttled = 0;
    const worker = async () => {
      for (let i = 0; i < 2000 && Date.now() < end; i++) {
        try {
          await c.send(new ListKeysCommand({}));
          ok++;
        } catch (e) {
          if ((e as Error).name !== 'ThrottlingException') throw e;
          throttled++;
        }
        await sleep(5);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    // 20 (the full bucket) + 20/s × 2 s = 60
    expect(ok).toBeGreaterThanOrEqual(45);
    expect(ok).toBeLessThanOrEqual(66);
    expect(throttled).toBeGreaterThan(0);
    expect(emu.requests.filter((r) => r.status === 200)).toHaveLength(ok);
  });

  it('keeps independent buckets per Region; ReplicateKey also takes two CreateKey of the replica Region', async () => {
    const { kms } = await setup({ quotas: { CreateKey: 2, ReplicateKey: 5 } });
    const east = kms();
    const west = kms({ region: 'eu-west-1' });
    const primary = (await east.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.KeyId!;
    await east.send(new CreateKeyCommand({}));
    expect((await failure(east.send(new CreateKeyCommand({})))).name).toBe('ThrottlingException');
    await west.send(new CreateKeyCommand({})); // eu-west-1 has its own bucket
    await west.send(new CreateKeyCommand({}));
    expect((await failure(west.send(new CreateKeyCommand({})))).name).toBe('ThrottlingException');
    // ap-southeast-2's CreateKey bucket is full (2): the replica takes both.
    await east.send(new ReplicateKeyCommand({ KeyId: primary, ReplicaRegion: 'ap-southeast-2' }));
    const south = kms({ region: 'ap-southeast-2' });
    expect((await failure(south.send(new CreateKeyCommand({})))).name).toBe('ThrottlingException');
  });

  it('refills continuously at the rate, one token at least (0.25/s = one request each 4 s)', () => {
    let t = 0;
    const q = new QuotaLimiter({ GetParametersForImport: 0.25, ImportKeyMaterial: 5 }, () => t);
    expect(q.admit('a', 'r', 'GetParametersForImport')).toBe(true);
    expect(q.admit('a', 'r', 'GetParametersForImport')).toBe(false);
    t = 3900;
    expect(q.admit('a', 'r', 'GetParametersForImport')).toBe(false);
    t = 4000;
    expect(q.admit('a', 'r', 'GetParametersForImport')).toBe(true);
    expect([1, 2, 3, 4, 5, 6].map(() => q.admit('a', 'r', 'ImportKeyMaterial'))).toEqual([true, true, true, true, true, false]);
    t = 4200; // one more token after 200 ms at 5/s
    expect([1, 2].map(() => q.admit('a', 'r', 'ImportKeyMaterial'))).toEqual([true, false]);
    expect(q.admit('a', 'r', 'CreateKey')).toBe(true); // not in the table: unlimited
    expect(q.admit('b', 'r', 'GetParametersForImport')).toBe(true); // another account
  });

  it('exports AWS’s documented defaults, and refuses unknown operations', async () => {
    expect(KMS_DEFAULT_QUOTAS).toMatchObject({ GetParametersForImport: 1, ImportKeyMaterial: 15, CreateKey: 5, DeleteImportedKeyMaterial: 15, ReplicateKey: 5 });
    await expect(startTestEmulator({ quotas: { CreateKeys: 5 } })).rejects.toThrow(/unknown operation CreateKeys/);
    await expect(startTestEmulator({ quotas: 'default', quotaScale: 0 })).rejects.toThrow(/scale/);
  });
});

describe('injected latency', () => {
  it('waits the configured time before answering (timings: lower bounds only)', async () => {
    const { kms } = await setup({ latency: { default: [150, 200] } });
    const c = kms();
    const t = Date.now();
    await c.send(new ListKeysCommand({}));
    expect(Date.now() - t).toBeGreaterThanOrEqual(145);
  });

  it('takes the operation’s own latency, else the default; ranges are uniform between min and max', () => {
    const ops = new Set(['CreateKey', 'DescribeKey']);
    let r = 0;
    const sample = latencySampler({ default: [20, 60], DescribeKey: 5 }, ops, () => r);
    expect(sample('CreateKey')).toBe(20);
    r = 1;
    expect(sample('CreateKey')).toBe(60);
    r = 0.5;
    expect([sample('CreateKey'), sample('DescribeKey')]).toEqual([40, 5]);
    expect(latencySampler({}, ops)('CreateKey')).toBe(0);
    expect(() => latencySampler({ Nope: 5 }, ops)).toThrow(/unknown operation/);
    expect(() => latencySampler({ default: [60, 20] }, ops)).toThrow(/range/);
  });
});

describe('fault injection', () => {
  it('throttle, internal and http500 give the errors the SDK reports for them', async () => {
    const { emu, kms } = await setup();
    const c = kms();
    emu.faults.add({ operation: 'ListKeys', kind: 'throttle' });
    const t = await failure(c.send(new ListKeysCommand({})));
    expect([t.name, t.message, t.$fault, t.$metadata?.httpStatusCode]).toEqual(['ThrottlingException', 'Rate exceeded', 'client', 400]);
    emu.faults.add({ operation: 'ListKeys', kind: 'internal' });
    const i = await failure(c.send(new ListKeysCommand({})));
    expect([i.name, i.$fault, i.$metadata?.httpStatusCode]).toEqual(['KMSInternalException', 'server', 500]);
    emu.faults.add({ operation: 'ListKeys', kind: 'http500' });
    const h = await failure(c.send(new ListKeysCommand({})));
    expect([h.name, h.$fault, h.$metadata?.httpStatusCode]).toEqual(['Unknown', 'server', 500]);
    await c.send(new ListKeysCommand({})); // every fault fired once, as configured
    expect(emu.requests.map((r) => [r.status, r.fault])).toEqual([
      [400, 'throttle'],
      [500, 'internal'],
      [500, 'http500'],
      [200, undefined],
    ]);
  });

  it('the SDK’s default retry recovers from throttle, http500, internal and drop-before', async () => {
    const { emu, kms } = await setup();
    const c = kms({ maxAttempts: undefined });
    emu.faults.add({ operation: 'ListKeys', kind: 'throttle' });
    emu.faults.add({ operation: 'DescribeKey', kind: 'http500' });
    emu.faults.add({ operation: 'CreateKey', kind: 'drop-before' });
    emu.faults.add({ operation: 'DisableKey', kind: 'internal' });
    await c.send(new ListKeysCommand({}));
    const keyId = (await c.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await c.send(new DescribeKeyCommand({ KeyId: keyId }));
    await c.send(new DisableKeyCommand({ KeyId: keyId }));
    expect(emu.requests.map((r) => `${r.operation}:${r.status}:${r.fault ?? ''}`)).toEqual([
      'ListKeys:400:throttle',
      'ListKeys:200:',
      'CreateKey:0:drop-before',
      'CreateKey:200:',
      'DescribeKey:500:http500',
      'DescribeKey:200:',
      'DisableKey:500:internal',
      'DisableKey:200:',
    ]);
    expect(emu.faults.list().map((f) => [f.operation, f.fired])).toEqual([
      ['ListKeys', 1],
      ['DescribeKey', 1],
      ['CreateKey', 1],
      ['DisableKey', 1],
    ]);
  });

  it('drop-before: the client sees a socket error and nothing happened', async () => {
    const { emu, kms } = await setup();
    const c = kms();
    const { keyId, input } = await importReady(c);
    emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'drop-before' });
    const e = await failure(c.send(new ImportKeyMaterialCommand(input)));
    expect(`${e.code ?? ''} ${e.message}`).toMatch(/ECONNRESET|socket hang up/);
    expect(await keyState(c, keyId)).toBe('PendingImport');
    expect(emu.requests.at(-2)).toEqual({ operation: 'ImportKeyMaterial', region: 'us-east-1', status: 0, fault: 'drop-before', accountId: '111122223333', caller: 'AKIDEXAMPLE' });
    await c.send(new ImportKeyMaterialCommand(input)); // the fault fired once; the import works now
    expect(await keyState(c, keyId)).toBe('Enabled');
  });

  it('drop-after: the import happens, the client sees a socket error, and re-importing the same material is harmless', async () => {
    const { emu, kms } = await setup();
    const c = kms();
    const { keyId, input } = await importReady(c);
    emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'drop-after', times: 1 });
    const e = await failure(c.send(new ImportKeyMaterialCommand(input)));
    expect(`${e.code ?? ''} ${e.message}`).toMatch(/ECONNRESET|socket hang up/);
    expect(await keyState(c, keyId)).toBe('Enabled');
    expect(emu.requests.find((r) => r.fault)).toEqual({ operation: 'ImportKeyMaterial', region: 'us-east-1', status: 0, fault: 'drop-after', accountId: '111122223333', caller: 'AKIDEXAMPLE' });
    await c.send(new ImportKeyMaterialCommand(input)); // what a retrying client does
    expect(await keyState(c, keyId)).toBe('Enabled');
  });

  it('fires on the nth matching request, the configured number of times, in the configured Region', async () => {
    const { emu, kms } = await setup();
    const c = kms();
    const f = emu.faults.add({ operation: 'ListKeys', kind: 'throttle', nth: 2, times: 2 });
    emu.faults.add({ operation: '*', kind: 'internal', region: 'eu-west-1', times: 1 });
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) outcomes.push(await c.send(new ListKeysCommand({})).then(() => 'ok', (e: Error) => e.name));
    expect(outcomes).toEqual(['ok', 'ThrottlingException', 'ThrottlingException', 'ok', 'ok']);
    expect(emu.faults.list()[0]).toMatchObject({ id: f.id, seen: 5, fired: 2 });
    expect(emu.faults.list()[1]).toMatchObject({ seen: 0, fired: 0 });
    expect((await failure(kms({ region: 'eu-west-1' }).send(new ListKeysCommand({})))).name).toBe('KMSInternalException');
    expect(emu.faults.remove(f.id)).toBe(true);
    expect(emu.faults.clear()).toBe(1);
    expect(() => emu.faults.add({ operation: 'ImportKeyMaterials', kind: 'throttle' })).toThrow(/unknown KMS operation/);
    expect(() => emu.faults.add({ operation: 'ListKeys', kind: 'boom' as 'throttle' })).toThrow(/unknown kind/);
  });

  it('applies a probability (seeded randomness) and is unlimited when only a probability is given', async () => {
    let n = 0;
    const { emu, kms } = await setup({ random: () => (n++ % 2 === 0 ? 0.1 : 0.9), faults: [{ operation: 'ListKeys', kind: 'throttle', probability: 0.5 }] });
    const c = kms();
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) outcomes.push(await c.send(new ListKeysCommand({})).then(() => 'ok', () => 'T'));
    expect(outcomes).toEqual(['T', 'ok', 'T', 'ok', 'T', 'ok']);
    expect(emu.faults.list()[0]).toMatchObject({ times: Infinity, seen: 6, fired: 3 });
  });

  it('latency: the client times out, the operation still happens after the delay; close() cuts waits short', async () => {
    const { emu, kms } = await setup();
    const c = kms({ requestHandler: { requestTimeout: 150, throwOnRequestTimeout: true } });
    emu.faults.add({ operation: 'CreateKey', kind: 'latency', delayMs: 400 });
    const e = await failure(c.send(new CreateKeyCommand({ Description: 'late' })));
    expect(e.name).toBe('TimeoutError');
    for (let i = 0; i < 40 && emu.requests.length === 0; i++) await sleep(25);
    expect(emu.requests).toEqual([{ operation: 'CreateKey', region: 'us-east-1', status: 200, fault: 'latency', accountId: '111122223333', caller: 'AKIDEXAMPLE' }]);
    const keys = (await c.send(new ListKeysCommand({}))).Keys!;
    expect(keys).toHaveLength(1);

    emu.faults.add({ operation: 'ListKeys', kind: 'latency' }); // 60 s
    const stuck = c.send(new ListKeysCommand({})).catch((err: Error) => err);
    await sleep(50);
    const t = Date.now();
    await emu.close();
    expect(Date.now() - t).toBeLessThan(30_000); // not the fault's 60 s
    await stuck;
    expect(emu.requests.at(-1)).toMatchObject({ operation: 'ListKeys', status: 0, fault: 'latency' });
  });

  it('control operations program the faults from another client: InjectFault, ListFaults, ClearFaults', async () => {
    const { emu, kms } = await setup();
    const c = kms();
    const added = await control(emu, 'InjectFault', { Operation: 'ListKeys', Kind: 'throttle', Times: 2 });
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject({ FaultId: 1, Operation: 'ListKeys', Kind: 'throttle', Times: 2, Nth: 1, Seen: 0, Fired: 0 });
    expect((await failure(c.send(new ListKeysCommand({})))).name).toBe('ThrottlingException');
    expect((await control(emu, 'ListFaults', {})).json).toMatchObject({ Faults: [{ FaultId: 1, Seen: 1, Fired: 1 }] });
    expect(emu.faults.list()).toMatchObject([{ id: 1, fired: 1 }]);
    expect((await control(emu, 'ClearFaults', {})).json).toEqual({ Cleared: 1 });
    await c.send(new ListKeysCommand({}));
    const bad = await control(emu, 'InjectFault', { Operation: 'ListKeys', Kind: 'explode' });
    expect(bad.status).toBe(400);
    expect(bad.json.__type).toBe('ValidationException');
    // Controls are never faulted, throttled or delayed themselves, and are logged.
    expect(emu.requests.filter((r) => r.operation.endsWith('Faults') || r.operation === 'InjectFault').every((r) => r.fault === undefined)).toBe(true);
  });
});

describe('kms-byok emulator flags', () => {
  it('parses --fault, --latency and --quota', () => {
    expect(parseFaultFlag('ImportKeyMaterial:drop-after:1')).toEqual({ operation: 'ImportKeyMaterial', kind: 'drop-after', times: 1 });
    expect(parseFaultFlag('*:throttle:always')).toEqual({ operation: '*', kind: 'throttle', times: Infinity });
    expect(parseFaultFlag('CreateKey:latency:2:30s')).toEqual({ operation: 'CreateKey', kind: 'latency', times: 2, delayMs: 30_000 });
    expect(() => parseFaultFlag('CreateKey')).toThrow(/OPERATION:KIND/);
    expect(() => parseFaultFlag('CreateKey:boom')).toThrow(/unknown kind/);
    expect(() => parseFaultFlag('CreateKey:throttle:0')).toThrow(/TIMES/);
    expect(parseLatencyFlag('20-60ms')).toEqual({ default: [20, 60] });
    expect(parseLatencyFlag('50ms')).toEqual({ default: [50, 50] });
    expect(parseLatencyFlag('1-2s')).toEqual({ default: [1000, 2000] });
    expect(() => parseLatencyFlag('60-20ms')).toThrow(/MAX/);
    expect(() => parseLatencyFlag('fast')).toThrow(/MIN-MAXms/);
    expect(parseQuotaFlag('default')).toEqual({ quotas: 'default', quotaScale: 1 });
    expect(parseQuotaFlag('80')).toEqual({ quotas: 'default', quotaScale: 80 });
    expect(() => parseQuotaFlag('0')).toThrow(/positive/);
  });
});

describe('wrapping key pool', () => {
  it('warms to its configured size; a take from a warm pool needs no generation; a burst waits on refills instead of piling up', async () => {
    const pool = new WrappingKeyPool({}, 2);
    pool.warm(['RSA_2048']);
    expect(pool.generating).toBe(2);
    for (let i = 0; i < 200 && pool.readyCount('RSA_2048') < 2; i++) await sleep(25);
    expect(pool.readyCount('RSA_2048')).toBe(2);
    const taken = pool.take('RSA_2048');
    expect(pool.generating).toBe(1); // only the refill; the take itself was served from the pool
    expect((await taken).publicKeyDer.length).toBeGreaterThan(256);
    await pool.close();

    const cold = new WrappingKeyPool({}, 1);
    const burst = [cold.take('RSA_2048'), cold.take('RSA_2048'), cold.take('RSA_2048')];
    expect(cold.generating).toBe(4); // one per take plus one to keep ready, not 3 × (1 + 1)
    const pairs = await Promise.all(burst);
    expect(new Set(pairs.map((p) => p.privateKeyPem)).size).toBe(3);
    await cold.close();
    expect(() => new WrappingKeyPool({}, -1)).toThrow(/size/);
  });
});
