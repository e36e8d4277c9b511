import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, wrap } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';
import { regionOfRequest } from './server.js';

let emu: RunningEmulator;

function client(region: string): KMSClient {
  return new KMSClient({ region, endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
}

/** A raw AWS JSON 1.1 request, as the SDK would send it (unsigned unless `authorization` is given). */
async function raw(target: string | undefined, body: string, authorization?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1' };
  if (target !== undefined) headers['x-amz-target'] = target;
  if (authorization) headers.authorization = authorization;
  const res = await fetch(emu.endpoint + '/', { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  emu = await startTestEmulator({ region: 'ap-southeast-2' });
});
afterAll(async () => {
  await emu.close();
});

describe('AWS JSON 1.1 protocol', () => {
  it('answers with application/x-amz-json-1.1, an x-amzn-RequestId and epoch-second timestamps', async () => {
    const r = await raw('TrentService.CreateKey', '{}');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const meta = r.json.KeyMetadata as Record<string, unknown>;
    expect(typeof meta.CreationDate).toBe('number');
    expect(Math.abs((meta.CreationDate as number) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('renders errors as {"__type","message"} with x-amzn-ErrorType, which the SDK reads as err.name', async () => {
    const r = await raw('TrentService.DescribeKey', '{"KeyId":"alias/none"}');
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ __type: 'NotFoundException', message: expect.stringContaining('alias/none') });
    expect(r.headers.get('x-amzn-errortype')).toBe('NotFoundException');
    expect(r.headers.get('x-amzn-requestid')).toBeTruthy();
    const kms = client('us-east-1');
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/none' }))).rejects.toMatchObject({ name: 'NotFoundException', $fault: 'client' });
    kms.destroy();
  });

  it('rejects unknown targets (UnknownOperationException), malformed JSON (SerializationException) and missing members (ValidationException)', async () => {
    expect((await raw('TrentService.MakeCoffee', '{}')).json.__type).toBe('UnknownOperationException');
    expect((await raw('TrentService.constructor', '{}')).json.__type).toBe('UnknownOperationException');
    expect((await raw('KmsByokEmulator.__proto__', '{}')).json.__type).toBe('UnknownOperationException');
    for (const id of ['constructor', '__proto__', 'toString', 'alias/constructor']) {
      expect((await raw('TrentService.EnableKey', JSON.stringify({ KeyId: id }))).json.__type, id).toBe('NotFoundException');
      expect((await raw('TrentService.DescribeKey', JSON.stringify({ KeyId: id }))).json.__type, id).toBe('NotFoundException');
    }
    expect((await raw('OtherService.CreateKey', '{}')).json.__type).toBe('UnknownOperationException');
    expect((await raw(undefined, '{}')).json.__type).toBe('UnknownOperationException');
    expect((await raw('TrentService.CreateKey', '{"Description":')).json.__type).toBe('SerializationException');
    expect((await raw('TrentService.CreateKey', '[1]')).json.__type).toBe('SerializationException');
    expect((await raw('TrentService.DescribeKey', '{"KeyId":42}')).json.__type).toBe('SerializationException');
    const missing = await raw('TrentService.DescribeKey', '{}');
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({ __type: 'ValidationException', message: "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null" });
    // The SDK names unmodelled exceptions after __type too.
    const kms = client('us-east-1');
    await expect(kms.send(new DescribeKeyCommand({} as never))).rejects.toMatchObject({ name: 'ValidationException' });
    kms.destroy();
  });

  it('accepts request timestamps (ValidTo) as integer or fractional epoch seconds', async () => {
    for (const validTo of [Math.floor(Date.now() / 1000) + 86400, Date.now() / 1000 + 86400.125]) {
      const key = (await raw('TrentService.CreateKey', '{"Origin":"EXTERNAL"}')).json.KeyMetadata as { KeyId: string };
      const p = (await raw('TrentService.GetParametersForImport', JSON.stringify({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }))).json as {
        ImportToken: string;
        PublicKey: string;
      };
      const encrypted = wrap('RSAES_OAEP_SHA_256', Buffer.from(p.PublicKey, 'base64'), randomBytes(32)).toString('base64');
      const body = `{"KeyId":"${key.KeyId}","ImportToken":"${p.ImportToken}","EncryptedKeyMaterial":"${encrypted}","ValidTo":${validTo}}`;
      expect((await raw('TrentService.ImportKeyMaterial', body)).status).toBe(200);
      const meta = (await raw('TrentService.DescribeKey', `{"KeyId":"${key.KeyId}"}`)).json.KeyMetadata as { ValidTo: number; KeyState: string };
      expect(meta.KeyState).toBe('Enabled');
      expect(meta.ValidTo).toBeCloseTo(validTo, 3);
    }
  });
});

describe('Region from the SigV4 credential scope', () => {
  it('parses the Region from the Authorization header', () => {
    expect(
      regionOfRequest('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-central-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc'),
    ).toBe('eu-central-1');
    expect(regionOfRequest('Bearer x')).toBeUndefined();
    expect(regionOfRequest(undefined)).toBeUndefined();
  });

  it('keeps keys per Region: two clients with different Regions see different key sets; unsigned requests use the default Region', async () => {
    const east = client('us-east-1');
    const west = client('us-west-2');
    const e = (await east.send(new CreateKeyCommand({}))).KeyMetadata!;
    const w = (await west.send(new CreateKeyCommand({}))).KeyMetadata!;
    expect(e.Arn).toMatch(/^arn:aws:kms:us-east-1:111122223333:key\//);
    expect(w.Arn).toMatch(/^arn:aws:kms:us-west-2:111122223333:key\//);
    const eastIds = (await east.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId);
    const westIds = (await west.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId);
    expect(eastIds).toContain(e.KeyId);
    expect(eastIds).not.toContain(w.KeyId);
    expect(westIds).toEqual([w.KeyId]);
    await expect(west.send(new DescribeKeyCommand({ KeyId: e.KeyId! }))).rejects.toMatchObject({ name: 'NotFoundException' });
    const unsigned = (await raw('TrentService.CreateKey', '{}')).json.KeyMetadata as { Arn: string };
    expect(unsigned.Arn).toMatch(/^arn:aws:kms:ap-southeast-2:/);
    expect(emu.requests.filter((r) => r.operation === 'CreateKey').map((r) => r.region)).toEqual(
      expect.arrayContaining(['us-east-1', 'us-west-2', 'ap-southeast-2']),
    );
    east.destroy();
    west.destroy();
  });
});

describe('request log and clock control', () => {
  it('logs every request with operation, Region, status, the account it acted in and the signing access key id', async () => {
    const before = emu.requests.length;
    await raw('TrentService.DescribeKey', '{}');
    await raw('TrentService.ListKeys', '{}', 'AWS4-HMAC-SHA256 Credential=A/20260101/sa-east-1/kms/aws4_request, SignedHeaders=host, Signature=x');
    expect(emu.requests.slice(before)).toEqual([
      { operation: 'DescribeKey', region: 'ap-southeast-2', status: 400, accountId: '111122223333' },
      { operation: 'ListKeys', region: 'sa-east-1', status: 200, accountId: '111122223333', caller: 'A' },
    ]);
  });

  it('KmsByokEmulator.AdvanceClock moves the emulator clock; GetClock reads it', async () => {
    const t0 = (await raw('KmsByokEmulator.GetClock', '{}')).json.Now as number;
    expect(Math.abs(t0 * 1000 - emu.clock.now().getTime())).toBeLessThan(2_000);
    const r = await raw('KmsByokEmulator.AdvanceClock', '{"Seconds": 86400}');
    expect(r.status).toBe(200);
    expect((r.json.Now as number) - t0).toBeGreaterThanOrEqual(86400);
    expect((r.json.Now as number) - t0).toBeLessThan(86400 + 2);
    expect((await raw('KmsByokEmulator.AdvanceClock', '{"Seconds":"soon"}')).json.__type).toBe('ValidationException');
    expect((await raw('KmsByokEmulator.Explode', '{}')).json.__type).toBe('UnknownOperationException');
    emu.clock.set(new Date('2030-01-01T00:00:00Z'));
    expect(Math.abs(((await raw('KmsByokEmulator.GetClock', '{}')).json.Now as number) - Date.parse('2030-01-01T00:00:00Z') / 1000)).toBeLessThan(2);
  });
});
