/**
 * Without the pkcs11js binding (an install with --ignore-scripts or without a compiler), every other
 * command works and never loads it, and a PKCS#11 command exits 2 with ERR_PKCS11_BINDING and the
 * install hint, before any KMS request (docs/hsm.md, "Installing the binding"). Runs everywhere: the
 * spawned CLI is denied the package by a preloaded resolve hook.
 */
import { BIN, ensureBuilt } from '../support/built-cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../../src/emulator/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));


describe('without the pkcs11js binding', () => {
  let dir: string;
  let emu: RunningEmulator;
  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'kms-byok-nobinding-'));
    emu = await startTestEmulator({ port: 0, region: 'us-east-1' });
  }, 180_000);
  afterAll(async () => {
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[], resolved: string) =>
    new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', join(ROOT, 'test/support/no-pkcs11js.mjs'), BIN, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, KMS_BYOK_TEST_RESOLVED: resolved },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it('a PKCS#11 command: ERR_PKCS11_BINDING, exit 2, the install hint, nothing sent to KMS', async () => {
    const pin = join(dir, 'pin');
    writeFileSync(pin, '1234', { mode: 0o600 });
    const resolved = join(dir, 'resolved-hsm.txt');
    const r = await cli(['onboard', '--yes', '--no-expiry', '--custody', 'pkcs11', '--pkcs11-uri', 'pkcs11:token=x', '--pkcs11-module', '/nonexistent.so', '--pin-file', pin, '--escrow-dir', join(dir, 'escrow'), '--endpoint-url', emu.endpoint, '--region', 'us-east-1'], resolved);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PKCS11_BINDING');
    expect(r.stderr).toContain('npm rebuild pkcs11js');
    expect(emu.requests).toHaveLength(0);
  });

  it('an escrow onboard works and never resolves the binding or the PKCS#11 room', async () => {
    const resolved = join(dir, 'resolved-escrow.txt');
    const pass = join(dir, 'pass');
    writeFileSync(pass, 'correct horse battery staple, a long passphrase', { mode: 0o600 });
    const r = await cli(['onboard', '--yes', '--no-expiry', '--passphrase-file', pass, '--escrow-dir', join(dir, 'escrow2'), '--endpoint-url', emu.endpoint, '--region', 'us-east-1'], resolved);
    expect(r.code, r.stderr).toBe(0);
    const urls = readFileSync(resolved, 'utf8');
    expect(urls).toContain('/src/cli/commands/onboard.ts');
    expect(urls).not.toContain('/custody/pkcs11/');
    expect(urls).not.toContain('/hsm-run.');
  });
});
