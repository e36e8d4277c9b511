/**
 * RSA and EC key pairs generated in the token (docs/hsm.md, "Key pairs") on SoftHSM2 and the emulator:
 * the private key is wrapped inside the token with the ephemeral-AES composition
 * (RSA_AES_KEY_WRAP_SHA_1 on SoftHSM), and KMS then holds the token's pair — the emulator's
 * GetPublicKey (derived from the private key it unwrapped) equals the public key the TEST reads from
 * the token with its own session. Key specs the token cannot produce are refused before any KMS call.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { initSoftHsm, softhsmUnavailable, type SoftHsm } from '../support/softhsm.js';

const unavailable = softhsmUnavailable();
if (unavailable) console.log(`skipping the PKCS#11 key-pair tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('key pairs generated in the token (SoftHSM2)', () => {
  let hsm: SoftHsm;
  let ws: Workspace;
  beforeEach(async () => {
    hsm = initSoftHsm('pairs');
    ws = await workspace();
  });
  afterEach(async () => {
    await ws.close();
    hsm.close();
  });

  const custody = () => ['--custody', 'pkcs11', '--pkcs11-uri', 'pkcs11:token=pairs', '--pkcs11-module', hsm.module, '--pin-file', hsm.pinFile, '--escrow-dir', ws.path('escrow'), ...ws.target];

  /** The token's public key labelled `label`, as SPKI DER, read by the test's own session. */
  const tokenPublicKey = (label: string): Buffer =>
    hsm.withSession((pk, p, s) => {
      p.C_FindObjectsInit(s, [{ type: pk.CKA_LABEL, value: label }, { type: pk.CKA_CLASS, value: pk.CKO_PUBLIC_KEY }]);
      const [h] = p.C_FindObjects(s, 2);
      p.C_FindObjectsFinal(s);
      const [type] = p.C_GetAttributeValue(s, h!, [{ type: pk.CKA_KEY_TYPE }]);
      if (type!.value.readUInt32LE(0) === pk.CKK_RSA) {
        const [n, e] = p.C_GetAttributeValue(s, h!, [{ type: pk.CKA_MODULUS }, { type: pk.CKA_PUBLIC_EXPONENT }]);
        return createPublicKey({ key: { kty: 'RSA', n: n!.value.toString('base64url'), e: e!.value.toString('base64url') }, format: 'jwk' }).export({ format: 'der', type: 'spki' });
      }
      const [params, point] = p.C_GetAttributeValue(s, h!, [{ type: pk.CKA_EC_PARAMS }, { type: pk.CKA_EC_POINT }]);
      const crv = params!.value.toString('hex') === '06082a8648ce3d030107' ? 'P-256' : 'P-384';
      const q = point!.value.subarray(point!.value.length - (crv === 'P-256' ? 65 : 97));
      const half = (q.length - 1) / 2;
      return createPublicKey({ key: { kty: 'EC', crv, x: q.subarray(1, 1 + half).toString('base64url'), y: q.subarray(1 + half).toString('base64url') }, format: 'jwk' }).export({ format: 'der', type: 'spki' });
    });

  for (const spec of ['RSA_2048', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384'] as const) {
    it(`${spec}: generated in the token, wrapped there with RSA_AES_KEY_WRAP_SHA_1; KMS holds the token's pair; verify, reimport and status pass`, async () => {
      const onboard = await run(['onboard', '--yes', '--no-expiry', '--json', '--key-spec', spec, ...custody()], { cwd: ws.dir });
      expect(onboard.code, onboard.stderr).toBe(0);
      const doc = onboard.json<{ keyId: string; checkValues: string[]; wrappingAlgorithm: string; verified: string }>();
      expect(doc.wrappingAlgorithm).toBe('RSA_AES_KEY_WRAP_SHA_1');
      const tokenSpki = tokenPublicKey(doc.keyId);
      const kmsSpki = Buffer.from((await ws.kms.send(new GetPublicKeyCommand({ KeyId: doc.keyId }))).PublicKey!);
      expect(kmsSpki.equals(tokenSpki)).toBe(true);
      expect(doc.checkValues).toEqual([`spki-sha256:${createHash('sha256').update(tokenSpki).digest('hex').toUpperCase()}`]);
      expect(doc.verified).toContain("GetPublicKey equals the token's public key");
      // EC pairs sign (SIGN_VERIFY): KMS's signature of a random message verifies with the token's public key.
      if (spec.startsWith('ECC')) expect(doc.verified).toMatch(/; ECDSA_SHA_(256|384) signature from KMS verifies locally$/);
      // The text form shows the readable check value (its first 3 bytes).
      expect(onboard.stderr).not.toContain('ERR_');

      const verify = await run(['verify', doc.keyId, ...custody()], { cwd: ws.dir });
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stdout).toContain(`spki-sha256-3:${doc.checkValues[0]!.slice('spki-sha256:'.length, 'spki-sha256:'.length + 6)}`);
      const reimport = await run(['reimport', doc.keyId, '--expires-in', '90d', ...custody()], { cwd: ws.dir });
      expect(reimport.code, reimport.stderr).toBe(0);
      const status = await run(['status', doc.keyId, '--escrow-dir', ws.path('escrow'), ...ws.target], { cwd: ws.dir });
      expect(status.code, status.stdout + status.stderr).toBe(0);
      expect(status.stdout).toContain('pkcs11 ok');
    }, 120_000);
  }

  it('a key spec the token cannot generate for KMS is refused before any KMS call, naming what it can', async () => {
    const r = await run(['onboard', '--yes', '--no-expiry', '--key-spec', 'ECC_NIST_P521', ...custody()], { cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PKCS11_MECHANISM');
    expect(r.stderr).toContain('--custody pkcs11 cannot generate ECC_NIST_P521 keys: of the EC curves, only ECC_NIST_P256 and ECC_NIST_P384 can be generated in a token');
    expect(r.stderr).toContain('RSA_4096');
    const oaep = await run(['onboard', '--yes', '--no-expiry', '--key-spec', 'ECC_NIST_P256', '--wrapping-algorithm', 'RSAES_OAEP_SHA_1', ...custody()], { cwd: ws.dir });
    expect(oaep.code).toBe(2);
    expect(operations(ws.emu)).toEqual([]);
    expect(hsm.labels()).toEqual([]);
  });
});
