/**
 * Bad input with --custody pkcs11 (docs/hsm.md, "Tokens, PINs and errors"): each is a stable ERR_*
 * code, exit 2, and nothing reaches KMS (the emulator saw no request).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { initSoftHsm, softhsmUnavailable, type SoftHsm } from '../support/softhsm.js';

const unavailable = softhsmUnavailable();
if (unavailable) console.log(`skipping the PKCS#11 bad-input tests: ${unavailable}`);

describe('--custody pkcs11 flags without a token', () => {
  it('refuses --pin on the command line before anything else, without echoing it', async () => {
    const r = await run(['onboard', '--yes', '--no-expiry', '--custody', 'pkcs11', '--pin', '123456', '--emulator']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_USAGE');
    expect(r.stderr).toContain('--pin-file');
    expect(r.stderr).not.toContain('123456');
  });

  it('refuses PKCS#11 flags without --custody pkcs11, and an unknown custody', async () => {
    const a = await run(['verify', 'k', '--pkcs11-uri', 'pkcs11:token=x', '--emulator']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--pkcs11-uri needs --custody pkcs11');
    const c = await run(['onboard', '--yes', '--no-expiry', '--also-escrow', '--recipient', 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p', '--emulator']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('--also-escrow needs --custody pkcs11');
    const b = await run(['verify', 'k', '--custody', 'vault', '--emulator']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('unknown --custody');
  });
});

describe.skipIf(unavailable !== undefined)('--custody pkcs11 bad input on SoftHSM2', () => {
  let hsm: SoftHsm;
  let ws: Workspace;
  beforeEach(async () => {
    hsm = initSoftHsm('badinput');
    ws = await workspace();
  });
  afterEach(async () => {
    await ws.close();
    hsm.close();
  });
  const onboard = (extra: string[], uri = 'pkcs11:token=badinput') =>
    run(['onboard', '--yes', '--no-expiry', '--custody', 'pkcs11', '--pkcs11-uri', uri, '--pkcs11-module', hsm.module, '--escrow-dir', ws.path('escrow'), ...ws.target, ...extra], { cwd: ws.dir });

  it('a wrong PIN: CKR_PIN_INCORRECT with the lockout flags, not retried, exit 2', async () => {
    const pinFile = ws.path('wrong-pin');
    writeFileSync(pinFile, 'not-the-pin', { mode: 0o600 });
    const r = await onboard(['--pin-file', pinFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PKCS11_PIN_INCORRECT');
    expect(r.stderr).toContain('CKR_PIN_INCORRECT');
    // SoftHSM 2.6 sets CKF_USER_PIN_COUNT_LOW after a wrong PIN.
    expect(r.stderr).toContain('lockout flags now: CKF_USER_PIN_COUNT_LOW');
    expect(r.stderr).not.toContain('not-the-pin');
    expect(operations(ws.emu)).toEqual([]);
  });

  it('without --pin-file the PIN is read from the terminal (and a wrong one is reported, not retried); without a terminal it is asked for', async () => {
    const prompted = await run(['onboard', '--yes', '--no-expiry', '--custody', 'pkcs11', '--pkcs11-uri', 'pkcs11:token=badinput', '--pkcs11-module', hsm.module, '--escrow-dir', ws.path('escrow'), ...ws.target], { cwd: ws.dir, interactive: true, stdin: 'typed-wrong-pin\n' });
    expect(prompted.stderr).toContain('PIN for token badinput: ');
    expect(prompted.code).toBe(2);
    expect(prompted.stderr).toContain('ERR_PKCS11_PIN_INCORRECT');
    expect(prompted.stderr).not.toContain('typed-wrong-pin');
    const noTerminal = await run(['onboard', '--yes', '--no-expiry', '--custody', 'pkcs11', '--pkcs11-uri', 'pkcs11:token=badinput', '--pkcs11-module', hsm.module, '--escrow-dir', ws.path('escrow'), ...ws.target], { cwd: ws.dir });
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('--pin-file');
    expect(operations(ws.emu)).toEqual([]);
  });

  it('a PIN file others can read is refused (ERR_INSECURE_FILE)', async () => {
    const pinFile = ws.path('open-pin');
    writeFileSync(pinFile, 'x');
    chmodSync(pinFile, 0o644);
    const r = await onboard(['--pin-file', pinFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_INSECURE_FILE');
    expect(operations(ws.emu)).toEqual([]);
  });

  it('a token that is not present, a module that is not PKCS#11', async () => {
    const absent = await onboard(['--pin-file', hsm.pinFile], 'pkcs11:token=nosuchtoken');
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain('ERR_PKCS11_TOKEN_NOT_PRESENT');
    const notModule = ws.path('not-a-module.so');
    writeFileSync(notModule, 'hello');
    const r = await run(['onboard', '--yes', '--no-expiry', '--custody', 'pkcs11', '--pkcs11-uri', 'pkcs11:token=badinput', '--pkcs11-module', notModule, '--pin-file', hsm.pinFile, '--escrow-dir', ws.path('escrow'), ...ws.target], { cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PKCS11_MODULE');
    expect(operations(ws.emu)).toEqual([]);
  });

  it('a wrapping the token cannot do, and a label that exists, are refused before any KMS request', async () => {
    const sha256 = await onboard(['--pin-file', hsm.pinFile, '--wrapping-algorithm', 'RSAES_OAEP_SHA_256']);
    expect(sha256.code).toBe(2);
    expect(sha256.stderr).toContain('ERR_PKCS11_MECHANISM');
    expect(sha256.stderr).toContain('RSAES_OAEP_SHA_1');
    hsm.withSession((pk, p, s) =>
      p.C_GenerateKey(s, { mechanism: pk.CKM_AES_KEY_GEN }, [
        { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
        { type: pk.CKA_VALUE_LEN, value: 32 },
        { type: pk.CKA_TOKEN, value: true },
        { type: pk.CKA_LABEL, value: 'taken' },
      ]),
    );
    const taken = await onboard(['--pin-file', hsm.pinFile], 'pkcs11:token=badinput;object=taken');
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('ERR_PKCS11_OBJECT_EXISTS');
    expect(operations(ws.emu)).toEqual([]);
  });

  it('material or escrow flags do not combine with HSM custody', async () => {
    const r = await onboard(['--pin-file', hsm.pinFile, '--recipient', 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_INVALID_COMBINATION');
    expect(r.stderr).toContain('--also-escrow');
    expect(operations(ws.emu)).toEqual([]);
  });

  it('--also-escrow without custodians is refused before the token or KMS is touched', async () => {
    const r = await onboard(['--pin-file', hsm.pinFile, '--also-escrow']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_MISSING_INPUT');
    expect(r.stderr).toContain('--recipient');
    expect(operations(ws.emu)).toEqual([]);
    expect(hsm.labels()).toEqual([]);
    const bad = await onboard(['--pin-file', hsm.pinFile, '--also-escrow', '--recipient', 'age1notarecipient']);
    expect(bad.code).toBe(2);
    expect(operations(ws.emu)).toEqual([]);
    expect(hsm.labels()).toEqual([]);
  });
});
