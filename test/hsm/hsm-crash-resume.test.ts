/**
 * Interrupted HSM-custody onboards (docs/hsm.md, "Interrupted onboards"): the BUILT CLI is spawned
 * against SoftHSM2 and the emulator and SIGKILLed right after a journal step (test/support/
 * crash-after-step.mjs and src/records/journal-observer.ts, as for the software onboard). Re-running
 * the same command finishes it and says what it found; the end state is then checked as a user would:
 * status exits 0, verify succeeds, KMS holds exactly one key, the token exactly one key with that
 * label, and what KMS unwrapped (the emulator's state file) is the token's key (read by the TEST through
 * the readable-key hook).
 */
import { BIN, ensureBuilt } from '../support/built-cli.js';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { disposePayload, openEscrow } from '../../src/escrow/index.js';
import { readEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';
import { initSoftHsm, installReadableKeyHook, softhsmUnavailable, type SoftHsm } from '../support/softhsm.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const unavailable = softhsmUnavailable();
if (unavailable) console.log(`skipping the PKCS#11 crash tests: ${unavailable}`);

interface StateKey { materials: { keyMaterialId: string; material?: string }[] }

const CASES: { step: string; escrow: boolean; says: string }[] = [
  { step: 'created key', escrow: false, says: 'generated SYMMETRIC_DEFAULT material' },
  { step: 'generated', escrow: false, says: 'found the token key the interrupted run generated' },
  { step: 'escrow sealed', escrow: true, says: 'found the escrow the interrupted run sealed' },
  { step: 'recorded', escrow: false, says: 'found the custody record the interrupted run wrote' },
  { step: 'imported', escrow: false, says: "KMS already held the token's material (imported by the interrupted run)" },
];

describe.skipIf(unavailable !== undefined)('an interrupted onboard --custody pkcs11 is finished by the same command (SoftHSM2)', () => {
  let hsm: SoftHsm;
  let emu: RunningEmulator;
  let dir: string;
  let stateFile: string;
  let uninstall: () => void;
  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);
  beforeEach(async () => {
    hsm = initSoftHsm('crash');
    dir = mkdtempSync(join(tmpdir(), 'kms-byok-hsm-crash-'));
    stateFile = join(dir, 'emulator-state.json');
    emu = await startTestEmulator({ port: 0, region: 'us-east-1', stateFile });
    uninstall = installReadableKeyHook();
  });
  afterEach(async () => {
    uninstall();
    await emu.close();
    hsm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const keys = (): Record<string, StateKey> => {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { regions: Record<string, { keys: Record<string, StateKey> }> };
    return Object.assign({}, ...Object.values(state.regions).map((r) => r.keys)) as Record<string, StateKey>;
  };

  function spawnCli(args: string[], crashAfter: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', join(ROOT, 'test/support/crash-after-step.mjs'), '--import', join(ROOT, 'test/support/pkcs11-readable-keys.mjs'), BIN, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, SOFTHSM2_CONF: hsm.conf, TEST_CRASH_AFTER_STEP: crashAfter },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    });
  }

  for (const c of CASES) {
    it(`killed right after "${c.step}"${c.escrow ? ' (with --also-escrow)' : ''}: the same command finishes it`, async () => {
      const alice = await custodian(join(dir, 'alice.txt'));
      // Relative paths: the re-run (in-process, same cwd) names the very same inputs.
      const args = ['onboard', '--yes', '--no-expiry', '--alias', 'alias/crash', '--custody', 'pkcs11', '--pkcs11-uri', 'pkcs11:token=crash', '--pkcs11-module', hsm.module,
        '--pin-file', hsm.pinFile, '--escrow-dir', 'escrow', '--endpoint-url', emu.endpoint, '--region', 'us-east-1',
        ...(c.escrow ? ['--also-escrow', '--recipient', alice.recipient] : [])];
      const crashed = await spawnCli(args, c.step);
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');

      const again = await run([...args, '--json'], { cwd: dir });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain('resuming an unfinished onboard');
      expect(again.stderr).toContain(c.says);
      const { keyId } = again.json<{ keyId: string }>();

      // Exactly one KMS key, one token key with its label, and KMS holds the token's key.
      expect(Object.keys(keys())).toEqual([keyId]);
      expect(hsm.labels()).toEqual([keyId]);
      const tokenKey = hsm.readValue(keyId);
      const held = keys()[keyId]!.materials.filter((m) => m.material !== undefined);
      expect(held).toHaveLength(1);
      expect(Buffer.from(held[0]!.material!, 'base64').equals(tokenKey)).toBe(true);
      if (c.escrow) {
        const escrow = join(dir, 'escrow', `${keyId}.v1.age`);
        const payload = await openEscrow(await readEscrow(escrow), { identities: [alice.identity] }, { computeCheckValue: checkValue });
        expect(payload.materials[0]!.material.use((b) => Buffer.from(b)).equals(tokenKey)).toBe(true);
        disposePayload(payload);
      }

      const status = await run(['status', keyId, '--escrow-dir', 'escrow', '--endpoint-url', emu.endpoint, '--region', 'us-east-1'], { cwd: dir });
      expect(status.code, status.stdout + status.stderr).toBe(0);
      const verify = await run(['verify', 'alias/crash', '--custody', 'pkcs11', '--pkcs11-uri', 'pkcs11:token=crash', '--pkcs11-module', hsm.module, '--pin-file', hsm.pinFile, '--escrow-dir', 'escrow', '--endpoint-url', emu.endpoint, '--region', 'us-east-1'], { cwd: dir });
      expect(verify.code, verify.stderr).toBe(0);
      // The journal is finished: a third run of the command starts a new onboard, it does not resume.
      const journal = JSON.parse(readFileSync(again.stderr.match(/journal (\S+\.json)/)![1]!, 'utf8')) as { done: boolean };
      expect(journal.done).toBe(true);
    }, 120_000);
  }
});
