/**
 * Sharding a plan by quota domain (docs/fleet.md, "Shards"): four processes of the BUILT CLI
 * (`reimport --plan … --shard K/4`) against one emulator together re-import every key of a plan of six
 * quota domains (two profiles — the account stand-in — in three Regions) exactly once; no domain is
 * served by two shards; `fleet report` merges their run states and refuses what is missing or foreign.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMSClient, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { runStatePath } from '../../src/fleet/run.js';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { createFleet } from './fleet-helpers.js';
import { spawnBuilt } from '../support/built-cli.js';

const DAY = 86_400_000;
/** Keys per Region; each Region's keys are split between profiles a and b: domains of 10, 10, 6, 6, 4, 4 keys. */
const REGIONS: [string, number][] = [
  ['us-east-1', 20],
  ['eu-west-1', 12],
  ['ap-southeast-2', 8],
];

let ws: Workspace;
let emu: RunningEmulator;
let keys: { keyId: string; region: string; profile: string }[];
let plan: string;
let env: Record<string, string>;

function spawnCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return spawnBuilt(args, { cwd: ws.dir, env });
}

beforeAll(async () => {
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  emu = await startTestEmulator({});
  keys = [];
  for (const [region, n] of REGIONS) {
    const made = await createFleet(emu.endpoint, ws.dir, alice.recipient, [region], n);
    made.forEach((k, i) => keys.push({ ...k, profile: i % 2 === 0 ? 'a' : 'b' }));
  }
  // Two profiles (one account each, as far as quotas go); the emulator accepts any signature.
  writeFileSync(ws.path('aws-config'), '[profile a]\nregion = us-east-1\n[profile b]\nregion = us-east-1\n');
  writeFileSync(ws.path('aws-credentials'), '[a]\naws_access_key_id = AKIDPROFILEA\naws_secret_access_key = a\n[b]\naws_access_key_id = AKIDPROFILEB\naws_secret_access_key = b\n');
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ws.dir, AWS_CONFIG_FILE: ws.path('aws-config'), AWS_SHARED_CREDENTIALS_FILE: ws.path('aws-credentials') };
  plan = ws.path('fleet.json');
  writeFileSync(plan, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', identity: 'alice.txt', expiresIn: '200d' }, keys: keys.map((k) => ({ key: k.keyId, region: k.region, profile: k.profile })) }, null, 2));
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await ws?.close().catch(() => undefined);
});

interface ShardReport {
  shard: { index: number; count: number; domains: { account: string; region: string; keys: number }[] };
  summary: { total: number; ok: number; failed: number };
  keys: { key: string; region: string; profile?: string; status: string }[];
}

