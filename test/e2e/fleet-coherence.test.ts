/**
 * Fleet pieces that fit together (docs/fleet.md, docs/scheduling.md): one schedule for a fleet plan
 * across Regions whose printed command really runs, `status --plan --format prometheus`, flags a plan
 * replaces refused (never ignored), a Region typo refused while the plan is read, and the alias the
 * plan named a key by in tables and metrics. Against the emulator over loopback.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateAliasCommand, KMSClient } from '@aws-sdk/client-kms';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { createFleet } from './fleet-helpers.js';

const REGIONS = ['us-east-1', 'eu-west-1'];

let ws: Workspace;
let keys: { keyId: string; region: string }[];
let plan: string;

beforeAll(async () => {
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  keys = await createFleet(ws.emu.endpoint, ws.dir, alice.recipient, REGIONS, 2);
  // The first key of each Region is named by an alias in the plan.
  for (const [i, k] of keys.entries()) {
    if (i % 2 !== 0) continue;
    const c = new KMSClient({ region: k.region, endpoint: ws.emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
    await c.send(new CreateAliasCommand({ AliasName: `alias/fleet-${i}`, TargetKeyId: k.keyId }));
    c.destroy();
  }
  plan = ws.path('fleet.json');
  writeFileSync(
    plan,
    JSON.stringify({
      version: 1,
      defaults: { escrowDir: 'escrow', identity: 'alice.txt', expiresIn: '90d', warnDays: 7 },
      keys: keys.map((k, i) => ({ key: i % 2 === 0 ? `alias/fleet-${i}` : k.keyId, region: k.region })),
    }),
  );
}, 60_000);

afterAll(async () => {
  await ws?.close().catch(() => undefined);
});

describe('schedule --plan FLEET.json', () => {
  it('cron: one line that runs reimport --plan for the whole fleet; the line runs and re-imports every key', async () => {
    const r = await run(['schedule', '--print', 'cron', '--plan', 'fleet.json', '--before', '60d'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.split('\n')[1]!;
    const m = /CI=true \/usr\/local\/bin\/kms-byok (.*?) >>/.exec(line);
    expect(m, line).not.toBeNull();
    const args = m![1]!.split(' ');
    expect(args).toEqual(['reimport', '--plan', plan, '--before', '60d']);
    // What cron would run (pointed at the emulator instead of AWS): every key is due (30 days left).
    const ran = await run([...args, '--endpoint-url', ws.emu.endpoint, '--json'], { cwd: ws.dir, env: { CI: 'true' } });
    expect(ran.code, ran.stderr).toBe(0);
    const report = ran.json<{ summary: { ok: number; failed: number }; keys: { status: string; action?: string; alias?: string }[] }>();
    expect(report.summary).toMatchObject({ ok: 4, failed: 0 });
    expect(report.keys.filter((k) => k.alias).map((k) => k.alias)).toEqual(['alias/fleet-0', 'alias/fleet-2']);
    // The fleet now has 90 days left: the same scheduled line finds nothing due.
    const again = await run([...args, '--endpoint-url', ws.emu.endpoint, '--json'], { cwd: ws.dir, env: { CI: 'true' } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ keys: { action?: string }[] }>().keys.map((k) => k.action)).toEqual(['not-due', 'not-due', 'not-due', 'not-due']);
  });

  it('systemd: the service runs reimport --plan and may write the plan directory and escrow', async () => {
    const r = await run(['schedule', '--print', 'systemd', '--plan', plan], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`ExecStart=/usr/local/bin/kms-byok reimport --plan ${plan} --before 30d\n`);
    expect(r.stdout).toContain(`ReadWritePaths=${ws.dir}\n`);
    expect(r.stdout).not.toContain('LoadCredential=');
    expect(r.stderr).not.toContain('ERR_NO_TARGET');
  });

  it('kubernetes: the plan directory is the escrow volume and the identity a Secret item mounted at its path', async () => {
    const r = await run(['schedule', '--print', 'kubernetes', '--plan', plan, '--image', 'registry.example.com/kms-byok:0.1.0', '--json'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const pod = (r.json() as any).spec.jobTemplate.spec.template.spec;
    const c = pod.containers[0];
    expect([...c.command, ...c.args]).toEqual(['kms-byok', 'reimport', '--plan', plan, '--before', '30d']);
    expect(c.volumeMounts).toContainEqual({ name: 'escrow', mountPath: ws.dir });
    expect(c.volumeMounts).toContainEqual({ name: 'secret', mountPath: join(ws.dir, 'alice.txt'), subPath: 'secret-0', readOnly: true });
    expect(pod.volumes.find((v: any) => v.name === 'secret').secret.items).toEqual([{ key: 'secret-0', path: 'secret-0' }]);
    expect(r.stderr).toContain(`--from-file=secret-0=${join(ws.dir, 'alice.txt')}`);
  });

  it('a one-key-per-line list given to --plan is refused with a pointer to --keys-file (exit 2)', async () => {
    writeFileSync(ws.path('keys.txt'), 'alias/fleet-0\n');
    const r = await run(['schedule', '--print', 'cron', '--plan', 'keys.txt', '--identity', 'alice.txt'], { cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_USAGE');
    expect(r.stderr).toContain('--keys-file keys.txt');
  });

  it('flags the plan sets per key are refused with the plan field to use (exit 2)', async () => {
    for (const [flag, value, field] of [
      ['--expires-in', '90d', '"expiresIn"'],
      ['--identity', 'alice.txt', '"identity"'],
      ['--region', 'eu-west-1', '"region"'],
    ] as const) {
      const r = await run(['schedule', '--print', 'cron', '--plan', plan, flag, value], { cwd: ws.dir });
      expect(r.code, flag).toBe(2);
      expect(r.stderr).toContain('ERR_USAGE');
      expect(r.stderr).toContain(field);
    }
  });
});

describe('fleet commands', () => {
  it('status --plan --format prometheus prints the gauges of every key, with the alias the plan named', async () => {
    const r = await run(['status', '--plan', plan, '--format', 'prometheus', '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith('# HELP kms_byok_material_expiry_seconds')).toBe(true);
    expect(r.stdout).not.toMatch(/^#\s+KEY/m);
    for (const k of keys) expect(r.stdout).toContain(`kms_byok_key_enabled{key_id="${k.keyId}"`);
    expect(r.stdout).toContain(`kms_byok_attention{key_id="${keys[0]!.keyId}",alias="alias/fleet-0",region="${keys[0]!.region}"} 0`);
    expect(r.stdout).toContain(`kms_byok_attention{key_id="${keys[1]!.keyId}",region="${keys[1]!.region}"} 0`);
  });

  it('status --plan (table) carries the alias the plan named the key by', async () => {
    const r = await run(['status', '--plan', plan, '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const row = r.stdout.split('\n').find((l) => l.includes(keys[2]!.keyId))!;
    expect(row).toMatch(new RegExp(`alias/fleet-2\\s+${keys[2]!.region}`));
    expect(r.stdout.split('\n')[0]).toMatch(/KEY\s+ALIAS\s+REGION/);
  });

  it('flags a plan overrides or does not use are refused before any request (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['reimport', '--plan', plan, '--expires-in', '30d'], '"expiresIn"'],
      [['reimport', '--plan', plan, '--identity', 'alice.txt'], '"identity"'],
      [['restore', '--plan', plan, '--escrow-dir', 'escrow'], '"escrowDir"'],
      [['status', '--plan', plan, '--warn-days', '5'], '"warnDays"'],
      [['status', '--plan', plan, '--region', 'eu-west-1'], '"region"'],
      [['reimport', '--plan', plan, '--notify-command', 'true'], 'does not apply to reimport --plan'],
    ];
    for (const [argv, expected] of cases) {
      const before = ws.emu.requests.length;
      const r = await run([...argv, '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toContain('ERR_USAGE');
      expect(r.stderr).toContain(expected);
      expect(ws.emu.requests.length, 'no KMS request').toBe(before);
    }
  });

  it('a Region typo in the plan is ERR_PLAN_INVALID before any request, with the Region meant', async () => {
    const typo = ws.path('typo.json');
    writeFileSync(typo, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', identity: 'alice.txt', expiresIn: '90d' }, keys: [{ key: keys[2]!.keyId, region: 'eu-wset-1' }] }));
    const before = ws.emu.requests.length;
    for (const argv of [
      ['status', '--plan', typo, '--endpoint-url', ws.emu.endpoint],
      ['reimport', '--plan', typo, '--endpoint-url', ws.emu.endpoint],
      ['schedule', '--print', 'cron', '--plan', typo],
    ]) {
      const r = await run(argv, { cwd: ws.dir });
      expect(r.code, argv[0]).toBe(2);
      expect(r.stderr).toContain('ERR_PLAN_INVALID');
      expect(r.stderr).toContain('"region" "eu-wset-1" is not an AWS Region (did you mean eu-west-1?)');
    }
    expect(ws.emu.requests.length).toBe(before);
  });
});
