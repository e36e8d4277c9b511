/**
 * Lifecycle ceremonies wrap with the pair recorded for the key at onboard, so a key policy that admits
 * only that pair (kms-byok policy --wrapping-algorithm … --wrapping-key-spec …) keeps admitting the
 * re-imports; --wrapping-algorithm / --wrapping-key-spec override it, names are checked before any KMS
 * request (exit 2), and a pair the key's spec cannot use is refused once the key is described.
 *
 * What KMS was asked for is read off the wire: a loopback proxy sees each GetParametersForImport
 * answer, whose public key's size is the WrappingKeySpec KMS was asked for.
 */
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { startRewritingProxy } from './rewriting-proxy.js';

let ws: Workspace;
let proxy: { endpoint: string; close(): Promise<void> };
let alice: { path: string; recipient: string };
const wrappingKeyBits: number[] = [];

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  proxy = await startRewritingProxy(
    () => ws.emu.endpoint,
    (operation, body) => {
      if (operation === 'GetParametersForImport') {
        const key = createPublicKey({ key: Buffer.from(String(body.PublicKey), 'base64'), format: 'der', type: 'spki' });
        wrappingKeyBits.push(key.asymmetricKeyDetails?.modulusLength ?? 0);
      }
      return undefined;
    },
  );
});
afterAll(async () => {
  await proxy.close();
  await ws.close();
});

const target = () => ['--endpoint-url', proxy.endpoint, '--region', 'us-east-1'];
const escrow = () => ['--escrow-dir', ws.path('escrow'), '--identity', alice.path];

describe('the wrapping of lifecycle ceremonies', () => {
  it('reimport uses the pair recorded at onboard, and --wrapping-key-spec overrides it', async () => {
    const on = await run(['onboard', ...target(), '--yes', '--json', '--alias', 'alias/wrap3072', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow'), '--wrapping-algorithm', 'RSAES_OAEP_SHA_1', '--wrapping-key-spec', 'RSA_3072', '--expires-in', '30d']);
    expect(on.code, on.stderr).toBe(0);
    expect(wrappingKeyBits.at(-1)).toBe(3072);

    const recorded = await run(['reimport', 'alias/wrap3072', ...target(), ...escrow(), '--expires-in', '60d']);
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(wrappingKeyBits.at(-1)).toBe(3072);

    const overridden = await run(['reimport', 'alias/wrap3072', ...target(), ...escrow(), '--expires-in', '60d', '--wrapping-key-spec', 'RSA_2048']);
    expect(overridden.code, overridden.stderr).toBe(0);
    expect(wrappingKeyBits.at(-1)).toBe(2048);
  });

  it('a misspelt wrapping name is exit 2 before any KMS request', async () => {
    const before = operations(ws.emu).length;
    const r = await run(['reimport', 'alias/wrap3072', ...target(), ...escrow(), '--expires-in', '60d', '--wrapping-algorithm', 'RSAES_OAEP_SHA_512']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RSAES_OAEP_SHA_512/);
    expect(operations(ws.emu).length).toBe(before);
  });

  it('a pair the key spec cannot use is refused once the key is described (exit 1, nothing imported)', async () => {
    const on = await run(['onboard', ...target(), '--yes', '--json', '--alias', 'alias/wraprsa', '--key-spec', 'RSA_2048', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d']);
    expect(on.code, on.stderr).toBe(0);
    const before = operations(ws.emu).filter((o) => o === 'ImportKeyMaterial').length;
    const r = await run(['reimport', 'alias/wraprsa', ...target(), ...escrow(), '--expires-in', '60d', '--wrapping-algorithm', 'RSAES_OAEP_SHA_256']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERR_WRAPPING_NOT_ALLOWED/);
    expect(r.stderr).toMatch(/drop --wrapping-algorithm/);
    expect(operations(ws.emu).filter((o) => o === 'ImportKeyMaterial').length).toBe(before);
  });
});
