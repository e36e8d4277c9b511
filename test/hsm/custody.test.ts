/**
 * The PKCS#11 custody on SoftHSM2 (docs/hsm.md): check values computed in the token equal the
 * software ones for the same bytes, wrapping inside the token unwraps (node:crypto, independent of the
 * product) to the token's key, and what SoftHSM 2.6 cannot do is refused naming what it can.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { constants, createDecipheriv, generateKeyPairSync, privateDecrypt, type KeyObject } from 'node:crypto';
import { SecretBytes } from '../../src/core/secret.js';
import { checkValue } from '../../src/material/check-value.js';
import { openToken, Pkcs11Custody, type OpenToken } from '../../src/custody/pkcs11/index.js';
import type { ImportParameters } from '../../src/kms/port.js';
import type { WrappingAlgorithm } from '../../src/core/aws-names.js';
import { initSoftHsm, installReadableKeyHook, softhsmUnavailable, TEST_PIN, type SoftHsm } from '../support/softhsm.js';

const unavailable = softhsmUnavailable();
if (unavailable) console.log(`skipping the PKCS#11 custody tests: ${unavailable}`);

const pin = () => SecretBytes.copyOf(Buffer.from(TEST_PIN));

describe.skipIf(unavailable !== undefined)('PKCS#11 custody on SoftHSM2', () => {
  let hsm: SoftHsm;
  let token: OpenToken | undefined;
  let uninstall: (() => void) | undefined;
  let rsa: { publicKey: KeyObject; privateKey: KeyObject };

  beforeEach(() => {
    hsm = initSoftHsm('custody');
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  });
  afterEach(() => {
    uninstall?.();
    uninstall = undefined;
    token?.close();
    token = undefined;
    hsm.close();
  });

  const open = async () => {
    token = await openToken(hsm.module, { token: 'custody' }, pin());
    return new Pkcs11Custody(token);
  };
  const params = (alg: WrappingAlgorithm): ImportParameters => ({
    KeyId: 'k',
    PublicKey: new Uint8Array(rsa.publicKey.export({ format: 'der', type: 'spki' })),
    ImportToken: new Uint8Array(1),
    ParametersValidTo: new Date(Date.now() + 3600_000),
    WrappingAlgorithm: alg,
    WrappingKeySpec: 'RSA_2048',
  });
  const oaep = (data: Uint8Array, hash: string) => privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);

  it('the token-computed cmac-aes and ecb-aes check values equal the software ones for the same bytes', async () => {
    uninstall = installReadableKeyHook();
    const custody = await open();
    const ref = custody.generate('kcv-probe', Uint8Array.from([1]), 'SYMMETRIC_DEFAULT');
    token!.close();
    token = undefined;
    const value = hsm.readValue('kcv-probe');
    const software = SecretBytes.copyOf(value);
    expect(ref.checkValues).toEqual([checkValue(software, 'SYMMETRIC_DEFAULT', 'cmac-aes'), checkValue(software, 'SYMMETRIC_DEFAULT', 'ecb-aes')]);
    expect(ref.checkValues[0]).not.toBe(ref.checkValues[1]!.replace('ecb', 'cmac'));
  });

  it('the token-computed HMAC check value equals the software one', async () => {
    uninstall = installReadableKeyHook();
    const custody = await open();
    const ref = custody.generate('hmac-probe', Uint8Array.from([2]), 'HMAC_256');
    token!.close();
    token = undefined;
    const value = hsm.readValue('hmac-probe');
    expect(value.length).toBe(32);
    expect(ref.checkValues).toEqual([checkValue(SecretBytes.copyOf(value), 'HMAC_256')]);
  });

  it('RSAES_OAEP_SHA_1 wraps the token key directly; RSA_AES_KEY_WRAP_SHA_1 through an ephemeral AES key (RFC 5649)', async () => {
    uninstall = installReadableKeyHook();
    const custody = await open();
    const ref = custody.generate('wrap-probe', Uint8Array.from([3]), 'SYMMETRIC_DEFAULT');
    const direct = custody.wrap(ref, params('RSAES_OAEP_SHA_1'), 'SYMMETRIC_DEFAULT');
    // The composition, as ImportKeyMaterial expects it: RSA-OAEP(ephemeral AES-256) ‖ KWP(target). KMS takes
    // RSA_AES_KEY_WRAP for asymmetric material only (which the token does not generate yet): this proves
    // the token's composition on an AES key; the ceremony refuses the pairing itself (assertCanWrap).
    const composed = custody.wrap(ref, params('RSA_AES_KEY_WRAP_SHA_1'), 'SYMMETRIC_DEFAULT');
    token!.close();
    token = undefined;
    const value = hsm.readValue('wrap-probe');
    expect(oaep(direct, 'sha1').equals(value)).toBe(true);
    const ephemeral = oaep(composed.subarray(0, 256), 'sha1');
    expect(ephemeral.length).toBe(32);
    const unwrapped = createDecipheriv('id-aes256-wrap-pad', ephemeral, Buffer.from('A65959A6', 'hex')).update(composed.subarray(256));
    expect(unwrapped.equals(value)).toBe(true);
  });

  it('SHA-256 OAEP: used where the token reports it, refused before any KMS call naming what it can otherwise', async () => {
    const custody = await open();
    const can = custody.wrappingsFor('SYMMETRIC_DEFAULT');
    expect(can).toContain('RSAES_OAEP_SHA_1');
    if (can.includes('RSAES_OAEP_SHA_256')) {
      const ref = custody.generate('sha256-probe', Uint8Array.from([4]), 'SYMMETRIC_DEFAULT');
      const wrapped = custody.wrap(ref, params('RSAES_OAEP_SHA_256'), 'SYMMETRIC_DEFAULT');
      expect(wrapped.length).toBe(256);
      return;
    }
    let err: { code?: string; message?: string; hint?: string; exitCode?: number } = {};
    try {
      custody.assertCanWrap('SYMMETRIC_DEFAULT', { WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096' });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('ERR_PKCS11_MECHANISM');
    expect(err.message).toContain('refuses SHA-256');
    expect(err.hint).toContain('RSAES_OAEP_SHA_1');
    expect(err.exitCode).toBe(2);
  });

  it('a non-extractable key is refused with ERR_PKCS11_NOT_EXTRACTABLE; a taken label with ERR_PKCS11_OBJECT_EXISTS', async () => {
    uninstall = installReadableKeyHook();
    (globalThis as Record<symbol, unknown>)[Symbol.for('kms-byok.pkcs11-key-template')] = (t: { type: number; value: unknown }[], pk: { CKA_EXTRACTABLE: number }) =>
      t.map((a) => (a.type === pk.CKA_EXTRACTABLE ? { type: a.type, value: false } : a));
    const custody = await open();
    const ref = custody.generate('stuck', Uint8Array.from([5]), 'SYMMETRIC_DEFAULT');
    expect(() => custody.wrap(ref, params('RSAES_OAEP_SHA_1'), 'SYMMETRIC_DEFAULT')).toThrow(expect.objectContaining({ code: 'ERR_PKCS11_NOT_EXTRACTABLE' }));
    expect(() => custody.assertLabelFree('stuck')).toThrow(expect.objectContaining({ code: 'ERR_PKCS11_OBJECT_EXISTS', exitCode: 2 }));
  });
});
