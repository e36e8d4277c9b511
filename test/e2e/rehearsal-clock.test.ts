/**
 * Rehearsal time (src/cli/target.ts): against an emulator, kms-byok reads the emulator's clock. After
 * `kms-byok emulator advance-clock` moves it near a key's ValidTo, status counts the days left by it and
 * `reimport --before` treats the key as due — by the local clock the key still has 30 days; moved past
 * ValidTo, the material expires (PendingImport) and restore recovers the key.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { createFleet } from './fleet-helpers.js';

let ws: Workspace;
let key: string;

beforeAll(async () => {
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  [{ keyId: key }] = (await createFleet(ws.emu.endpoint, ws.dir, alice.recipient, ['us-east-1'], 1)) as [{ keyId: string; region: string }];
}, 60_000);

afterAll(async () => {
  await ws?.close().catch(() => undefined);
});

interface StatusJson {
  keys: { keyId: string; daysLeft?: number; attention: string[] }[];
}

describe('the emulator clock', () => {
  it('before the clock moves: 30 days left, not due for reimport --before 7d', async () => {
    const s = await run(['status', key, '--warn-days', '7', '--json', ...ws.target], { cwd: ws.dir });
    expect(s.code, s.stderr).toBe(0);
    expect(s.json<StatusJson>().keys[0]!.daysLeft).toBeGreaterThanOrEqual(29);
  });

  it('advance-clock to 3 days before ValidTo: status says 3 days left (exit 3), reimport --before 7d re-imports it', async () => {
    const moved = await run(['emulator', 'advance-clock', '27d', '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
    expect(moved.code, moved.stderr).toBe(0);
    const emulatorNow = new Date(moved.stdout.trim());
    expect(emulatorNow.getTime()).toBeGreaterThan(Date.now() + 26 * 86_400_000);

    const s = await run(['status', key, '--warn-days', '7', '--json', ...ws.target], { cwd: ws.dir });
    expect(s.code, s.stderr).toBe(3);
    const k = s.json<StatusJson>().keys[0]!;
    expect(k.daysLeft).toBeLessThanOrEqual(3);
    expect(k.attention.join(' ')).toMatch(/ValidTo|expires/i);

    const r = await run(['reimport', key, '--before', '7d', '--expires-in', '90d', '--identity', 'alice.txt', '--json', ...ws.target], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.stringify(r.json())).toContain('"reimported"');
    // The new ValidTo is 90 days from the emulator's time, not from the local clock.
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: key }));
    expect(d.KeyMetadata!.KeyState).toBe('Enabled');
    expect(d.KeyMetadata!.ValidTo!.getTime()).toBeGreaterThan(emulatorNow.getTime() + 89 * 86_400_000);
    const after = await run(['status', key, '--warn-days', '7', '--json', ...ws.target], { cwd: ws.dir });
    expect(after.code, after.stderr).toBe(0);
    expect(after.json<StatusJson>().keys[0]!.daysLeft).toBeGreaterThanOrEqual(89);
  });

  it('advance-clock past ValidTo: the material expired (PendingImport, exit 3); restore brings the key back', async () => {
    const moved = await run(['emulator', 'advance-clock', '91d', '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
    expect(moved.code, moved.stderr).toBe(0);
    const s = await run(['status', key, '--json', ...ws.target], { cwd: ws.dir });
    expect(s.code, s.stderr).toBe(3);
    const k = s.json<StatusJson & { keys: { keyState: string }[] }>().keys[0]!;
    expect(k.keyState).toBe('PendingImport');
    expect(k.attention.join(' ')).toContain('restore');

    const r = await run(['restore', key, '--expires-in', '90d', '--identity', 'alice.txt', ...ws.target], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const after = await run(['status', key, '--json', ...ws.target], { cwd: ws.dir });
    expect(after.code, after.stderr).toBe(0);
    expect(after.json<StatusJson>().keys[0]!.daysLeft).toBeGreaterThanOrEqual(89);
  });

  it('advance-clock refuses a non-loopback endpoint and a bad duration before any request (exit 2)', async () => {
    const before = ws.emu.requests.length;
    const far = await run(['emulator', 'advance-clock', '1d', '--endpoint-url', 'https://kms.us-east-1.amazonaws.com'], { cwd: ws.dir });
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('not a loopback address');
    const bad = await run(['emulator', 'advance-clock', 'soon', '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ERR_INVALID_ARGUMENT');
    expect(ws.emu.requests.length).toBe(before);
  });

  it('kms-byok emulator --clock-offset 60d serves an emulator whose clock starts 60 days ahead', async () => {
    const bin = fileURLToPath(new URL('../../dist/bin.cjs', import.meta.url));
    const child = spawn(process.execPath, [bin, 'emulator', '--port', '0', '--clock-offset', '60d'], { env: { PATH: process.env.PATH ?? '', HOME: ws.dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const endpoint = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (c: Buffer) => resolve(c.toString().trim()));
        child.once('exit', (code) => reject(new Error(`emulator exited ${code}: ${stderr}`)));
      });
      const moved = await run(['emulator', 'advance-clock', '1d', '--endpoint-url', endpoint, '--json'], { cwd: ws.dir });
      expect(moved.code, moved.stderr).toBe(0);
      const now = Date.parse(moved.json<{ now: string }>().now);
      expect(now).toBeGreaterThan(Date.now() + 60 * 86_400_000);
      expect(now).toBeLessThan(Date.now() + 62 * 86_400_000);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
  });
});
