/**
 * The workspace of an HSM-custody ceremony test: a fresh SoftHSM2 token, the emulator with a state
 * file (so the test reads what KMS holds from the emulator's own unwrap), a temporary directory with
 * a custodian identity, and the tests' readable-key hook — created before and removed after each test
 * of the calling `describe`. Fields are replaced before every test: read them through the returned
 * object inside tests, never copy them at describe time.
 */
import { afterEach, beforeEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodian } from '../e2e/identities.js';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { initSoftHsm, installReadableKeyHook, type SoftHsm } from '../support/softhsm.js';

export interface StateMaterial { keyMaterialId: string; material?: string; importState?: string; materialState?: string }

export interface HsmWorkspace {
  hsm: SoftHsm;
  emu: RunningEmulator;
  dir: string;
  stateFile: string;
  /** `--endpoint-url` and `--region` of the emulator. */
  target: string[];
  alice: { identity: string; recipient: string; path: string };
  escrowDir(): string;
  /** The custody flags for the token: `--custody pkcs11 --pkcs11-uri … --pin-file … --escrow-dir …`. */
  custody(): string[];
  /** Every material the emulator (KMS) holds for the key, as its state file records them. */
  kmsMaterials(keyId: string): StateMaterial[];
}

export function useHsmWorkspace(token: string, prefix: string): HsmWorkspace {
  let uninstall: () => void = () => {};
  const w = {
    escrowDir: () => join(w.dir, 'escrow'),
    custody: () => ['--custody', 'pkcs11', '--pkcs11-uri', `pkcs11:token=${token}`, '--pkcs11-module', w.hsm.module, '--pin-file', w.hsm.pinFile, '--escrow-dir', w.escrowDir()],
    kmsMaterials: (keyId: string): StateMaterial[] => {
      const state = JSON.parse(readFileSync(w.stateFile, 'utf8')) as { regions: Record<string, { keys: Record<string, { materials: StateMaterial[] }> }> };
      const key = Object.values(state.regions).map((r) => r.keys[keyId]).find(Boolean);
      if (!key) throw new Error(`emulator has no key ${keyId}`);
      return key.materials;
    },
  } as HsmWorkspace;
  beforeEach(async () => {
    w.hsm = initSoftHsm(token);
    w.dir = mkdtempSync(join(tmpdir(), prefix));
    w.stateFile = join(w.dir, 'emulator-state.json');
    w.emu = await startTestEmulator({ port: 0, region: 'us-east-1', stateFile: w.stateFile });
    w.target = ['--endpoint-url', w.emu.endpoint, '--region', 'us-east-1'];
    uninstall = installReadableKeyHook();
    w.alice = await custodian(join(w.dir, 'alice.txt'));
  });
  afterEach(async () => {
    uninstall();
    await w.emu.close();
    w.hsm.close();
    rmSync(w.dir, { recursive: true, force: true });
  });
  return w;
}
