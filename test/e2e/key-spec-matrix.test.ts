/**
 * The key-spec matrix: for every importable key spec and every (WrappingAlgorithm, WrappingKeySpec) pair
 * the table allows, an onboard ceremony against the emulator succeeds and its post-import proof
 * passes; every pair the table refuses is refused before any KMS request. RSA material comes from the
 * committed test-only RSA keys via --material-file (generating RSA-4096 per case would dominate).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORTABLE_KEY_SPECS, importableKeySpecInfo, keySpecInfo } from '../../src/material/key-specs.js';
import { KEY_SPECS } from '../../src/core/aws-names.js';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

let ws: Workspace;
let recipient: string;
beforeAll(async () => {
  ws = await workspace();
  recipient = (await custodian(ws.path('alice.txt'))).recipient;
});
afterAll(async () => ws?.close());

const RSA_MATERIAL: Record<string, string> = {
  RSA_2048: 'fixtures/wrapping-keys/TEST-ONLY-rsa-2048-a.pem',
  RSA_3072: 'fixtures/wrapping-keys/TEST-ONLY-rsa-3072-a.pem',
  RSA_4096: 'fixtures/wrapping-keys/TEST-ONLY-rsa-4096-a.pem',
};

function onboardArgs(spec: string, alg: string, wks: string): string[] {
  return [
    'onboard', ...ws.target, '--yes', '--json', '--no-expiry', '--recipient', recipient, '--escrow-dir', ws.path('escrow'),
    '--key-spec', spec, '--wrapping-algorithm', alg, '--wrapping-key-spec', wks,
    ...(RSA_MATERIAL[spec] ? ['--material-file', RSA_MATERIAL[spec]!] : []),
  ];
}

const EXPECTED_PROOF: Record<string, string> = { symmetric: 'encrypt-decrypt', hmac: 'generate-mac', rsa: 'public-key+sign', ecc: 'public-key+sign' };

describe('every allowed (key spec, wrapping algorithm, wrapping key spec) onboards and proves', () => {
  for (const spec of IMPORTABLE_KEY_SPECS) {
    const info = importableKeySpecInfo(spec);
    it(`${spec}: ${info.wrappings.length} allowed pairs`, async () => {
      expect(info.wrappings.length).toBeGreaterThan(0);
      for (const w of info.wrappings) {
        const r = await run(onboardArgs(spec, w.algorithm, w.wrappingKeySpec));
        expect(r.code, `${spec} ${w.algorithm} ${w.wrappingKeySpec}: ${r.stderr}`).toBe(0);
        const out = r.json<{ keySpec: string; keyUsage: string; checkValue: string; wrappingAlgorithm: string; verified: { method: string } }>();
        expect(out.keySpec).toBe(spec);
        expect(out.keyUsage).toBe(info.defaultKeyUsage);
        expect(out.wrappingAlgorithm).toBe(w.algorithm);
        expect(out.verified.method).toBe(EXPECTED_PROOF[info.kind]);
        expect(out.checkValue).toMatch(/^(cmac-aes|hmac-sha(224|256|384|512)|spki-sha256):[0-9A-F]+$/);
      }
    });
  }
});

describe('every refused pair is refused before any KMS request', () => {
  for (const spec of IMPORTABLE_KEY_SPECS) {
    const info = importableKeySpecInfo(spec);
    if (info.refusedWrappings.length === 0) continue;
    it(`${spec}: ${info.refusedWrappings.length} refused pairs`, async () => {
      for (const w of info.refusedWrappings) {
        const before = operations(ws.emu).length;
        const r = await run(onboardArgs(spec, w.algorithm, w.wrappingKeySpec));
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain('kms-byok: code: ERR_INVALID_COMBINATION');
        expect(r.stderr).toMatch(/kms-byok: hint: .*(RSAES_OAEP|RSA_AES_KEY_WRAP)/);
        expect(operations(ws.emu).length, `${spec} ${w.algorithm} ${w.wrappingKeySpec} reached KMS`).toBe(before);
      }
    });
  }

  it('key specs AWS does not import are refused with the reason, before any request', async () => {
    const refused = KEY_SPECS.filter((s) => !keySpecInfo(s).importable);
    expect(refused.length).toBeGreaterThan(0);
    for (const spec of refused) {
      const before = operations(ws.emu).length;
      const r = await run(['onboard', ...ws.target, '--yes', '--no-expiry', '--recipient', recipient, '--escrow-dir', ws.path('escrow'), '--key-spec', spec]);
      expect(r.code, `${spec}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/kms-byok: error: .+/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(operations(ws.emu).length).toBe(before);
    }
  });
});
