/**
 * The emulator's CloudTrail and GetKeyLastUsage, through the real SDK clients (KMS and CloudTrail on
 * the same endpoint).
 */
import { randomBytes } from 'node:crypto';
import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetKeyLastUsageCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysFrom, startTestEmulator, wrap } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';
import { admitLookup } from './trail.js';

let emu: RunningEmulator;
let kms: KMSClient;
let trail: CloudTrailClient;
const credentials = { accessKeyId: 'AKIDALICE', secretAccessKey: 'x' };

beforeAll(async () => {
  emu = await startTestEmulator();
  kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials, maxAttempts: 1 });
  // The SDK retries throttling on its own; these tests pace themselves far below 2/s only by that retry.
  trail = new CloudTrailClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials, maxAttempts: 10 });
});
afterAll(async () => {
  kms.destroy();
  trail.destroy();
  await emu.close();
});

async function importedKey(validDays?: number): Promise<string> {
  const key = await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
  const keyId = key.KeyMetadata!.KeyId!;
  const params = await kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  await kms.send(
    new ImportKeyMaterialCommand({
      KeyId: keyId,
      ImportToken: params.ImportToken,
      EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', params.PublicKey!, randomBytes(32)),
      ...(validDays ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: daysFrom(emu, validDays) } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
    }),
  );
  return keyId;
}

async function lookupAll(input: LookupEventsCommandInput) {
  const out = [];
  let token: string | undefined;
  do {
    const page = await trail.send(new LookupEventsCommand({ ...input, ...(token ? { NextToken: token } : {}) }));
    out.push(...(page.Events ?? []));
    token = page.NextToken;
  } while (token);
  return out;
}

describe('emulator CloudTrail', () => {
  it('GetKeyLastUsage: empty until a cryptographic operation, then that operation with its request and event ids', async () => {
    const keyId = await importedKey();
    const before = await kms.send(new GetKeyLastUsageCommand({ KeyId: keyId }));
    expect(before.KeyLastUsage).toBeUndefined();
    expect(before.TrackingStartDate).toBeInstanceOf(Date);
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('hello') }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    const after = await kms.send(new GetKeyLastUsageCommand({ KeyId: keyId }));
    expect(after.KeyLastUsage?.Operation).toBe('Decrypt');
    expect(after.KeyLastUsage?.KmsRequestId).toBe(dec.$metadata.requestId);
    expect(after.KeyLastUsage?.Timestamp?.getTime()).toBeLessThanOrEqual(emu.clock.now().getTime());
    // The event id names the Decrypt event in the trail.
    const [ev] = await lookupAll({ LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: after.KeyLastUsage!.CloudTrailEventId! }] });
    expect(ev?.EventName).toBe('Decrypt');
    const detail = JSON.parse(ev!.CloudTrailEvent!) as Record<string, unknown>;
    expect(detail.requestID).toBe(dec.$metadata.requestId);
    expect((detail.additionalEventData as { keyMaterialId?: string }).keyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect(detail.userIdentity).toMatchObject({ type: 'IAMUser', userName: 'AKIDALICE', accountId: '111122223333' });
  });

  it('records every request of a key, failed ones with their errorCode, and never the wrapped material or plaintext', async () => {
    const keyId = await importedKey();
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    await expect(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret-plaintext') }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    const events = await lookupAll({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: keyId }] });
    const names = events.map((e) => e.EventName);
    expect(names).toEqual(expect.arrayContaining(['CreateKey', 'GetParametersForImport', 'ImportKeyMaterial', 'ScheduleKeyDeletion', 'Encrypt']));
    // Newest first.
    expect(names[0]).toBe('Encrypt');
    const failed = JSON.parse(events[0]!.CloudTrailEvent!) as { errorCode?: string; errorMessage?: string };
    expect(failed.errorCode).toBe('KMSInvalidStateException');
    expect(failed.errorMessage).toMatch(/ is pending deletion\.$/);
    const text = events.map((e) => e.CloudTrailEvent).join('\n');
    expect(text).not.toMatch(/encryptedKeyMaterial|importToken|"plaintext"/i);
    expect(text).not.toContain(Buffer.from('secret-plaintext').toString('base64'));
    const imp = JSON.parse(events.find((e) => e.EventName === 'ImportKeyMaterial')!.CloudTrailEvent!) as { requestParameters: Record<string, unknown>; responseElements: Record<string, unknown> };
    expect(Object.keys(imp.requestParameters).sort()).toEqual(['expirationModel', 'keyId']);
    expect(imp.responseElements.keyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
  });

  it('emits DeleteExpiredKeyMaterial and DeleteKey as service events when the clock passes them', async () => {
    const expiring = await importedKey(2);
    const doomed = await importedKey();
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed, PendingWindowInDays: 7 }));
    emu.clock.advance(8 * 86_400_000);
    // Any request runs the sweep.
    await kms.send(new DescribeKeyCommand({ KeyId: expiring }));
    const expired = await lookupAll({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DeleteExpiredKeyMaterial' }] });
    const mine = expired.find((e) => e.Resources?.some((r) => r.ResourceName?.endsWith(expiring)));
    expect(mine).toBeDefined();
    expect(JSON.parse(mine!.CloudTrailEvent!)).toMatchObject({ eventType: 'AwsServiceEvent', serviceEventDetails: { keyMaterialId: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    const deleted = await lookupAll({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DeleteKey' }] });
    expect(deleted.some((e) => e.Resources?.some((r) => r.ResourceName?.endsWith(doomed)))).toBe(true);
    await expect(kms.send(new DescribeKeyCommand({ KeyId: doomed }))).rejects.toMatchObject({ name: 'NotFoundException' });
  });

  it('pages by 50 at most, binds NextToken to its query, and checks the time range', async () => {
    const first = await trail.send(new LookupEventsCommand({ MaxResults: 3 }));
    expect(first.Events).toHaveLength(3);
    expect(first.NextToken).toBeDefined();
    await expect(trail.send(new LookupEventsCommand({ MaxResults: 3, NextToken: first.NextToken, LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Encrypt' }] }))).rejects.toMatchObject({ name: 'InvalidNextTokenException' });
    await expect(trail.send(new LookupEventsCommand({ MaxResults: 51 }))).rejects.toMatchObject({ name: 'InvalidMaxResultsException' });
    const now = emu.clock.now();
    await expect(trail.send(new LookupEventsCommand({ StartTime: now, EndTime: new Date(now.getTime() - 1000) }))).rejects.toMatchObject({ name: 'InvalidTimeRangeException' });
    const future = await trail.send(new LookupEventsCommand({ StartTime: new Date(now.getTime() + 86_400_000) }));
    expect(future.Events).toEqual([]);
  });

  it('admits 2 LookupEvents per second per account and Region (token bucket, monotonic clock)', () => {
    const scope = `test/${randomBytes(4).toString('hex')}`;
    expect(admitLookup(scope, 1000)).toBe(true);
    expect(admitLookup(scope, 1000)).toBe(true);
    expect(admitLookup(scope, 1000)).toBe(false);
    expect(admitLookup(scope, 1500)).toBe(true);
    expect(admitLookup(scope, 1500)).toBe(false);
  });
});
