/**
 * Honest status and verify (docs/architecture.md, "Honest status"): what KMS did although its answer was
 * lost is reported as unconfirmed — not missing, not tampering — and `verify` confirms and records it;
 * a key that cannot be read is a row with its error, never the end of the report; a ValidTo KMS omits
 * but the escrow recorded counts; escrows of keys the target does not list are reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { startRewritingProxy } from './rewriting-proxy.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

const onboard = (dir: string, extra: string[] = []) => run(['onboard', ...ws.target, '--yes', '--json', '--recipient', alice.recipient, '--escrow-dir', ws.path(dir), ...extra]);

describe('an import whose answer was lost', () => {
  it('status calls it unconfirmed and names verify; verify confirms and records it; status is then clean', async () => {
    ws.emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'drop-after', times: 1_000 });
    const first = await onboard('escrow-lost', ['--no-expiry']);
    ws.emu.faults.clear();
    expect(first.code).toBe(1);
    expect(first.stderr).not.toMatch(/nothing was changed/i);
    expect(first.stderr).toMatch(/is unknown/);
    const keyId = /created key (\S+)/.exec(first.stderr)![1]!;
    // KMS did import: the key holds one material the sidecar cannot name yet.
    const listed = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(listed.Rotations?.map((m) => m.ImportState)).toEqual(['IMPORTED']);

    const st = await run(['status', keyId, ...ws.target, '--escrow-dir', ws.path('escrow-lost'), '--json']);
    expect(st.code).toBe(3);
    const row = st.json<{ keys: { escrowCheck: { unconfirmed?: string[]; problem?: string }; attention: string[] }[] }>().keys[0]!;
    expect(row.escrowCheck.unconfirmed).toEqual([listed.Rotations![0]!.KeyMaterialId]);
    expect(row.escrowCheck.problem).toBeUndefined();
    expect(row.attention.join('\n')).toMatch(/not yet confirmed .* kms-byok verify/);
    const table = await run(['status', keyId, ...ws.target, '--escrow-dir', ws.path('escrow-lost')]);
    expect(table.stdout).toMatch(/v1 UNCONFIRMED/);

    const v = await run(['verify', keyId, ...ws.target, '--escrow-dir', ws.path('escrow-lost'), '--identity', alice.path]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/KMS confirmed it is [0-9a-f]{64} .*recorded in the sidecar/);
    const again = await run(['status', keyId, ...ws.target, '--escrow-dir', ws.path('escrow-lost')]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/v1 ok/);
  });
});

describe('partial failure is reported, not hidden', () => {
  it('one key whose ListKeyRotations fails is a row with its error; the other keys are reported; Prometheus says so', async () => {
    const a = await onboard('escrow-partial', ['--no-expiry']);
    const b = await onboard('escrow-partial', ['--no-expiry']);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const bad = a.json<{ keyId: string }>().keyId;
    const good = b.json<{ keyId: string }>().keyId;
    // Every attempt of the first key's ListKeyRotations fails (the SDK retries 3 times).
    ws.emu.faults.add({ operation: 'ListKeyRotations', kind: 'internal', times: 3 });
    const r = await run(['status', bad, good, ...ws.target, '--escrow-dir', ws.path('escrow-partial'), '--json']);
    ws.emu.faults.clear();
    expect(r.code).toBe(3);
    const keys = r.json<{ keys: { keyId: string; error?: { code: string }; escrowCheck: { matches: boolean } }[] }>().keys;
    expect(keys.map((k) => k.keyId)).toEqual([bad, good]);
    expect(keys[0]!.error?.code).toBe('ERR_KMS_INTERNAL');
    expect(keys[1]!.error).toBeUndefined();
    expect(keys[1]!.escrowCheck.matches).toBe(true);

    ws.emu.faults.add({ operation: 'ListKeyRotations', kind: 'internal', times: 3 });
    const prom = await run(['status', bad, good, ...ws.target, '--escrow-dir', ws.path('escrow-partial'), '--format', 'prometheus']);
    ws.emu.faults.clear();
    expect(prom.code).toBe(0);
    expect(prom.stdout).toContain(`kms_byok_key_readable{key_id="${bad}",region="us-east-1",error="ERR_KMS_INTERNAL"} 0`);
    expect(prom.stdout).toContain(`kms_byok_key_readable{key_id="${good}",region="us-east-1"} 1`);
  });

  it('escrows of keys the target does not list are attention in a listing run (no false all-clear)', async () => {
    const k = await onboard('escrow-elsewhere', ['--no-expiry']);
    expect(k.code, k.stderr).toBe(0);
    // The same escrow directory seen from another Region's emulator: it lists no key at all.
    const other = await workspace('eu-west-1');
    try {
      // The escrow's manifest names us-east-1: point a us-east-1 target that lists nothing at it.
      const r = await run(['status', '--endpoint-url', other.emu.endpoint, '--region', 'us-east-1', '--escrow-dir', ws.path('escrow-elsewhere'), '--json']);
      expect(r.code).toBe(3);
      const rows = r.json<{ keys: { keyId: string; keyState: string; attention: string[] }[] }>().keys;
      expect(rows).toEqual([expect.objectContaining({ keyId: k.json<{ keyId: string }>().keyId, keyState: 'NotListed' })]);
      expect(rows[0]!.attention[0]).toMatch(/does not list/);
    } finally {
      await other.close();
    }
  });
});

describe('a ValidTo the escrow recorded but KMS omits', () => {
  let proxy: Awaited<ReturnType<typeof startRewritingProxy>>;
  let endpoint: string;
  beforeAll(async () => {
    // A loopback proxy that strips ValidTo from every answer: what an emulator cannot produce.
    const strip = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(strip) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'ValidTo').map(([k, x]) => [k, strip(x)])) : v;
    proxy = await startRewritingProxy(() => ws.emu.endpoint, (_operation, body) => strip(body) as Record<string, unknown>);
    endpoint = proxy.endpoint;
  });
  afterAll(() => proxy?.close());

  it('status counts it (attention, not "never expires") and reimport --before treats it as due', async () => {
    const k = await onboard('escrow-validto', ['--expires-in', '10d']);
    expect(k.code, k.stderr).toBe(0);
    const keyId = k.json<{ keyId: string }>().keyId;
    const st = await run(['status', keyId, '--endpoint-url', endpoint, '--region', 'us-east-1', '--escrow-dir', ws.path('escrow-validto'), '--json']);
    expect(st.code).toBe(3);
    const row = st.json<{ keys: { validTo?: string; daysLeft?: number; attention: string[] }[] }>().keys[0]!;
    expect(row.validTo).toBeDefined();
    expect(row.daysLeft).toBeLessThanOrEqual(10);
    expect(row.attention.join('\n')).toMatch(/reports no ValidTo .* counted as expiring then/);
    const re = await run(['reimport', keyId, '--endpoint-url', endpoint, '--region', 'us-east-1', '--escrow-dir', ws.path('escrow-validto'), '--identity', alice.path, '--before', '30d', '--expires-in', '90d', '--json']);
    expect(re.code, re.stderr).toBe(0);
    expect(re.json<{ action: string }>().action).toBe('reimported');
  });
});
