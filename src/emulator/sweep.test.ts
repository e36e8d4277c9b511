/**
 * The sweep runs only when it can find something (lifecycle.ts, Sweeper): these tests hold it to the
 * deadlines — expiry, deletion, token lifetime — when nothing but sweep-neutral requests come between,
 * and to the "a changing request makes the next one sweep" half on a state built by hand.
 */
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand, GetParametersForImportCommand, ImportKeyMaterialCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, wrap } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';
import { Sweeper, sweep } from './lifecycle.js';
import { emptyState, type EmulatorState, type KeyRecord } from './state.js';

const HOUR = 3600_000;
let base = Date.parse('2031-03-01T00:00:00Z');
let emu: RunningEmulator;
let kms: KMSClient;

beforeAll(async () => {
  emu = await startTestEmulator({ now: () => new Date(base) });
  kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
});
afterAll(async () => {
  kms.destroy();
  await emu.close();
});

async function importedKey(validTo: Date): Promise<string> {
  const KeyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
  const p = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  await kms.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: p.ImportToken!, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey!, randomBytes(32)), ValidTo: validTo }));
  return KeyId;
}

const state = async (KeyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState;

describe('the sweep, through the SDK, with only sweep-neutral requests between deadlines', () => {
  it('expires material at ValidTo to the millisecond, not before, and the key refuses Encrypt', async () => {
    const KeyId = await importedKey(new Date(base + HOUR));
    const plain = new TextEncoder().encode('x');
    expect(await state(KeyId)).toBe('Enabled');
    base += HOUR - 1;
    expect(await state(KeyId)).toBe('Enabled');
    await kms.send(new EncryptCommand({ KeyId, Plaintext: plain }));
    base += 1;
    expect(await state(KeyId)).toBe('PendingImport');
    await expect(kms.send(new EncryptCommand({ KeyId, Plaintext: plain }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
  });

  it('forgets an import token a day after its ParametersValidTo ("invalid" from then on)', async () => {
    // Its own emulator: no other deadline (another test's token or material) may make it sweep.
    let now = base;
    const own = await startTestEmulator({ now: () => new Date(now) });
    const client = new KMSClient({ region: 'us-east-1', endpoint: own.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
    try {
      const KeyId = (await client.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
      const p = await client.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const attempt = () => client.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: p.ImportToken!, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey!, randomBytes(32)), ValidTo: new Date(now + 30 * 24 * HOUR) }));
      // Only the token's own deadline, reported by GetParametersForImport, can make these sweep (a
      // failed import would make the next request sweep anyway: "expired" is import.test.ts's case).
      now = p.ParametersValidTo!.getTime() + 24 * HOUR;
      expect((await client.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState).toBe('PendingImport');
      now += 1;
      await expect(attempt()).rejects.toMatchObject({ name: 'InvalidImportTokenException' });
    } finally {
      client.destroy();
      await own.close();
    }
  });

  it('deletes a key when its DeletionDate passes', async () => {
    const KeyId = await importedKey(new Date(base + 30 * 24 * HOUR));
    const out = await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
    expect(await state(KeyId)).toBe('PendingDeletion');
    base = out.DeletionDate!.getTime() - 1;
    expect(await state(KeyId)).toBe('PendingDeletion');
    base += 1;
    await expect(kms.send(new DescribeKeyCommand({ KeyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
  });
});

function keyWithMaterial(validTo: number): KeyRecord {
  return {
    keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', region: 'us-east-1', accountId: '111122223333', creationDate: 0, description: '',
    keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', origin: 'EXTERNAL', keyState: 'Enabled', multiRegion: false, policy: '{}', tags: [],
    materials: [{ keyMaterialId: 'a'.repeat(64), material: 'AAAA', importState: 'IMPORTED', materialState: 'CURRENT', expirationModel: 'KEY_MATERIAL_EXPIRES', validTo }],
    onDemandRotations: 0,
  } as KeyRecord;
}

describe('Sweeper', () => {
  function setUp(validTo: number): { s: EmulatorState; key: KeyRecord; sweeper: Sweeper } {
    const s = emptyState();
    const key = keyWithMaterial(validTo);
    s.regions['us-east-1'] = { keys: { [key.keyId]: key }, aliases: {} } as EmulatorState['regions'][string];
    return { s, key, sweeper: new Sweeper(s) };
  }

  it('skips while nothing changed and nothing is due, and sweeps after a changing request', () => {
    const { key, sweeper } = setUp(10_000);
    sweeper.beforeRequest(0); // the first request always sweeps: it learns the deadline (10 000)
    // A change the sweep would act on, made behind the Sweeper's back: a neutral request does not look.
    key.materials[0]!.validTo = 5;
    sweeper.afterHandler('kms', 'DescribeKey', true);
    sweeper.beforeRequest(6);
    expect(key.materials[0]!.importState).toBe('IMPORTED');
    // A request that may change the state (as ImportKeyMaterial does when it fails) makes the next one sweep.
    sweeper.afterHandler('kms', 'ImportKeyMaterial', false);
    sweeper.beforeRequest(6);
    expect(key.materials[0]!.importState).toBe('PENDING_IMPORT');
    expect(key.keyState).toBe('PendingImport');
  });

  it('treats a request of another service or an emulator control as a change', () => {
    for (const [service, operation] of [['other', 'AdvanceClock'], ['other', 'AssumeRole'], ['kms', 'NoSuchOperation']] as const) {
      const { key, sweeper } = setUp(10_000);
      sweeper.beforeRequest(0);
      key.materials[0]!.validTo = 5;
      sweeper.afterHandler(service, operation, true);
      sweeper.beforeRequest(6);
      expect(key.materials[0]!.importState, `${service} ${operation}`).toBe('PENDING_IMPORT');
    }
  });

  it('sweep reports the earliest deadline ahead: a material, a deletion, a token (kept a day past its ParametersValidTo)', () => {
    const { s, key } = setUp(50_000);
    expect(sweep(s, 0).nextDueMs).toBe(50_000);
    key.keyState = 'PendingDeletion';
    key.deletionDate = 40_000;
    expect(sweep(s, 0).nextDueMs).toBe(40_000);
    s.tokens.t = { region: 'us-east-1', keyId: key.keyId, wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKeySpec: 'RSA_2048', privateKeyPem: '', parametersValidTo: -24 * HOUR + 1_000 };
    expect(sweep(s, 0)).toEqual({ changed: false, nextDueMs: 1_001 });
    expect(sweep(s, 1_001)).toEqual({ changed: true, nextDueMs: 40_000 });
    expect(s.tokens.t).toBeUndefined();
  });
});
