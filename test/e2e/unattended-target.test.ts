/**
 * No silent rehearsal in unattended runs (README "Targets", docs/architecture.md "Target selection"):
 * with nothing pointing at AWS and no terminal (or CI set), a command that talks to KMS exits 2 with
 * ERR_NO_TARGET before any KMS request or write; `--emulator` rehearses; a terminal keeps the announced
 * rehearsal. And `--material-file` with `--emulator-state` is refused unless the user says the state
 * file's plaintext is understood.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run, workspace } from './harness.js';
import { custodian } from './identities.js';

/** Counts emulators started (by the CLI's target selection or by a workspace): no emulator, no KMS request. */
const started = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/emulator/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/emulator/index.js')>();
  return {
    ...real,
    startEmulator: (...args: Parameters<typeof real.startEmulator>) => {
      started.count++;
      return real.startEmulator(...args);
    },
  };
});

const NO_TARGET = 'no AWS target: give --region, --profile or --endpoint-url, or --emulator for a rehearsal';
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kms-byok-unattended-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
beforeEach(() => {
  started.count = 0;
});

/** Minimal valid onboard flags, sealing to a passphrase in `dir`. */
function onboardArgs(dir: string): string[] {
  writeFileSync(join(dir, 'pass.txt'), 'correct horse battery staple\n', { mode: 0o600 });
  // RSA_2048 wrapping keys: the rehearsals here generate them, and 4096-bit ones take long on a busy machine.
  return ['onboard', '--yes', '--json', '--no-expiry', '--wrapping-key-spec', 'RSA_2048', '--passphrase-file', join(dir, 'pass.txt'), '--escrow-dir', join(dir, 'escrow')];
}

