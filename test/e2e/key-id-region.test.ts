/**
 * AWS habits at the command line: `--key-id KEY` is KEY, and a key ARN names its Region — used when no
 * --region is given, refused (exit 2, before any request) when --region disagrees. Against the
 * emulator, which keeps keys per Region (the Region of each request's signature).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { onboardKey } from './lifecycle-helpers.js';

let ws: Workspace;
let alice: { path: string; recipient: string };
/** A key in us-east-1 with alias/habits, and one in eu-west-1 (ws.target points at us-east-1). */
let home: { keyId: string; keyArn: string };
let away: { keyId: string; keyArn: string };
let endpoint: string[];
let escrow: string[];

beforeAll(async () => {
  ws = await workspace('us-east-1');
  alice = await custodian(ws.path('alice.txt'));
  home = await onboardKey(ws, alice.recipient, ['--expires-in', '90d', '--alias', 'alias/habits']);
  away = await onboardKey(ws, alice.recipient, ['--expires-in', '90d', '--region', 'eu-west-1']);
  endpoint = ['--endpoint-url', ws.emu.endpoint];
  escrow = ['--escrow-dir', ws.path('escrow')];
});
afterAll(async () => ws?.close());

function regionsSince(before: number): string[] {
  return [...new Set(ws.emu.requests.slice(before).map((r) => r.region))];
}

describe('--key-id KEY', () => {
  it('status --key-id alias/x and status alias/x report the same key the same way', async () => {
    const positional = await run(['status', 'alias/habits', ...ws.target, ...escrow, '--json']);
    const flagged = await run(['status', '--key-id', 'alias/habits', ...ws.target, ...escrow, '--json']);
    expect(positional.code, positional.stderr).toBe(0);
    expect(flagged.code, flagged.stderr).toBe(0);
    const keys = (r: typeof positional) => r.json<{ keys: { keyId: string }[] }>().keys;
    expect(keys(positional).map((k) => k.keyId)).toEqual([home.keyId]);
    expect(keys(flagged)).toEqual(keys(positional));
  });

  it('a positional KEY and a different --key-id are refused before any request', async () => {
    const before = ws.emu.requests.length;
    const r = await run(['status', 'alias/habits', '--key-id', home.keyId, ...ws.target, ...escrow]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/code: ERR_USAGE/);
    expect(r.stderr).toMatch(/name different keys/);
    expect(ws.emu.requests.length).toBe(before);
  });

  it('verify --key-id proves the key as verify KEY does', async () => {
    const r = await run(['verify', '--key-id', 'alias/habits', '--identity', alice.path, ...escrow, ...ws.target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ keyId: string }>().keyId).toBe(home.keyId);
  });
});

describe('the Region of a key ARN', () => {
  it('status ARN with no --region looks in the ARN\'s Region (eu-west-1), not the default', async () => {
    const before = ws.emu.requests.length;
    const r = await run(['status', away.keyArn, ...endpoint, ...escrow, '--json'], { env: { AWS_REGION: 'us-east-1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ keys: { keyId: string; keyState: string }[] }>().keys).toEqual([expect.objectContaining({ keyId: away.keyId, keyState: 'Enabled' })]);
    expect(regionsSince(before)).toEqual(['eu-west-1']);
  });

  it('reimport --key-id ARN with no --region re-imports in eu-west-1; status then shows the new expiry', async () => {
    const before = ws.emu.requests.length;
    const r = await run(['reimport', '--key-id', away.keyArn, '--expires-in', '120d', '--identity', alice.path, ...escrow, ...endpoint, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(regionsSince(before)).toEqual(['eu-west-1']);
    const s = await run(['status', away.keyArn, ...endpoint, ...escrow, '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.json<{ keys: { daysLeft: number }[] }>().keys[0]!.daysLeft).toBeGreaterThan(100);
  });

  it('a conflicting --region exits 2 with ERR_USAGE and no KMS request', async () => {
    const before = ws.emu.requests.length;
    for (const argv of [
      ['status', away.keyArn, '--region', 'us-east-1', ...endpoint, ...escrow],
      ['rotate', '--key-id', away.keyArn, '--in-place', '--yes', '--expires-in', '30d', '--identity', alice.path, '--region', 'us-east-1', ...endpoint, ...escrow],
      ['status', away.keyArn, home.keyArn, ...endpoint, ...escrow],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/kms-byok: code: ERR_USAGE/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(ws.emu.requests.length).toBe(before);
  });

  it('an agreeing --region is fine', async () => {
    const r = await run(['status', away.keyArn, '--region', 'eu-west-1', ...endpoint, ...escrow, '--json']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('with nothing pointing at AWS, an ARN keeps the command a rehearsal (the embedded emulator, in that Region)', async () => {
    const r = await run(['status', away.keyArn, ...escrow, '--json'], { env: {} });
    expect(r.stderr).toMatch(/target: embedded KMS emulator/);
    // The embedded emulator is fresh: the key is not there (status reports it as needing attention),
    // and nothing was asked of AWS.
    expect(r.code).toBe(3);
    expect(r.json<{ target: string; keys: { error?: { code: string } }[] }>()).toMatchObject({ target: 'embedded emulator (rehearsal)', keys: [{ error: { code: 'ERR_KMS_NOT_FOUND' } }] });
  });
});
