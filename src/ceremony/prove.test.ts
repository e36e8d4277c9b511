/**
 * proveImported over stub ports: which KMS calls the proof after a re-import makes, and what it
 * reports when the round trip fails — states the emulator cannot reach between an import and its
 * proof (a key disabled in between). The sequence on an Enabled key and a Disabled key through the
 * emulator: test/e2e/lifecycle.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KmsByokError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import type { KeyInfo, KmsPort } from '../kms/port.js';
import { STUB_KEY } from './ceremony.test.helpers.js';
import { proveImported } from './prove.js';

const KEY: KeyInfo = STUB_KEY;

/** A port that records calls; `encrypt` and `describeKey` as given, `decrypt` echoes what was encrypted. */
function port(o: { encrypt?: () => Promise<Uint8Array>; describeKey?: () => Promise<KeyInfo>; decryptOther?: boolean }) {
  const calls: string[] = [];
  let last: Uint8Array = new Uint8Array();
  const kms = {
    region: 'us-east-1',
    async describeKey() {
      calls.push('describeKey');
      return o.describeKey ? o.describeKey() : KEY;
    },
    async encrypt(_id: string, plaintext: Uint8Array) {
      calls.push('encrypt');
      last = plaintext;
      return o.encrypt ? o.encrypt() : new Uint8Array([1, 2, 3]);
    },
    async decrypt() {
      calls.push('decrypt');
      return o.decryptOther ? randomBytes(32) : last;
    },
  } as unknown as KmsPort;
  return { kms, calls };
}

const material = () => SecretBytes.copyOf(randomBytes(32));
const disabled = new KmsByokError('ERR_KMS_DISABLED', 'Encrypt failed: key is disabled');

describe('proveImported', () => {
  it('an Enabled (or PendingImport) symmetric key: the round trip alone, and the key reported Enabled', async () => {
    for (const state of ['Enabled', 'PendingImport'] as const) {
      const { kms, calls } = port({});
      const r = await proveImported(kms, { ...KEY, KeyState: state, Enabled: state === 'Enabled' }, material());
      expect(calls).toEqual(['encrypt', 'decrypt']);
      expect(r.key).toMatchObject({ KeyState: 'Enabled', Enabled: true, KeyId: KEY.KeyId });
      expect(r.proof.method).toBe('encrypt-decrypt');
    }
  });

  it('a key in another state before the import (Disabled, Updating) is described first, as proveAndDescribe does', async () => {
    const { kms, calls } = port({ describeKey: async () => ({ ...KEY, KeyState: 'Disabled', Enabled: false }) });
    await expect(proveImported(kms, { ...KEY, KeyState: 'Updating' }, material())).rejects.toMatchObject({ code: 'ERR_VERIFY_FAILED', message: expect.stringMatching(/is Disabled, expected Enabled/) });
    expect(calls).toEqual(['describeKey']);
  });

  it('a round trip that fails on a key disabled since the import: described, and reported as not Enabled', async () => {
    const { kms, calls } = port({ encrypt: async () => Promise.reject(disabled), describeKey: async () => ({ ...KEY, KeyState: 'Disabled', Enabled: false }) });
    await expect(proveImported(kms, KEY, material())).rejects.toMatchObject({ code: 'ERR_VERIFY_FAILED', message: expect.stringMatching(/is Disabled, expected Enabled/) });
    expect(calls).toEqual(['encrypt', 'describeKey']);
  });

  it('a round trip that fails on a key still Enabled, or whose description fails too: the round trip\'s own error', async () => {
    const unreachable = new KmsByokError('ERR_KMS_UNREACHABLE', 'Encrypt: no answer');
    const enabled = port({ encrypt: async () => Promise.reject(unreachable) });
    await expect(proveImported(enabled.kms, KEY, material())).rejects.toBe(unreachable);
    expect(enabled.calls).toEqual(['encrypt', 'describeKey']);
    const blind = port({ encrypt: async () => Promise.reject(unreachable), describeKey: async () => Promise.reject(new KmsByokError('ERR_KMS_UNREACHABLE', 'DescribeKey: no answer')) });
    await expect(proveImported(blind.kms, KEY, material())).rejects.toBe(unreachable);
  });

  it('a round trip that returns other bytes: ERR_VERIFY_FAILED at once, nothing described', async () => {
    const { kms, calls } = port({ decryptOther: true });
    await expect(proveImported(kms, KEY, material())).rejects.toMatchObject({ code: 'ERR_VERIFY_FAILED', message: expect.stringMatching(/round trip returned other bytes/) });
    expect(calls).toEqual(['encrypt', 'decrypt']);
  });
});