describe('reimport --plan --shard K/N', () => {
  it('refuses a malformed shard, K ≥ N and N = 0 before anything is sent (exit 2)', async () => {
    const before = emu.requests.length;
    for (const bad of ['4/4', '5/4', '0/0', 'x', '1-4', '-1/4', '1/4/2']) {
      const r = await run(['reimport', '--plan', plan, `--shard=${bad}`, '--endpoint-url', emu.endpoint], { cwd: ws.dir, env });
      expect(r.code, `${bad}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('ERR_INVALID_ARGUMENT');
      expect(r.stderr).toContain(`--shard "${bad}"`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(emu.requests.length).toBe(before);
  });

  it('--dry-run shows every quota domain once, with its shard, balanced by key count, and sends nothing', async () => {
    const before = emu.requests.length;
    const r = await run(['reimport', '--plan', plan, '--shard', '1/4', '--dry-run', '--json'], { cwd: ws.dir, env });
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{ shards: number; shard: number; keys: number; domains: { account: string; region: string; keys: number; shard: number }[] }>();
    expect(doc.shards).toBe(4);
    expect(doc.keys).toBe(40);
    const names = doc.domains.map((d) => `${d.account}/${d.region}`).sort();
    expect(names).toEqual(['a/ap-southeast-2', 'a/eu-west-1', 'a/us-east-1', 'b/ap-southeast-2', 'b/eu-west-1', 'b/us-east-1']);
    const perShard = [0, 1, 2, 3].map((s) => doc.domains.filter((d) => d.shard === s).reduce((n, d) => n + d.keys, 0));
    expect(perShard).toEqual([10, 10, 10, 10]);
    const text = await run(['reimport', '--plan', plan, '--shard', '1/4', '--dry-run'], { cwd: ws.dir, env });
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n').filter((l) => l.includes('<- this shard'))).toHaveLength(doc.domains.filter((d) => d.shard === 1).length);
    expect(emu.requests.length).toBe(before);
  });

  it('four shard processes re-import every key exactly once, no domain in two shards; fleet report merges them', async () => {
    const stateDir = ws.path('runs');
    const before = emu.requests.length;
    const results = await Promise.all(
      [0, 1, 2, 3].map((k) => spawnCli(['reimport', '--plan', plan, '--shard', `${k}/4`, '--state-dir', stateDir, '--endpoint-url', emu.endpoint, '--json', '--concurrency', '4'])),
    );
    const reports: ShardReport[] = results.map((r, k) => {
      expect(r.code, `shard ${k}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as ShardReport;
    });
    // Disjoint domains covering the plan; every key of a shard lies in one of its domains.
    const served = reports.flatMap((r) => r.shard.domains.map((d) => `${d.account}/${d.region}`));
    expect(new Set(served).size).toBe(served.length);
    expect(served).toHaveLength(6);
    for (const r of reports) {
      const mine = new Set(r.shard.domains.map((d) => `${d.account}/${d.region}`));
      for (const k of r.keys) expect(mine.has(`${k.profile}/${k.region}`)).toBe(true);
      expect(r.summary.failed).toBe(0);
    }
    expect(reports.reduce((n, r) => n + r.summary.ok, 0)).toBe(40);
    // Exactly once: 40 successful ImportKeyMaterial calls, and every key carries the new ValidTo.
    const imports = emu.requests.slice(before).filter((x) => x.operation === 'ImportKeyMaterial' && x.status === 200);
    expect(imports).toHaveLength(40);
    for (const [region] of REGIONS) expect(imports.filter((x) => x.region === region)).toHaveLength(keys.filter((k) => k.region === region).length);
    const clients = new Map(REGIONS.map(([r]) => [r, new KMSClient({ region: r, endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } })]));
    try {
      for (const k of keys) {
        const m = await clients.get(k.region)!.send(new ListKeyRotationsCommand({ KeyId: k.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
        expect(m.Rotations).toHaveLength(1);
        expect(m.Rotations![0]!.ValidTo!.getTime()).toBeGreaterThan(Date.now() + 150 * DAY);
      }
    } finally {
      for (const c of clients.values()) c.destroy();
    }
    expect(readdirSync(stateDir).filter((n) => n.endsWith('.run.jsonl')).sort()).toEqual([0, 1, 2, 3].map((k) => `.fleet.json.reimport.shard-${k}-of-4.run.jsonl`));

    const merged = await run(['fleet', 'report', '--plan', plan, '--state-dir', stateDir, '--json'], { cwd: ws.dir, env });
    expect(merged.code, merged.stderr).toBe(0);
    const doc = merged.json<{ schemaVersion: number; shards: number; summary: Record<string, number>; problems: string[]; keys: { key: string; status: string; shard: number; account: string }[] }>();
    expect(doc.schemaVersion).toBe(1);
    expect(doc.shards).toBe(4);
    expect(doc.summary).toEqual({ total: 40, ok: 40, attention: 0, failed: 0, notRun: 0 });
    expect(doc.problems).toEqual([]);
    for (const k of keys) expect(doc.keys.find((x) => x.key === k.keyId)).toMatchObject({ status: 'ok', account: k.profile });
    const table = await run(['fleet', 'report', '--plan', plan, '--state-dir', stateDir], { cwd: ws.dir, env });
    expect(table.code).toBe(0);
    for (const k of keys) expect(table.stdout).toContain(k.keyId);
  }, 180_000);

  it('a second run of the same shard is refused while the first holds its state (exit 2, nothing sent)', async () => {
    const stateDir = ws.path('runs');
    const state = runStatePath(plan, 'reimport', { shard: { index: 2, count: 4 }, stateDir });
    // A live holder on this host: this test process.
    writeFileSync(`${state}.lock`, `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })}\nx\n`);
    const before = emu.requests.length;
    try {
      const r = await run(['reimport', '--plan', plan, '--shard', '2/4', '--state-dir', stateDir, '--endpoint-url', emu.endpoint], { cwd: ws.dir, env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('ERR_LOCKED');
      expect(r.stderr).toContain(`pid ${process.pid}`);
      expect(emu.requests.length).toBe(before);
      // Another shard is not held up.
      const other = await run(['reimport', '--plan', plan, '--shard', '3/4', '--state-dir', stateDir, '--endpoint-url', emu.endpoint, '--resume'], { cwd: ws.dir, env });
      expect(other.code, other.stderr).toBe(0);
      expect(other.stderr).toContain('finished in an earlier run are skipped');
    } finally {
      rmSync(`${state}.lock`);
    }
  });

  it('fleet report exits 1 when a shard has not run, ran another plan, or two states overlap', async () => {
    const stateDir = ws.path('runs');
    const paths = [0, 1, 2, 3].map((k) => runStatePath(plan, 'reimport', { shard: { index: k, count: 4 }, stateDir }));
    const saved = paths.map((p) => readFileSync(p, 'utf8'));
    const report = () => run(['fleet', 'report', '--plan', plan, '--state-dir', stateDir, '--json'], { cwd: ws.dir, env });
    try {
      rmSync(paths[1]!);
      let r = await report();
      expect(r.code).toBe(1);
      const missing = r.json<{ problems: string[]; summary: { notRun: number } }>();
      expect(missing.problems.join('\n')).toContain('shard 1/4 has not run');
      expect(missing.summary.notRun).toBe(10);

      // Shard 1's state from a different plan (another SHA-256 in its header).
      writeFileSync(paths[1]!, saved[1]!.replace(/"planSha256":"[0-9a-f]{64}"/, `"planSha256":"${'0'.repeat(64)}"`));
      r = await report();
      expect(r.code).toBe(1);
      expect(r.json<{ problems: string[] }>().problems.join('\n')).toMatch(/shard 1\/4 ran a different plan/);

      // Shard 1's state claims shard 0's domains and keys too: overlap.
      const header0 = JSON.parse(saved[0]!.split('\n')[0]!) as { shard: { domains: string[] } };
      const lines1 = saved[1]!.split('\n');
      const h1 = JSON.parse(lines1[0]!) as { shard: { domains: string[] } };
      h1.shard.domains.push(...header0.shard.domains);
      writeFileSync(paths[1]!, [JSON.stringify(h1), ...lines1.slice(1), ...saved[0]!.split('\n').slice(1)].join('\n'));
      r = await report();
      expect(r.code).toBe(1);
      expect(r.json<{ problems: string[] }>().problems.join('\n')).toMatch(/served by shards 0\/4 and 1\/4: the states overlap/);

      // No state at all and no --shards: exit 2 with a hint.
      r = await run(['fleet', 'report', '--plan', plan, '--state-dir', ws.path('nowhere')], { cwd: ws.dir, env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--state-dir');
    } finally {
      paths.forEach((p, i) => writeFileSync(p, saved[i]!));
    }
    expect((await report()).code).toBe(0);
  });
});
