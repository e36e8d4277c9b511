/**
 * With HSM custody the CLI process never holds the material (docs/hsm.md, "Tests"): a spawned
 * `kms-byok onboard --custody pkcs11` against the emulator, with two preloads — the test hook that
 * makes the token key readable by the TEST, and a dump at exit of every ArrayBuffer alive in the JS heap
 * plus a V8 heap snapshot (strings). The token key, read by the test afterwards, appears in neither,
 * nor in any output or file; a marker buffer the preload keeps alive does appear (the dump can see).
 */
import { BIN, ensureBuilt } from '../support/built-cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { initSoftHsm, softhsmUnavailable, type SoftHsm } from '../support/softhsm.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const unavailable = softhsmUnavailable();
if (unavailable) console.log(`skipping the PKCS#11 heap test: ${unavailable}`);



describe.skipIf(unavailable !== undefined)('HSM custody: the material is not in the CLI process', () => {
  let hsm: SoftHsm;
  let emu: RunningEmulator;
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    hsm = initSoftHsm('heap');
    dir = mkdtempSync(join(tmpdir(), 'kms-byok-heap-'));
    emu = await startTestEmulator({ port: 0, region: 'us-east-1' });
  }, 180_000);
  afterAll(async () => {
    await emu?.close();
    hsm?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('no buffer or string equal to the token key in the heap after the import, nor in any output or file', async () => {
    const dump = join(dir, 'heap.bin');
    const marker = randomBytes(32);
    const args = ['--import', join(ROOT, 'test/support/pkcs11-readable-keys.mjs'), '--import', join(ROOT, 'test/support/heap-at-exit.mjs'), BIN,
      'onboard', '--yes', '--no-expiry', '--json', '--custody', 'pkcs11', '--pkcs11-uri', 'pkcs11:token=heap', '--pkcs11-module', hsm.module, '--pin-file', hsm.pinFile,
      '--escrow-dir', join(dir, 'escrow'), '--endpoint-url', emu.endpoint, '--region', 'us-east-1'];
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, SOFTHSM2_CONF: hsm.conf, TEST_HEAP_DUMP: dump, TEST_HEAP_MARKER: marker.toString('hex') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const { keyId } = JSON.parse(r.stdout) as { keyId: string };
    const key = hsm.readValue(keyId);
    expect(key.length).toBe(32);
    const buffers = readFileSync(dump);
    expect(buffers.includes(marker), 'the dump sees a live buffer').toBe(true);
    expect(buffers.includes(key)).toBe(false);
    const snapshot = readFileSync(`${dump}.heapsnapshot`, 'latin1');
    const forms = [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), key.toString('base64url'), key.toString('latin1')];
    for (const f of forms) expect(snapshot.includes(f)).toBe(false);
    const files = readdirSync(join(dir, 'escrow'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name)));
    for (const bytes of [...files, Buffer.from(r.stdout), Buffer.from(r.stderr)]) {
      expect(bytes.includes(key)).toBe(false);
      for (const f of forms.slice(0, 4)) expect(bytes.toString('latin1').includes(f)).toBe(false);
    }
  }, 180_000);
});
