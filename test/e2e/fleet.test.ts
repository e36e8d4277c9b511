/**
 * Fleet operations (docs/fleet.md) end to end: `reimport --plan` of 50 keys over two Regions against an
 * emulator whose quota is set low enough that the client (told a higher rate) is throttled — every
 * key still ends re-imported with its new ValidTo, checked through the SDK; then a run of the BUILT
 * CLI is killed midway and `--resume` finishes only the rest.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeKeyCommand, KMSClient, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { runStatePath } from '../../src/fleet/run.js';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { createFleet, writePlan } from './fleet-helpers.js';

const BIN = fileURLToPath(new URL('../../dist/bin.cjs', import.meta.url));
const REGIONS = ['us-east-1', 'eu-west-1'];
const DAY = 86_400_000;

let ws: Workspace;
let emu: RunningEmulator;
let keys: { keyId: string; region: string }[];
const clients = new Map<string, KMSClient>();

function client(region: string): KMSClient {
  if (!clients.has(region)) clients.set(region, new KMSClient({ region, endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 }));
  return clients.get(region)!;
}

interface Report {
  summary: { total: number; ok: number; failed: number; skipped: number };
  keys: { key: string; region: string; status: string; validTo?: string; code?: string }[];
}

beforeAll(async () => {
  // The fixture is made on an unlimited emulator with a state file; the runs use a second emulator
  // over the same state with low quotas.
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  const state = ws.path('kms-state.json');
  const fixture = await startTestEmulator({ stateFile: state });
  const t0 = Date.now();
  keys = await createFleet(fixture.endpoint, ws.dir, alice.recipient, REGIONS, 25);
  await fixture.close();
  console.log(`fleet fixture: 50 keys created in ${Date.now() - t0} ms`);
  emu = await startTestEmulator({ stateFile: state, quotas: { GetParametersForImport: 3, ImportKeyMaterial: 6 } });
}, 60_000);

afterAll(async () => {
  for (const c of clients.values()) c.destroy();
  await emu?.close();
  await ws?.close().catch(() => undefined);
});

async function expectValidTo(k: { keyId: string; region: string }, validTo: string): Promise<void> {
  const d = await client(k.region).send(new DescribeKeyCommand({ KeyId: k.keyId }));
  expect(d.KeyMetadata!.KeyState).toBe('Enabled');
  expect(d.KeyMetadata!.ValidTo!.toISOString()).toBe(validTo);
  const r = await client(k.region).send(new ListKeyRotationsCommand({ KeyId: k.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
  expect(r.Rotations!.map((m) => [m.ImportState, m.ValidTo!.toISOString()])).toEqual([['IMPORTED', validTo]]);
}

describe('reimport --plan', () => {
  it('re-imports 50 keys over two Regions within a quota that throttles, every key with its new ValidTo', async () => {
    // Statefile-backed emulator: the fixture was made before it started.
    const plan = writePlan(ws.dir, 'plan.json', keys, { expiresIn: '200d' });
    const before = emu.requests.length;
    const r = await run(['reimport', '--plan', plan, '--endpoint-url', emu.endpoint, '--rate', 'GetParametersForImport=40', '--rate', 'ImportKeyMaterial=40', '--concurrency', '6', '--json'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const report = r.json<Report>();
    expect(report.summary).toMatchObject({ total: 50, ok: 50, failed: 0, skipped: 0 });
    const throttled = emu.requests.slice(before).filter((x) => x.throttledByQuota).length;
    expect(throttled, 'the quota must have throttled the run').toBeGreaterThan(0);
    expect(r.stderr).toMatch(/50 ok, 0 failed .* \d+ retried request/);
    for (const k of keys) {
      const row = report.keys.find((x) => x.key === k.keyId)!;
      expect(row.status).toBe('ok');
      const t = new Date(row.validTo!).getTime();
      expect(Math.abs(t - (Date.now() + 200 * DAY))).toBeLessThan(120_000);
      await expectValidTo(k, row.validTo!);
    }
    expect(readFileSync(join(ws.dir, 'escrow/transcript.md'), 'utf8')).toContain('reimport --plan');
  });

  it('a plan with several problems is refused whole, before any request (exit 2)', async () => {
    const bad = writePlan(ws.dir, 'bad.json', [keys[0]!, keys[0]!, { keyId: keys[1]!.keyId, region: 'us-east-1' }], { expiresIn: '400d', colour: 'red' });
    const before = emu.requests.length;
    const r = await run(['reimport', '--plan', bad, '--endpoint-url', emu.endpoint], { cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('defaults: unknown field "colour"');
    expect(r.stderr).toContain('"expiresIn" 400d is more than 365 days');
    expect(r.stderr).toContain('duplicate key');
    expect(r.stderr).toContain('ERR_PLAN_INVALID');
    expect(emu.requests.length).toBe(before);
  });

  it('a run killed midway is finished by --resume, which re-runs only what did not finish', async () => {
    const plan = writePlan(ws.dir, 'plan-300.json', keys, { expiresIn: '300d' });
    const state = runStatePath(plan, 'reimport');
    const args = [BIN, 'reimport', '--plan', plan, '--endpoint-url', emu.endpoint, '--concurrency', '2', '--json'];
    const child = spawn(process.execPath, args, { cwd: ws.dir, env: { PATH: process.env.PATH ?? '', HOME: ws.dir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const finishedLines = () => (existsSync(state) ? readFileSync(state, 'utf8').split('\n').filter((l) => l.includes('"status":"ok"')).length : 0);
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (finishedLines() >= 10) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 20);
      child.on('exit', (code, signal) => {
        clearInterval(timer);
        if (signal === 'SIGKILL') resolve();
        else reject(new Error(`the run ended before it was killed (${code}): ${stderr}`));
      });
    });
    const done = finishedLines();
    expect(done).toBeGreaterThanOrEqual(10);
    expect(done).toBeLessThan(50);

    const before = emu.requests.length;
    const r = await run(['reimport', '--plan', plan, '--endpoint-url', emu.endpoint, '--resume', '--json', '--concurrency', '6'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const report = r.json<Report>();
    expect(report.summary).toMatchObject({ total: 50, failed: 0, skipped: done, ok: 50 - done });
    const imports = emu.requests.slice(before).filter((x) => x.operation === 'ImportKeyMaterial' && !x.throttledByQuota && !x.fault).length;
    expect(imports).toBe(50 - done);
    // Every key now carries the 300-day ValidTo: the killed run's for those it finished, the resumed run's for the rest.
    for (const k of keys) {
      const d = await client(k.region).send(new DescribeKeyCommand({ KeyId: k.keyId }));
      expect(Math.abs(d.KeyMetadata!.ValidTo!.getTime() - (Date.now() + 300 * DAY))).toBeLessThan(180_000);
    }
    // Resuming a finished run does nothing.
    const again = await run(['reimport', '--plan', plan, '--endpoint-url', emu.endpoint, '--resume', '--json'], { cwd: ws.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<Report>().summary).toMatchObject({ skipped: 50, ok: 0 });
  });

  it('credentials missing for one profile: that entry fails with a hint, the others run (exit 1)', async () => {
    // No IMDS lookups: the credential chain must fail fast on a machine that is not EC2.
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const plan = ws.path('plan-ghost.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(plan, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', identity: 'alice.txt', expiresIn: '100d' }, keys: [{ key: keys[0]!.keyId, region: keys[0]!.region }, { key: keys[1]!.keyId, region: keys[1]!.region, profile: 'kms-byok-test-no-such-profile' }] }));
    const r = await run(['reimport', '--plan', plan, '--endpoint-url', emu.endpoint, '--json'], { cwd: ws.dir, env: { HOME: ws.dir } });
    expect(r.code).toBe(1);
    const rows = r.json<Report>().keys as { status: string; error?: { code: string; hint?: string } }[];
    expect(rows[0]).toMatchObject({ status: 'ok' });
    expect(rows[1]).toMatchObject({ status: 'failed', error: { code: 'ERR_KMS_CREDENTIALS', hint: expect.any(String) } });
    expect(r.stderr).toContain('ERR_KMS_CREDENTIALS');
  });

  it('status --plan reports every key; restore --plan has nothing to restore', async () => {
    const plan = writePlan(ws.dir, 'plan-status.json', keys.slice(0, 6), { warnDays: 30 });
    const st = await run(['status', '--plan', plan, '--endpoint-url', emu.endpoint, '--json'], { cwd: ws.dir });
    expect(st.code, st.stderr).toBe(0);
    expect(st.json<Report>().keys.map((k) => k.status)).toEqual(Array(6).fill('ok'));
    // --warn-days is the plan's "warnDays" (the flag with --plan is refused: test/e2e/fleet-coherence.test.ts).
    const table = await run(['status', '--plan', plan, '--endpoint-url', emu.endpoint], { cwd: ws.dir });
    expect(table.stdout).toMatch(/^#\s+KEY\s+ALIAS\s+REGION\s+PROFILE\s+RESULT\s+DETAIL/);
    const rp = writePlan(ws.dir, 'plan-restore.json', keys.slice(0, 4), { expiresIn: '90d' });
    const rs = await run(['restore', '--plan', rp, '--endpoint-url', emu.endpoint, '--json'], { cwd: ws.dir });
    expect(rs.code, rs.stderr).toBe(0);
    expect(rs.json<{ keys: { action: string }[] }>().keys.map((k) => k.action)).toEqual(Array(4).fill('nothing-to-restore'));
  });
});
