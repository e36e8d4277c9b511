/**
 * The SDK adapter through the real KMSClient: against the emulator for every port call, and against
 * a loopback server that answers like a broken endpoint, to prove responses are validated.
 */
import { createServer, type Server } from 'node:http';
import { getEventListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAGES, createAwsKms } from './aws.js';
import type { KmsCallGate, KmsPort } from './port.js';
import { startTestEmulator, wrap } from '../emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../emulator/index.js';
import { KmsByokError } from '../core/errors.js';
import { randomBytes, createHmac } from 'node:crypto';

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };
let emu: RunningEmulator;
let kms: KmsPort;

beforeAll(async () => {
  emu = await startTestEmulator();
  kms = await createAwsKms({ endpoint: emu.endpoint, region: 'eu-west-1', credentials, maxAttempts: 1 });
});
afterAll(async () => emu?.close());

async function importedSymmetricKey(multiRegion = false): Promise<{ keyId: string; material: Buffer }> {
  const key = await kms.createKey({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', MultiRegion: multiRegion });
  const material = randomBytes(32);
  const p = await kms.getParametersForImport(key.KeyId, { WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
  await kms.importKeyMaterial({ KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
  return { keyId: key.KeyId, material };
}

describe('createAwsKms against the emulator', () => {
  it('reports the configured Region and parses account and Region from ARNs', async () => {
    expect(kms.region).toBe('eu-west-1');
    const key = await kms.createKey({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'd' });
    expect(key).toMatchObject({ KeyState: 'PendingImport', Origin: 'EXTERNAL', Region: 'eu-west-1', Enabled: false, Description: 'd' });
    expect(key.AccountId).toMatch(/^\d{12}$/);
    expect((await kms.listKeys())).toContain(key.KeyId);
  });

  it('imports, lists materials, encrypts and decrypts, and echoes the wrapping beside the token', async () => {
    const { keyId } = await importedSymmetricKey();
    const rotations = await kms.listKeyRotations(keyId);
    expect(rotations).toHaveLength(1);
    expect(rotations[0]).toMatchObject({ ImportState: 'IMPORTED', KeyMaterialState: 'CURRENT', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    const ct = await kms.encrypt(keyId, Buffer.from('x'));
    expect(Buffer.from(await kms.decrypt(keyId, ct)).toString()).toBe('x');
    const p = await kms.getParametersForImport(keyId, { WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_3072' });
    expect([p.WrappingAlgorithm, p.WrappingKeySpec]).toEqual(['RSAES_OAEP_SHA_1', 'RSA_3072']);
    expect(p.ParametersValidTo.getTime() - emu.clock.now().getTime()).toBeGreaterThan(23 * 3600_000);
  });

  it('aliases: create, list, update', async () => {
    const a = await importedSymmetricKey();
    const b = await importedSymmetricKey();
    await kms.createAlias('alias/adapter', a.keyId);
    expect((await kms.describeKey('alias/adapter')).KeyId).toBe(a.keyId);
    await kms.updateAlias('alias/adapter', b.keyId);
    expect((await kms.listAliases(b.keyId)).map((x) => x.AliasName)).toEqual(['alias/adapter']);
  });

  it('GenerateMac equals a local HMAC of the imported material', async () => {
    const key = await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const material = randomBytes(32);
    const p = await kms.getParametersForImport(key.KeyId, { WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    await kms.importKeyMaterial({ KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    const mac = await kms.generateMac(key.KeyId, Buffer.from('m'), 'HMAC_SHA_256');
    expect(Buffer.from(mac).equals(createHmac('sha256', material).update('m').digest())).toBe(true);
  });

  it('rotates on demand and replicates into another Region through forRegion', async () => {
    const { keyId } = await importedSymmetricKey(true);
    const replica = await kms.replicateKey(keyId, 'us-west-2');
    expect(replica).toMatchObject({ Region: 'us-west-2', KeyState: 'PendingImport', KeyId: keyId });
    const west = await kms.forRegion('us-west-2');
    expect(west.region).toBe('us-west-2');
    expect((await west.describeKey(keyId)).Region).toBe('us-west-2');
    const single = await importedSymmetricKey();
    await expect(kms.rotateKeyOnDemand(single.keyId)).rejects.toBeInstanceOf(KmsByokError);
  });

  it('tags a key, overwrites a value and lists every tag across pages (ListResourceTags pages by 50)', async () => {
    const key = await kms.createKey({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Tags: [{ TagKey: 'created', TagValue: 'c' }] });
    expect(await kms.listResourceTags(key.KeyId)).toEqual([{ TagKey: 'created', TagValue: 'c' }]);
    const many = Array.from({ length: 49 }, (_, i) => ({ TagKey: `t${i}`, TagValue: i % 2 ? `v${i}` : '' }));
    await kms.tagResource(key.Arn, many);
    await kms.tagResource(key.KeyId, [{ TagKey: 'created', TagValue: 'overwritten' }]);
    // A key holds at most 50 tags, one default page: paging across pages is exercised against the scripted endpoint below.
    expect(await kms.listResourceTags(key.Arn)).toEqual([{ TagKey: 'created', TagValue: 'overwritten' }, ...many]);
    await expect(kms.tagResource(key.KeyId, [{ TagKey: 'one-too-many', TagValue: '' }])).rejects.toMatchObject({ code: 'ERR_KMS_LIMIT' });
    await expect(kms.tagResource(key.KeyId, [{ TagKey: 'aws:reserved', TagValue: '' }])).rejects.toMatchObject({ code: 'ERR_KMS_VALIDATION', message: expect.stringMatching(/^TagResource: /) });
    await expect(kms.listResourceTags('alias/not-a-key-id')).rejects.toMatchObject({ code: 'ERR_KMS_NOT_FOUND' });
  });

  it('maps service exceptions to ERR_KMS_* codes', async () => {
    await expect(kms.describeKey('alias/missing')).rejects.toMatchObject({ code: 'ERR_KMS_NOT_FOUND' });
    const key = await kms.createKey({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' });
    await expect(kms.encrypt(key.KeyId, Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_KMS_INVALID_STATE' });
  });
});

describe('createAwsKms against a broken endpoint', () => {
  let server: Server;
  let endpoint: string;
  let answer: unknown;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(typeof answer === 'function' ? (answer as () => unknown)() : answer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('refuses a CreateKey answer without KeyMetadata, a bad ARN, or an unknown key state', async () => {
    const broken = await createAwsKms({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    const input = { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' } as const;
    answer = {};
    await expect(broken.createKey(input)).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE', message: 'CreateKey: unexpected response: KeyMetadata missing' });
    answer = { KeyMetadata: { KeyId: 'k', Arn: 'not-an-arn', KeyState: 'PendingImport', Origin: 'EXTERNAL' } };
    await expect(broken.createKey(input)).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE' });
    answer = { KeyMetadata: { KeyId: 'k', Arn: 'arn:aws:kms:us-east-1:111122223333:key/k', KeyState: 'Sleeping', Origin: 'EXTERNAL' } };
    await expect(broken.createKey(input)).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE', message: expect.stringContaining('KeyState "Sleeping"') });
  });

  it('refuses import parameters without a public key, and a malformed KeyMaterialId', async () => {
    const broken = await createAwsKms({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    answer = { KeyId: 'k', ImportToken: 'AAAA', ParametersValidTo: 1900000000 };
    await expect(broken.getParametersForImport('k', { WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096' })).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE', message: expect.stringContaining('PublicKey missing') });
    answer = { KeyId: 'k', KeyMaterialId: 'XYZ' };
    await expect(broken.importKeyMaterial({ KeyId: 'k', ImportToken: new Uint8Array(1), EncryptedKeyMaterial: new Uint8Array(1), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE' });
  });

  it('follows ListResourceTags pages, and refuses malformed tags, a repeated marker, a truncated page without a marker and endless paging', async () => {
    const broken = await createAwsKms({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    let page = 0;
    answer = () => (++page < 3 ? { Tags: [{ TagKey: `k${page}`, TagValue: '' }], Truncated: true, NextMarker: `m${page}` } : { Tags: [{ TagKey: 'last', TagValue: 'v' }], Truncated: false });
    expect(await broken.listResourceTags('k')).toEqual([{ TagKey: 'k1', TagValue: '' }, { TagKey: 'k2', TagValue: '' }, { TagKey: 'last', TagValue: 'v' }]);
    answer = { Tags: [{ TagKey: '', TagValue: 'v' }], Truncated: false };
    await expect(broken.listResourceTags('k')).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE', message: expect.stringContaining('TagKey') });
    answer = { Tags: [{ TagKey: 'k', TagValue: 'x'.repeat(257) }], Truncated: false };
    await expect(broken.listResourceTags('k')).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE', message: expect.stringContaining('TagValue') });
    answer = { Tags: [], Truncated: true, NextMarker: 'same' };
    await expect(broken.listResourceTags('k')).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE', message: expect.stringContaining('repeated') });
    answer = { Tags: [], Truncated: true };
    await expect(broken.listResourceTags('k')).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE', message: expect.stringContaining('without NextMarker') });
    page = 0;
    answer = () => ({ Tags: [], Truncated: true, NextMarker: `m${++page}` });
    await expect(broken.listResourceTags('k')).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE', message: expect.stringContaining('after 1000 pages') });
    expect(page).toBe(1000);
  });
});

describe('paging and the call gate', () => {
  let server: Server;
  let endpoint: string;
  let listed = 0;
  beforeAll(async () => {
    // Every ListKeys answer is Truncated with a marker never seen before: only the page cap stops it.
    server = createServer((_req, res) => {
      listed++;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ Keys: [], Truncated: true, NextMarker: `m${listed}` }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it(`stops paging past ${MAX_PAGES} pages with ERR_KMS_BAD_RESPONSE`, async () => {
    const endless = await createAwsKms({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    listed = 0;
    await expect(endless.listKeys()).rejects.toMatchObject({ code: 'ERR_KMS_BAD_RESPONSE', message: expect.stringContaining(`after ${MAX_PAGES} pages`) });
    expect(listed).toBe(MAX_PAGES);
  }, 60_000);

  it('a stopped gate refuses to start any call, and names the operation', async () => {
    const stop = new AbortController();
    const gate: KmsCallGate = {
      stop: stop.signal,
      abandon: new AbortController().signal,
      begin: () => () => {},
      cancelled: (operation, how) => new KmsByokError('ERR_CANCELLED', `${how} ${operation}`),
    };
    const gated = await createAwsKms({ endpoint: emu.endpoint, region: 'eu-west-1', credentials, maxAttempts: 1, gate });
    const before = emu.requests.length;
    expect((await gated.listKeys()).length).toBeGreaterThanOrEqual(0);
    stop.abort();
    await expect(gated.createKey({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' })).rejects.toMatchObject({ code: 'ERR_CANCELLED', message: 'not-started CreateKey' });
    await expect(gated.describeKey('k')).rejects.toMatchObject({ code: 'ERR_CANCELLED', message: 'not-started DescribeKey' });
    expect(emu.requests.length - before, 'only the ListKeys before the stop reached KMS').toBe(emu.requests.filter((r, i) => i >= before && r.operation === 'ListKeys').length);
  });

  it('each attempt\'s listener on the gate\'s signals is removed when its answer has been read: a long run does not pile them up', async () => {
    const stop = new AbortController();
    const abandon = new AbortController();
    const gate: KmsCallGate = { stop: stop.signal, abandon: abandon.signal, begin: () => () => {}, cancelled: (operation, how) => new KmsByokError('ERR_CANCELLED', `${how} ${operation}`) };
    const { keyId } = await importedSymmetricKey();
    for (const attempts of [1, 3]) {
      const gated = await createAwsKms({ endpoint: emu.endpoint, region: 'eu-west-1', credentials, maxAttempts: attempts, gate });
      for (let i = 0; i < 20; i++) {
        await gated.describeKey(keyId);
        await gated.decrypt(keyId, await gated.encrypt(keyId, randomBytes(16)));
      }
      // The body's 'close' (which disarms the attempt) follows the last byte on the next ticks.
      await new Promise((r) => setTimeout(r, 50));
      expect(getEventListeners(stop.signal, 'abort'), `maxAttempts ${attempts}`).toHaveLength(0);
      expect(getEventListeners(abandon.signal, 'abort'), `maxAttempts ${attempts}`).toHaveLength(0);
    }
  });
});