describe('no AWS target and no terminal', () => {
  it('status exits 2 with ERR_NO_TARGET, names --emulator, and starts no emulator (no KMS request)', async () => {
    const dir = tempDir();
    const r = await run(['status', '--escrow-dir', join(dir, 'escrow')], { env: { PATH: process.env.PATH! }, cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`kms-byok: error: ${NO_TARGET}`);
    expect(r.stderr).toContain('kms-byok: code: ERR_NO_TARGET');
    expect(r.stdout).toBe('');
    expect(started.count).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('status --format prometheus gives no all-clear gauges either', async () => {
    const dir = tempDir();
    const r = await run(['status', '--format', 'prometheus'], { env: {}, cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ERR_NO_TARGET');
  });

  it('status with --emulator rehearses: exit 0, announced', async () => {
    const dir = tempDir();
    const r = await run(['status', '--emulator', '--escrow-dir', join(dir, 'escrow')], { env: {}, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('no EXTERNAL keys found');
    expect(r.stderr).toContain('target: embedded KMS emulator (rehearsal');
    expect(started.count).toBe(1);
  });

  it('onboard exits 2 before anything: no emulator, no key, no escrow directory, no transcript', async () => {
    const dir = tempDir();
    const r = await run(onboardArgs(dir), { env: {}, cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(NO_TARGET);
    expect(r.stderr).toContain('ERR_NO_TARGET');
    expect(started.count).toBe(0);
    expect(readdirSync(dir)).toEqual(['pass.txt']);
  });

  it('onboard with --emulator runs the rehearsal and writes its escrow', async () => {
    const dir = tempDir();
    const r = await run([...onboardArgs(dir), '--emulator'], { env: {}, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ keyId: expect.any(String) });
    expect(readdirSync(join(dir, 'escrow')).some((f) => f.endsWith('.age'))).toBe(true);
    expect(started.count).toBe(1);
  });

  it('reimport, restore, verify, revoke and rotate refuse the same way', async () => {
    const dir = tempDir();
    const alice = await custodian(join(dir, 'alice.txt'));
    mkdirSync(join(dir, 'escrow'));
    for (const argv of [
      ['reimport', 'alias/x', '--expires-in', '90d', '--identity', alice.path],
      ['restore', 'alias/x', '--no-expiry', '--identity', alice.path],
      ['verify', 'alias/x', '--identity', alice.path],
      ['revoke', 'alias/x', '--all', '--yes', '--without-escrow', '--reason', 'drill'],
      ['rotate', 'alias/x', '--in-place', '--yes', '--no-expiry', '--identity', alice.path],
    ]) {
      const r = await run([...argv, '--escrow-dir', join(dir, 'escrow')], { env: {}, cwd: dir });
      expect(r.stderr, argv.join(' ')).toContain('ERR_NO_TARGET');
      expect(r.code).toBe(2);
    }
    expect(started.count).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['alice.txt', 'escrow']);
    expect(readdirSync(join(dir, 'escrow'))).toEqual([]);
  });

  it('a target from the environment counts (AWS_ENDPOINT_URL_KMS)', async () => {
    const ws = await workspace();
    try {
      const r = await run(['status', '--escrow-dir', ws.path('escrow')], { env: { AWS_ENDPOINT_URL_KMS: ws.emu.endpoint }, cwd: ws.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('no EXTERNAL keys found');
      expect(ws.emu.requests.map((q) => q.operation)).toContain('ListKeys');
    } finally {
      await ws.close();
    }
  });

  it('the built CLI run as cron would (stdin /dev/null, output to a pipe) exits 2 and names --emulator', () => {
    const dir = tempDir();
    const bin = fileURLToPath(new URL('../../dist/bin.cjs', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'status'], { cwd: dir, env: { PATH: process.env.PATH! }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('--emulator for a rehearsal');
    expect(r.stderr).toContain('ERR_NO_TARGET');
    expect(r.stdout).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('on a terminal', () => {
  it('the rehearsal stays the default, announced on stderr', async () => {
    const dir = tempDir();
    const r = await run(['status', '--escrow-dir', join(dir, 'escrow')], { env: {}, cwd: dir, interactive: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('target: embedded KMS emulator (rehearsal: nothing is created in AWS)');
    expect(r.stderr).toContain('unattended runs need one of them, or --emulator');
    expect(started.count).toBe(1);
  });

  it('with CI=true it refuses all the same', async () => {
    const dir = tempDir();
    const r = await run(['status'], { env: { CI: 'true' }, cwd: dir, interactive: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(NO_TARGET);
    expect(r.stderr).toContain('CI is set');
    expect(started.count).toBe(0);
    const onboard = await run(onboardArgs(dir), { env: { CI: 'true' }, cwd: dir, interactive: true });
    expect(onboard.code).toBe(2);
    expect(onboard.stderr).toContain('ERR_NO_TARGET');
    expect(existsSync(join(dir, 'escrow'))).toBe(false);
    expect(started.count).toBe(0);
  });
});

describe('--emulator-state and real material', () => {
  it('--material-file with --emulator-state is refused (exit 2) before anything, unless --i-understand-plaintext-state', async () => {
    const dir = tempDir();
    const material = join(dir, 'material.hex');
    writeFileSync(material, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const state = join(dir, 'state.json');
    const args = [...onboardArgs(dir), '--material-file', material, '--emulator-state', state];

    const refused = await run(args, { env: {}, cwd: dir });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('kms-byok: code: ERR_USAGE');
    expect(refused.stderr).toContain('--i-understand-plaintext-state');
    expect(started.count).toBe(0);
    expect(existsSync(state)).toBe(false);
    expect(existsSync(join(dir, 'escrow'))).toBe(false);

    const allowed = await run([...args, '--i-understand-plaintext-state'], { env: {}, cwd: dir });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain(`the emulator state file ${state} holds imported key material and wrapping private keys in the clear`);
    expect(statSync(state).mode & 0o777).toBe(0o600);
  });

  it('--emulator-state alone asks for the rehearsal (no terminal needed) and warns about the plaintext file', async () => {
    const dir = tempDir();
    const state = join(dir, 'state.json');
    const r = await run(['status', '--emulator-state', state, '--escrow-dir', join(dir, 'escrow')], { env: {}, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('kms-byok: warning: the emulator state file');
    expect(statSync(state).mode & 0o777).toBe(0o600);
  });
});
