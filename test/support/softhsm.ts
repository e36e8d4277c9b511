/**
 * SoftHSM2 for the PKCS#11 tests (docs/hsm.md, "Tests"): a per-test SOFTHSM2_CONF and token
 * directory, a token initialised with softhsm2-util, and the TEST's own view of token keys (it reads
 * CKA_VALUE of keys the test hook made non-sensitive; the product never reads a key value).
 *
 * SoftHSM reads SOFTHSM2_CONF when C_Initialize runs, in this process for in-process CLI runs: the
 * helper sets process.env.SOFTHSM2_CONF and restores it on `close()`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODULES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so'];
export const SOFTHSM_MODULE = MODULES.find((m) => existsSync(m));

type Binding = typeof import('pkcs11js');

function loadBinding(): Binding | undefined {
  try {
    return createRequire(import.meta.url)('pkcs11js') as Binding;
  } catch {
    return undefined;
  }
}

/** Why the PKCS#11 tests cannot run here, or undefined when they can. Printed by the skipping tests. */
export function softhsmUnavailable(): string | undefined {
  if (!SOFTHSM_MODULE) return 'SoftHSM2 is not installed (apt-get install softhsm2); .ci/run installs it';
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'softhsm2-util is not on PATH';
  }
  if (!loadBinding()) return 'the pkcs11js binding cannot be loaded (npm rebuild pkcs11js with a C++ toolchain)';
  return undefined;
}

export const TEST_PIN = '4711-test-pin';
export const TEST_SO_PIN = '0815-test-so-pin';

export interface SoftHsm {
  dir: string;
  conf: string;
  module: string;
  label: string;
  /** A 0600 file holding the user PIN. */
  pinFile: string;
  /** The token's serial number. */
  serial(): string;
  /** CKA_VALUE of the token key labelled `label` (the test hook must have made it non-sensitive). */
  readValue(label: string): Buffer;
  /** Every secret-key label in the token. */
  labels(): string[];
  /** Runs `fn` with a logged-in session of the test's own (finalized afterwards). */
  withSession<T>(fn: (pk: Binding, p: InstanceType<Binding['PKCS11']>, session: Buffer) => T): T;
  close(): void;
}

/** A fresh token `label` in a fresh directory; SOFTHSM2_CONF points at it until `close()`. */
export function initSoftHsm(label = 'kms-byok-test'): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'kms-byok-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const before = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', TEST_PIN, '--so-pin', TEST_SO_PIN], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'ignore' });
  const pinFile = join(dir, 'pin.txt');
  writeFileSync(pinFile, TEST_PIN, { mode: 0o600 });
  const pk = loadBinding()!;
  const withSession = <T,>(fn: (pk: Binding, p: InstanceType<Binding['PKCS11']>, session: Buffer) => T): T => {
    const p = new pk.PKCS11();
    p.load(SOFTHSM_MODULE!);
    p.C_Initialize();
    try {
      const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === label)!;
      const session = p.C_OpenSession(slot, pk.CKF_SERIAL_SESSION | pk.CKF_RW_SESSION);
      p.C_Login(session, pk.CKU_USER, TEST_PIN);
      try {
        return fn(pk, p, session);
      } finally {
        p.C_Logout(session);
        p.C_CloseSession(session);
      }
    } finally {
      p.C_Finalize();
      p.close();
    }
  };
  const find = (pk: Binding, p: InstanceType<Binding['PKCS11']>, session: Buffer, attrs: { type: number; value: unknown }[]) => {
    p.C_FindObjectsInit(session, attrs as never);
    try {
      return p.C_FindObjects(session, 100);
    } finally {
      p.C_FindObjectsFinal(session);
    }
  };
  return {
    dir,
    conf,
    module: SOFTHSM_MODULE!,
    label,
    pinFile,
    serial: () => withSession((_pk, p) => p.C_GetTokenInfo(p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === label)!).serialNumber.trim()),
    readValue: (objectLabel) =>
      withSession((pk, p, s) => {
        const [h] = find(pk, p, s, [{ type: pk.CKA_LABEL, value: objectLabel }, { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY }]);
        if (!h) throw new Error(`no key labelled ${objectLabel}`);
        return p.C_GetAttributeValue(s, h, [{ type: pk.CKA_VALUE }])[0]!.value;
      }),
    labels: () =>
      withSession((pk, p, s) => find(pk, p, s, [{ type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY }]).map((h) => p.C_GetAttributeValue(s, h, [{ type: pk.CKA_LABEL }])[0]!.value.toString('utf8'))),
    withSession,
    close() {
      if (before === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = before;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The test hook of src/custody/pkcs11/custody.ts: keys the product generates are made non-sensitive so
 * the TEST can read CKA_VALUE. Installed in-process by tests only (or by a preloaded module in a spawned
 * CLI: test/support/pkcs11-readable-keys.mjs).
 */
const HOOK = Symbol.for('kms-byok.pkcs11-key-template');
export function installReadableKeyHook(): () => void {
  (globalThis as Record<symbol, unknown>)[HOOK] = (template: { type: number; value: unknown }[], pk: Binding) =>
    template.map((a) => (a.type === pk.CKA_SENSITIVE ? { type: a.type, value: false } : a));
  return () => {
    delete (globalThis as Record<symbol, unknown>)[HOOK];
  };
}
