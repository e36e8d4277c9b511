import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { daysFrom, startTestEmulator, wrap } from './emulator.test.helpers.js';
import { startEmulator, type RunningEmulator } from './index.js';
import { parseState, serialiseState, emptyState } from './state.js';
import { WrappingKeyPool } from './wrapping-pool.js';

const dir = mkdtempSync(join(tmpdir(), 'kms-byok-emulator-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function client(emu: RunningEmulator, region = 'us-east-1'): KMSClient {
  return new KMSClient({ region, endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
}

describe('state file', () => {
  it('persists keys, materials, aliases, import tokens and the clock offset across two emulator instances', async () => {
    const stateFile = join(dir, 'state.json');
    const material = randomBytes(32);

    const first = await startTestEmulator({ stateFile });
    const kms1 = client(first, 'eu-west-1');
    const keyId = (await kms1.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Description: 'persisted' }))).KeyMetadata!.KeyId!;
    await kms1.send(new CreateAliasCommand({ AliasName: 'alias/persisted', TargetKeyId: keyId }));
    const p = await kms1.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_3072' }));
    first.clock.advance(3_600_000);
    const movedTo = first.clock.now().getTime();
    kms1.destroy();
    await first.close();

    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // A second process: the token from the first one still imports, and the clock kept its offset.
    const second = await startTestEmulator({ stateFile });
    expect(Math.abs(second.clock.now().getTime() - movedTo)).toBeLessThan(5_000);
    const kms2 = client(second, 'eu-west-1');
    expect((await kms2.send(new DescribeKeyCommand({ KeyId: 'alias/persisted' }))).KeyMetadata).toMatchObject({ KeyId: keyId, Description: 'persisted', KeyState: 'PendingImport' });
    await kms2.send(
      new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.ImportToken!, EncryptedKeyMaterial: wrap('RSA_AES_KEY_WRAP_SHA_256', p.PublicKey!, material), ValidTo: daysFrom(second, 5) }),
    );
    const ct = await kms2.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('across processes') }));
    kms2.destroy();
    await second.close();

    const third = await startTestEmulator({ stateFile });
    const kms3 = client(third, 'eu-west-1');
    const pt = await kms3.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob! }));
    expect(Buffer.from(pt.Plaintext!).toString()).toBe('across processes');
    // The clock control endpoint moves a clock that later processes see (a multi-process rehearsal).
    const res = await fetch(third.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'KmsByokEmulator.AdvanceClock' },
      body: JSON.stringify({ Seconds: 6 * 86400 }),
    });
    expect(res.status).toBe(200);
    kms3.destroy();
    await third.close();

    const fourth = await startTestEmulator({ stateFile });
    const kms4 = client(fourth, 'eu-west-1');
    expect((await kms4.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('PendingImport'); // ValidTo (5 days) passed
    kms4.destroy();
    await fourth.close();

    const saved = parseState(readFileSync(stateFile, 'utf8'));
    expect(saved.regions['eu-west-1']!.keys[keyId]!.materials[0]!.material).toBeUndefined(); // expired material keeps no bytes
  });

  it('answers 500 KMSInternalException when something unexpected breaks (here: corrupt key material in the state file)', async () => {
    const stateFile = join(dir, 'corrupt.json');
    const state = emptyState();
    state.regions['us-east-1'] = {
      keys: {
        'corrupt-key': {
          keyId: 'corrupt-key',
          region: 'us-east-1',
          accountId: '111122223333',
          creationDate: Date.now(),
          description: '',
          keySpec: 'RSA_2048',
          keyUsage: 'SIGN_VERIFY',
          origin: 'AWS_KMS',
          keyState: 'Enabled',
          multiRegion: false,
          policy: '{}',
          tags: [],
          materials: [{ keyMaterialId: 'c'.repeat(64), material: 'AAAA', importState: 'IMPORTED', materialState: 'CURRENT' }],
          onDemandRotations: 0,
        },
      },
      aliases: {},
    };
    writeFileSync(stateFile, serialiseState(state));
    const emu = await startEmulator({ stateFile });
    const kms = client(emu);
    try {
      await expect(kms.send(new GetPublicKeyCommand({ KeyId: 'corrupt-key' }))).rejects.toMatchObject({ name: 'KMSInternalException', $fault: 'server' });
      expect(emu.requests.at(-1)).toEqual({ operation: 'GetPublicKey', region: 'us-east-1', status: 500, accountId: '111122223333', caller: 'AKIDEXAMPLE' });
    } finally {
      kms.destroy();
      await emu.close();
    }
  });

  it('refuses a state file that is not an emulator state', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"version": 7}');
    await expect(startEmulator({ stateFile: bad })).rejects.toThrow(/unsupported version/);
    expect(parseState(serialiseState(emptyState()))).toEqual(emptyState());
  });
});

describe('clock', () => {
  it('reads the injected base clock (now option) plus the controllable offset', async () => {
    let base = Date.parse('2030-01-01T00:00:00Z');
    const emu = await startTestEmulator({ now: () => new Date(base) });
    const kms = client(emu);
    const created = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.CreationDate!;
    expect(created.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    base += 1000;
    emu.clock.advance(60_000);
    expect(emu.clock.now().toISOString()).toBe('2030-01-01T00:01:01.000Z');
    emu.clock.set(new Date('2031-06-01T00:00:00Z'));
    expect((await kms.send(new CreateKeyCommand({}))).KeyMetadata!.CreationDate!.toISOString()).toBe('2031-06-01T00:00:00.000Z');
    kms.destroy();
    await emu.close();
  });
});

describe('wrapping key pool', () => {
  it('generates RSA wrapping keys when none are seeded, different for each call, and close() leaves nothing running', async () => {
    const emu = await startEmulator({ wrappingKeys: {} });
    const kms = client(emu);
    const keyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    const keys = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const p = await kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      expect(createPublicKey({ key: Buffer.from(p.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength).toBe(2048);
      keys.add(Buffer.from(p.PublicKey!).toString('base64'));
    }
    expect(keys.size).toBe(3);
    kms.destroy();
    await emu.close();
    await emu.close(); // idempotent
    expect(process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap')).toEqual([]);
  });

  it('refills in the background after each take, and close() waits for generations in flight', async () => {
    const pool = new WrappingKeyPool({}, 1);
    await pool.take('RSA_2048'); // generated on demand; one refill starts
    while (pool.generating > 0) await new Promise((r) => setTimeout(r, 10));
    const next = pool.take('RSA_2048'); // served from the refilled pool: only the next refill is generating
    expect(pool.generating).toBe(1);
    expect((await next).publicKeyDer.length).toBeGreaterThan(256);
    await pool.close();
    expect(pool.generating).toBe(0);
    await expect(pool.take('RSA_2048')).rejects.toThrow(/closed/);

    const busy = new WrappingKeyPool({}, 2);
    const pending = busy.take('RSA_2048'); // one on demand plus two refills, all under way
    expect(busy.generating).toBe(3);
    await busy.close();
    expect(busy.generating).toBe(0);
    await pending;
  });

  it('refuses a seed that does not match its spec', async () => {
    const pem = readFileSync(new URL('../../fixtures/wrapping-keys/TEST-ONLY-rsa-2048-a.pem', import.meta.url), 'utf8');
    await expect(startEmulator({ wrappingKeys: { RSA_4096: [pem] } })).rejects.toThrow(/RSA-4096/);
  });
});
