import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';

let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startTestEmulator({ region: 'eu-west-1' });
});
afterAll(async () => {
  await emu.close();
});

describe('STS over the AWS Query protocol (the real SDK client)', () => {
  it('GetCallerIdentity names the emulator account and the signing access key as the caller', async () => {
    const sts = new STSClient({ region: 'eu-west-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDCUSTODIAN1', secretAccessKey: 'x' }, maxAttempts: 1 });
    const id = await sts.send(new GetCallerIdentityCommand({}));
    expect(id.Account).toMatch(/^\d{12}$/);
    expect(id.Arn).toBe(`arn:aws:iam::${id.Account}:user/AKIDCUSTODIAN1`);
    expect(id.UserId).toBe('AKIDCUSTODIAN1');
    expect(id.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(emu.requests.at(-1)).toMatchObject({ operation: 'GetCallerIdentity', region: 'eu-west-1', status: 200 });
  });

  it('an unknown Action is an error document the SDK parses, not a JSON body', async () => {
    const res = await fetch(emu.endpoint + '/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=MakeCoffee&Version=2011-06-15' });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('<Code>UnknownOperationException</Code>');
    expect(text).toContain(`<RequestId>${res.headers.get('x-amzn-requestid')}</RequestId>`);
  });
});
