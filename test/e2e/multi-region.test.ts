/**
 * Multi-Region (docs/lifecycle.md): restore --new-key as a multi-Region primary with two replicas, each holding
 * the escrowed material; then an in-place rotation in AWS's order (NEW into the primary, EXISTING into
 * every replica, RotateKeyOnDemand on the primary).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { onboardKey } from './lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
const REPLICAS = ['eu-west-1', 'ap-southeast-2'];
const clients: KMSClient[] = [];

function client(region: string): KMSClient {
  const c = new KMSClient({ region, endpoint: ws.emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await ws?.close();
});

describe('multi-Region', () => {
  let mrk: { keyId: string; replicas: { region: string; keyState: string }[] };
  let ct: Uint8Array;

  it('restore --new-key --multi-region creates a primary, replicates it to two Regions and imports the same material into each', async () => {
    const old = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    const r = await run([
      'restore', '--new-key', '--yes', '--escrow', old.escrow.path, '--identity', alice.path, '--no-expiry', '--multi-region',
      ...REPLICAS.flatMap((x) => ['--replica-region', x]), ...ws.target, '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ciphertexts of the old key do NOT decrypt under the new key/);
    mrk = r.json();
    expect(mrk.keyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(mrk.replicas).toEqual(REPLICAS.map((region) => expect.objectContaining({ region, keyState: 'Enabled' })));
    // The same material everywhere: a ciphertext from the primary decrypts in each replica Region.
    ct = (await ws.kms.send(new EncryptCommand({ KeyId: mrk.keyId, Plaintext: Buffer.from('everywhere') }))).CiphertextBlob!;
    for (const region of REPLICAS) {
      const back = await client(region).send(new DecryptCommand({ CiphertextBlob: ct }));
      expect(Buffer.from(back.Plaintext!).toString()).toBe('everywhere');
    }
  });

  it('rotate --in-place imports NEW into the primary, EXISTING into every replica, then RotateKeyOnDemand', async () => {
    const before = ws.emu.requests.length;
    const r = await run(['rotate', mrk.keyId, '--in-place', '--yes', '--no-expiry', '--escrow-dir', ws.path('escrow'), '--identity', alice.path, ...ws.target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ keyMaterialId: string; replicas: { region: string }[] }>();
    expect(out.replicas).toEqual(REPLICAS.map((region) => ({ region })));
    const ops = operations(ws.emu).slice(before);
    const imports = ops.map((op, i) => (op === 'ImportKeyMaterial' ? i : -1)).filter((i) => i >= 0);
    expect(imports).toHaveLength(3);
    expect(ops.indexOf('RotateKeyOnDemand')).toBeGreaterThan(imports[2]!);
    for (const region of REPLICAS) {
      const d = await client(region).send(new DescribeKeyCommand({ KeyId: mrk.keyId }));
      expect(d.KeyMetadata!.CurrentKeyMaterialId).toBe(out.keyMaterialId);
      expect(Buffer.from((await client(region).send(new DecryptCommand({ CiphertextBlob: ct }))).Plaintext!).toString()).toBe('everywhere');
    }
  });

  it('reimport of the primary renews the materials in every replica Region too', async () => {
    const validTo = new Date(ws.emu.clock.now().getTime() + 60 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const r = await run(['reimport', mrk.keyId, '--valid-to', validTo, '--escrow-dir', ws.path('escrow'), '--identity', alice.path, ...ws.target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ materials: { reimported: boolean }[]; replicas: { region: string; materials: { reimported: boolean }[] }[] }>();
    expect(out.materials.map((m) => m.reimported)).toEqual([true, true]);
    expect(out.replicas.map((x) => x.region)).toEqual(REPLICAS);
    for (const region of REPLICAS) {
      const d = await client(region).send(new DescribeKeyCommand({ KeyId: mrk.keyId }));
      expect(d.KeyMetadata!.ValidTo!.toISOString()).toBe(new Date(validTo).toISOString());
    }
  });
});
